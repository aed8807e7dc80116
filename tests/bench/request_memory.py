"""Peak memory of one big InsertCorrespondenceBasicV2 in a web process (issue: a 30 MiB request must
not cost a worker more than about three times its size).

In-process WSGI application over a temporary SQLite file; one warm-up request, then one request
with a single attachment of ``--mb`` MiB of data; prints how much the process's peak RSS (VmHWM,
reset just before) grew, and the ratio to the request's size.

    .venv/bin/python tests/bench/request_memory.py [--mb 21]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from lxml import etree
from zeep import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.inprocess import basic_app  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.reference import BASIC_WSDL, altinn_reference  # noqa: E402

PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"


def _hwm_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--mb", type=float, default=21.0, help="attachment size in MiB (21 MiB: a 28 MiB request)")
    args = p.parse_args()
    send = basic_app(MAX_REQUEST_BYTES=str(40 * 1024 * 1024))
    client = Client(str(altinn_reference(BASIC_WSDL)))
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1/")

    def body(ref: str, size: int) -> bytes:
        att = [
            {
                "FunctionType": "Unspecified",
                "FileName": "brev.pdf",
                "Name": "Brev",
                "Encrypted": False,
                "Data": os.urandom(size),
            }
        ]
        env_el = client.create_message(
            svc,
            "InsertCorrespondenceBasicV2",
            *a.DEMO[:3],
            ref,
            a.letter(a.DIGIPOST, a.sdp(), attachments=att),
        )
        return etree.tostring(env_el, xml_declaration=True, encoding="utf-8")

    send(body("mem-warm", 1000))
    big = body("mem-big", int(args.mb * 1024 * 1024))
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current RSS
    before = _hwm_mib()
    send(big)
    grew = _hwm_mib() - before
    size = len(big) / 2**20
    print(f"request {size:.1f} MiB: peak RSS grew {grew:.1f} MiB ({grew / size:.1f}x the request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
