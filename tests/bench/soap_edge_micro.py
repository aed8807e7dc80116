#!/usr/bin/env python3
"""Microbenchmark of the SOAP edge in-process: time per request through the WSGI app (no HTTP).

``python tests/bench/soap_edge_micro.py [N]``: migrates a temporary SQLite database, creates the demo
owners, builds ``make_app()`` and calls it N times (default 300) per request kind with a prepared
envelope (rendered once by zeep from the reference WSDL): Basic ``Test``, Basic
``GetCorrespondenceStatusHistoryBasic`` (wrong password: a fault, no argon2), and Basic
``InsertCorrespondenceBasicV2`` of an Altinn-only letter (no SdpOptions: no KRR). Prints the median
and mean microseconds per request. Used to measure the one-parse change (docs/architecture.md).
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lxml import etree

    from tests.support import altinn as a


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    tmp = Path(tempfile.mkdtemp(prefix="soap-micro-"))
    env = {
        **os.environ,
        "INNBYGGERPOST_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
        "INNBYGGERPOST_SECRET_KEY_FILE": str(tmp / "secret.key"),
    }
    os.environ.update(env)
    cli = [sys.executable, "-m", "service.entrypoints.cli"]
    subprocess.run([*cli, "migrate"], check=True, env=env, cwd=ROOT, capture_output=True)
    subprocess.run([*cli, "demo-owners"], check=True, env=env, cwd=ROOT, capture_output=True)

    from service.entrypoints.soap.app import make_app

    app = make_app()
    client = a._client(a.BASIC_WSDL)
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1:8080/x")
    path = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"

    def body(op: str, *args: Any, **kw: Any) -> bytes:
        return etree.tostring(client.create_message(svc, op, *args, **kw), encoding="utf-8")

    corr = a.letter(a.DIGIPOST)  # no SdpOptions: Altinn inbox only, KRR not asked
    big = a.letter(
        a.DIGIPOST,
        attachments=[
            {
                "FunctionType": "Unspecified",
                "FileName": "stor.pdf",
                "Name": "Stor",
                "Encrypted": False,
                "Data": os.urandom(1 << 20),
            }
        ],
    )
    # Altinn-only letters first, so that the history finds them.
    kinds = {
        "insert-altinn-only": lambda i: body(
            "InsertCorrespondenceBasicV2", "10001", "demo-password", "DEMO", f"micro-{i}", corr
        ),
        "insert-1MiB-attachment": lambda i: body(
            "InsertCorrespondenceBasicV2", "10001", "demo-password", "DEMO", f"micro-big-{i}", big
        ),
        "Test": lambda i: body("Test"),
        "history": lambda i: body(
            "GetCorrespondenceStatusHistoryBasic",
            CorrespondenceSendersReferences={"string": ["micro-1", "micro-2"]},
            _soapheaders={"SystemUserName": "10001", "SystemPassword": "demo-password"},
        ),
        "history-wrong-password": lambda i: body(
            "GetCorrespondenceStatusHistoryBasic",
            CorrespondenceSendersReferences={"string": ["x"]},
            _soapheaders={"SystemUserName": "10001", "SystemPassword": "wrong"},
        ),
    }
    status_seen: dict[str, set[str]] = {}
    for kind, make in kinds.items():
        # Prepared bodies (insert: one per reference so that each stores a letter).
        count = n // 5 if "1MiB" in kind else n
        bodies = [make(i) for i in range(count)] if kind.startswith("insert") else [make(0)] * count
        times = []
        for i, data in enumerate(bodies):
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": path,
                "CONTENT_TYPE": "text/xml; charset=utf-8",
                "CONTENT_LENGTH": str(len(data)),
                "wsgi.input": io.BytesIO(data),
                "wsgi.url_scheme": "http",
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8080",
                "REMOTE_ADDR": "127.0.0.1",
                "QUERY_STRING": "",
            }
            seen: list[str] = []
            t0 = time.perf_counter()
            out = b"".join(app(environ, lambda s, h, e=None, seen=seen: seen.append(s)))
            times.append(time.perf_counter() - t0)
            status_seen.setdefault(kind, set()).add(seen[0])
            if i == 0 and os.environ.get("MICRO_SHOW"):
                print(out[:1500].decode())
        warm = times[count // 10 :]
        print(
            f"{kind:24s} n={count} median={statistics.median(warm) * 1e6:8.0f} us  mean={statistics.fmean(warm) * 1e6:8.0f} us  status={sorted(status_seen[kind])}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
