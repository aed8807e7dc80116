"""Peak memory of a web process under 32 letters of 1 MB at once (issue 17: at most 150 MB).

The web application in this process (``inprocess.basic_app``, a temporary SQLite file), one warm-up
letter, then ``--letters`` threads POST a letter with a 1 MiB attachment at the same moment. Prints
the process's peak RSS (VmHWM, reset to the current RSS just before), how much it grew, and the
answers (OK receipts and busy faults from admission by size), as JSON.

    .venv/bin/python tests/bench/burst_memory.py [--letters 32] [--byte-bound BYTES (0: none)]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path

from lxml import etree
from zeep import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.inprocess import basic_app  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.reference import BASIC_WSDL, altinn_reference  # noqa: E402


def _rss(field: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--letters", type=int, default=32)
    p.add_argument("--byte-bound", type=int, default=None, help="INNBYGGERPOST_MAX_PENDING_REQUEST_BYTES")
    args = p.parse_args()
    settings = {"WEB_THREADS": str(args.letters)}
    if args.byte_bound is not None:
        settings["MAX_PENDING_REQUEST_BYTES"] = str(args.byte_bound)
    send = basic_app(**settings)
    client = Client(str(altinn_reference(BASIC_WSDL)))
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1/")

    def body(ref: str, size: int) -> bytes:
        att = {"FunctionType": "Unspecified", "FileName": "brev.pdf", "Name": "Brev", "Encrypted": False}
        env = client.create_message(
            svc,
            "InsertCorrespondenceBasicV2",
            *a.DEMO[:3],
            ref,
            a.letter(a.DIGIPOST, a.sdp(), attachments=[{**att, "Data": os.urandom(size)}]),
        )
        return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))

    send(body("burst-warm", 1000))
    bodies = [body(f"burst-{i}", 1024 * 1024) for i in range(args.letters)]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # VmHWM := the current RSS
    before = _rss("VmHWM")
    answers: list[str] = []
    start = threading.Barrier(args.letters)

    def post(b: bytes) -> None:
        start.wait(30)
        try:
            out = send(b)
            answers.append("OK" if b"ReceiptStatusCode>OK<" in out else "other")
        except RuntimeError as exc:
            answers.append("busy" if b"busy" in str(exc).encode() else "error")

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    peak = _rss("VmHWM")
    print(
        json.dumps(
            {
                "letters": args.letters,
                "body_mib": round(len(bodies[0]) / 2**20, 2),
                "byte_bound": args.byte_bound,
                "rss_before_mib": round(before, 1),
                "peak_rss_mib": round(peak, 1),
                "grew_mib": round(peak - before, 1),
                "answers": dict(Counter(answers)),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
