"""Peak memory of a web process under 32 letters of 1 MB at once (issue 17: at most 150 MB).

The web application in this process (``inprocess.basic_app``, a temporary SQLite file), one warm-up
letter, then ``--letters`` threads POST a letter with a 1 MiB attachment at the same moment. Prints
the process's peak RSS (VmHWM, reset to the current RSS just before), how much it grew, and the
answers (OK receipts and busy faults from admission by size), as JSON.

    .venv/bin/python tests/bench/burst_memory.py [--letters 32] [--byte-bound BYTES (0: none)]

``--served``: the same burst over HTTP against the real service (``innbyggerpost serve``, one gunicorn
worker, a temporary SQLite stack from the test harness); prints that worker's RSS before and its
peak (VmHWM, reset before the burst): what a web process of the deployment holds (issue 17: at most
150 MB), its start-up memory included.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import uuid
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


def _status(pid: int, field: str) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def _envelope(client: Client, ref: str, size: int) -> bytes:
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1/")
    att = {"FunctionType": "Unspecified", "FileName": "brev.pdf", "Name": "Brev", "Encrypted": False}
    env = client.create_message(
        svc,
        "InsertCorrespondenceBasicV2",
        *a.DEMO[:3],
        ref,
        a.letter(a.DIGIPOST, None, attachments=[{**att, "Data": os.urandom(size)}]),
    )
    return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))


def served(args: argparse.Namespace) -> int:
    """The burst against one gunicorn worker of the real service (see the module docstring)."""
    import shutil
    import tempfile

    import requests

    from tests.support.harness import Stack, children, wait_until

    workdir = Path(tempfile.mkdtemp(prefix="innbyggerpost-burst-"))
    s = Stack("sqlite", f"sqlite:///{workdir}/innbyggerpost.db", workdir)
    s.env.update(
        {
            "INNBYGGERPOST_WEB_WORKERS": "1",
            "INNBYGGERPOST_MAX_REQUEST_BYTES": str(4 * 1024 * 1024),
            "INNBYGGERPOST_LOG_LEVEL": "ERROR",
        }
    )
    if args.byte_bound is not None:
        s.env["INNBYGGERPOST_MAX_PENDING_REQUEST_BYTES"] = str(args.byte_bound)
    try:
        s.start()
        (worker,) = wait_until(lambda: children(s.procs[1].pid), 30, "the web worker")
        client = Client(str(altinn_reference(BASIC_WSDL)))
        action = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2"
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}

        def post(body: bytes) -> str:
            r = requests.post(s.basic_url, data=body, headers=headers, timeout=120)
            if b"ReceiptStatusCode>OK<" in r.content:
                return "OK"
            return "busy" if b"busy" in r.content else f"HTTP {r.status_code}"

        for i in range(3):  # warm: every code path of the insert has run once
            assert post(_envelope(client, f"burst-warm-{i}-{uuid.uuid4().hex[:8]}", 1024 * 1024)) == "OK"
        bodies = [
            _envelope(client, f"burst-{i}-{uuid.uuid4().hex[:8]}", 1024 * 1024) for i in range(args.letters)
        ]
        before = _status(worker, "VmRSS")
        with open(f"/proc/{worker}/clear_refs", "w") as fh:
            fh.write("5")  # VmHWM := the current RSS
        start = threading.Barrier(args.letters)
        answers: list[str] = []

        def burst(b: bytes) -> None:
            start.wait(30)
            answers.append(post(b))

        threads = [threading.Thread(target=burst, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        peak = _status(worker, "VmHWM")
        after = _status(worker, "VmRSS")
        print(
            json.dumps(
                {
                    "served": True,
                    "letters": args.letters,
                    "body_mib": round(len(bodies[0]) / 2**20, 2),
                    "byte_bound": args.byte_bound,
                    "worker_rss_before_mib": round(before, 1),
                    "worker_peak_rss_mib": round(peak, 1),
                    "worker_rss_after_mib": round(after, 1),
                    "answers": dict(Counter(answers)),
                }
            )
        )
    finally:
        s.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--letters", type=int, default=32)
    p.add_argument("--byte-bound", type=int, default=None, help="INNBYGGERPOST_MAX_PENDING_REQUEST_BYTES")
    p.add_argument("--served", action="store_true", help="against `innbyggerpost serve` (one worker)")
    args = p.parse_args()
    if args.served:
        return served(args)
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
