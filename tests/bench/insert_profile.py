"""In-process CPU cost of one InsertCorrespondenceBasicV2 through the WSGI application.

No servers, no network: the WSGI app from ``make_wsgi_app`` over a temporary SQLite file, KRR
answered by an in-memory registry, the same pre-rendered envelope (a fresh reference each time).
Prints CPU ms per insert (all threads of this process: request path plus group-commit writer) and,
with ``--profile``, the top functions by cumulative time (cProfile). A CPU-time figure stays
meaningful on a busy shared machine where wall-clock throughput does not.

    .venv/bin/python tests/bench/insert_profile.py [--letters 2000] [--no-sdp] [--profile]
    .venv/bin/python tests/bench/insert_profile.py --compare [--letters 2000] [--rounds 10]

``--compare``: two applications in this process, the insert fast path on and off
(``INNBYGGERPOST_INSERT_FAST_PATH``), each over its own database, called in alternating rounds so that
the machine's load falls on both alike; prints both figures and their ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

from lxml import etree
from zeep import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.inprocess import basic_app  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.reference import BASIC_WSDL, altinn_reference  # noqa: E402

REF = "@@REFERENCE@@"


def envelope(sdp: bool) -> tuple[bytes, bytes]:
    client = Client(str(altinn_reference(BASIC_WSDL)))
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1/x")
    user, password, code, _ = a.DEMO
    env = client.create_message(
        svc,
        "InsertCorrespondenceBasicV2",
        user,
        password,
        code,
        REF,
        a.letter(a.DIGIPOST, a.sdp() if sdp else None),
    )
    body = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    head, _, tail = body.partition(REF.encode())
    return head, tail


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--letters", type=int, default=2000)
    p.add_argument("--no-sdp", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--compare", action="store_true", help="fast path on and off, alternating rounds")
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    if args.compare:
        return compare(args.letters, args.rounds, not args.no_sdp)
    post = basic_app()
    head, tail = envelope(not args.no_sdp)

    def call(i: int) -> bytes:
        out = post(head + f"prof-{i}".encode() + tail)
        if b">OK<" not in out:
            raise RuntimeError(out[:400])
        return out

    for i in range(50):  # warm-up: caches, first connections
        call(-1 - i)
    prof = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    for i in range(args.letters):
        call(i)
    if prof:
        prof.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(
        f"{args.letters} inserts ({'no SdpOptions' if args.no_sdp else 'SdpOptions'}): "
        f"{cpu / args.letters * 1000:.2f} ms CPU and {wall / args.letters * 1000:.2f} ms wall per insert"
    )
    if prof:
        st = pstats.Stats(prof)
        st.sort_stats("cumulative").print_stats(45)
    return 0


def compare(letters: int, rounds: int, sdp: bool) -> int:
    head, tail = envelope(sdp)
    posts = {
        "fast path on": basic_app(INSERT_FAST_PATH="true"),
        "fast path off": basic_app(INSERT_FAST_PATH="false"),
    }
    cpu = dict.fromkeys(posts, 0.0)
    per_round = max(1, letters // rounds)
    for name, post in posts.items():
        for i in range(50):
            post(head + f"warm-{name}-{i}".encode() + tail)
    for r in range(rounds):
        for name, post in posts.items():
            t0 = time.process_time()
            for i in range(per_round):
                out = post(head + f"cmp-{r}-{i}".encode() + tail)
                if b">OK<" not in out:
                    raise RuntimeError(out[:400])
            cpu[name] += time.process_time() - t0
    n = per_round * rounds
    for name, seconds in cpu.items():
        print(
            f"{name}: {seconds / n * 1000:.3f} ms CPU per insert ({n} inserts, {'SdpOptions' if sdp else 'no SdpOptions'})"
        )
    print(f"on / off: {cpu['fast path on'] / cpu['fast path off']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
