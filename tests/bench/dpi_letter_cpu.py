"""CPU per DPI letter built in one process (XAdES package, CMS to the postbox certificate, JWS), and a
cProfile of 100 letters: ``.venv/bin/python tests/bench/dpi_letter_cpu.py [--letters N]``."""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import tempfile
import time

from clients.dpi import Digital, LetterBuilder, PackageDocument
from simulators.pki import TestPki


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=200)
    args = parser.parse_args()
    pki = TestPki(tempfile.mkdtemp(prefix="innbyggerpost-dpi-bench-"))
    sender, postbox = pki.enterprise("910646192"), pki.postbox("984661185")
    builder = LetterBuilder(sender.certificate, sender.private_key, sender.chain)
    digital = Digital("910646192", "984661185", "ola.nordmann#1A2B", "Vedtak")
    document = PackageDocument("brev.pdf", "Brev", "application/pdf", b"%PDF-1.4 " + b"x" * 20_000)
    now = dt.datetime.now(dt.UTC)

    def build(i: int) -> None:
        builder.build(digital, f"m{i}", document, [], postbox.certificate, "token", now, "01018010018")

    build(0)  # caches warm (the recipient's encoded parts, the signer's key)
    started = time.process_time()
    for i in range(args.letters):
        build(i)
    print(f"cpu_ms_per_letter {(time.process_time() - started) / args.letters * 1000:.3f}")
    profile = cProfile.Profile()
    profile.enable()
    for i in range(100):
        build(i)
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
