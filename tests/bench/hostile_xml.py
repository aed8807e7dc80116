"""Hostile XML against a real web process: what each probe of issue 14 costs the worker.

Every probe is sent to a stack with ONE gunicorn worker; the worker's CPU seconds (utime + stime from
/proc) and peak RSS growth (VmHWM, reset before each probe) are read around it, so the figures are
the server's cost, not the wall clock. ``tests/e2e/test_hostile_xml.py`` asserts bounds on them;
this script prints them, for this tree or another checkout (before/after figures):

    .venv/bin/python tests/bench/hostile_xml.py [--tree DIR] [--skip-big]

The probes (issue 14, all without valid credentials): 40 000 ``xmlns:pN``/``pN:a`` pairs on ``Test``
(1.46 MiB); 800 000 plain attributes (9 MiB); 1 000 000 unknown empty elements under
``GetCorrespondenceStatusDetailsBasicV3`` (3.8 MiB); a 2 MiB element name; four 40 000-pair requests
at once beside a legitimate status query; a 30 MiB ``InsertCorrespondenceBasicV2`` with a wrong
password.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support import harness  # noqa: E402
from tests.support.harness import Stack, cpu_seconds, memory_mib, reset_peak_memory  # noqa: E402

MIB = 1024 * 1024
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_CORR = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"
NS_TEST = "http://www.altinn.no/services/2009/10"


def _envelope(body: str) -> bytes:
    return f'<s:Envelope xmlns:s="{S11}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


def xmlns_pairs(n: int = 40_000) -> bytes:
    pairs = " ".join(f'xmlns:p{i}="urn:x{i}" p{i}:a="v"' for i in range(n))
    return _envelope(f'<ns:Test xmlns:ns="{NS_TEST}" {pairs}/>')


def plain_attributes(n: int = 800_000) -> bytes:
    attrs = " ".join(f'a{i}="v"' for i in range(n))
    return _envelope(f'<ns:Test xmlns:ns="{NS_TEST}" {attrs}/>')


def empty_elements(n: int = 1_000_000) -> bytes:
    op = "GetCorrespondenceStatusDetailsBasicV3"
    return _envelope(f'<a:{op} xmlns:a="{NS_CORR}">' + "<x/>" * n + f"</a:{op}>")


def long_element_name(size: int = 2 * MIB) -> bytes:
    op = "GetCorrespondenceStatusDetailsBasicV3"
    name = "N" * size
    return _envelope(
        f'<a:{op} xmlns:a="{NS_CORR}"><a:systemUserName>10001</a:systemUserName>'
        f"<a:systemPassword>wrong</a:systemPassword><a:{name}/></a:{op}>"
    )


def wrong_password_insert(size: int = 30 * MIB - 4096) -> bytes:
    """A schema-valid ``InsertCorrespondenceBasicV2`` of about ``size`` bytes, with a wrong password."""
    from lxml import etree
    from zeep import Client

    from tests.support import altinn as a
    from tests.support.reference import BASIC_WSDL, altinn_reference

    zc = Client(str(altinn_reference(BASIC_WSDL)))
    svc = zc.create_service(a.BASIC_BINDING, "http://127.0.0.1/")
    marker = b"QUFBQUFB"
    att = [
        {
            "FunctionType": "Unspecified",
            "FileName": "brev.pdf",
            "Name": "Brev",
            "Encrypted": False,
            "Data": b"AAAAAA",
        }
    ]
    env = zc.create_message(
        svc,
        "InsertCorrespondenceBasicV2",
        "10001",
        "not-the-password",
        "DEMO",
        "hostile-big",
        a.letter(a.DIGIPOST, None, attachments=att),
    )
    small = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    assert small.count(marker) == 1
    fill = size - len(small)
    return small.replace(marker, b"A" * (fill - fill % 4), 1)


def post(
    url: str, body: bytes, content_type: str = "text/xml; charset=utf-8", timeout: float = 300
) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(
            "POST", parts.path, body=body, headers={"Content-Type": content_type, "SOAPAction": '""'}
        )
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def faultstring(answer: bytes) -> str:
    start = answer.find(b"<faultstring")
    if start < 0:
        return answer[:120].decode("utf-8", "replace")
    start = answer.index(b">", start) + 1
    return answer[start : answer.index(b"</faultstring>", start)].decode("utf-8", "replace")


@dataclass
class Usage:
    cpu_s: float  # CPU seconds of the web worker(s) while the probe ran
    peak_growth_mib: float  # VmHWM after minus RSS before
    retained_mib: float  # RSS after minus RSS before


def measure(stack: Stack, action: Callable[[], Any]) -> tuple[Any, Usage]:
    workers = stack.web_workers()
    assert workers, "no gunicorn worker found"
    for pid in workers:
        reset_peak_memory(pid)
    rss0 = {pid: memory_mib(pid) for pid in workers}
    cpu0 = {pid: cpu_seconds(pid) for pid in workers}
    result = action()
    usage = Usage(
        cpu_s=sum(cpu_seconds(pid) - cpu0[pid] for pid in workers),
        peak_growth_mib=max(memory_mib(pid, "VmHWM") - rss0[pid] for pid in workers),
        retained_mib=max(memory_mib(pid) - rss0[pid] for pid in workers),
    )
    return result, usage


def concurrent_with_status_query(stack: Stack, copies: int = 4) -> dict[str, Any]:
    """``copies`` 40 000-pair requests at once, and a legitimate status query beside them."""
    from tests.support import altinn as a

    body = xmlns_pairs()
    statuses: list[int] = []
    started = threading.Barrier(copies + 1)

    def hostile() -> None:
        started.wait()
        statuses.append(post(stack.basic_url, body)[0])

    threads = [threading.Thread(target=hostile) for _ in range(copies)]
    for t in threads:
        t.start()
    started.wait()
    t0 = time.perf_counter()
    answer = a.v3(stack.basic_url)
    legit_s = time.perf_counter() - t0
    for t in threads:
        t.join()
    return {
        "hostile_statuses": statuses,
        "legit_status_code": answer is not None,
        "legit_seconds": round(legit_s, 3),
    }


PROBES: dict[str, Callable[[], bytes]] = {
    "xmlns_40k_pairs": xmlns_pairs,
    "attributes_800k": plain_attributes,
    "empty_elements_1M": empty_elements,
    "element_name_2MiB": long_element_name,
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tree", help="code tree to run the service from (default: this one)")
    p.add_argument("--skip-big", action="store_true", help="leave out the 30 MiB insert")
    p.add_argument("--only", help="run only this probe (a fresh worker: nothing left by the others)")
    args = p.parse_args()
    if args.tree:
        harness.REPO = Path(args.tree).resolve()
    work = Path(tempfile.mkdtemp(prefix="innbyggerpost-hostile-"))
    stack = Stack("sqlite", f"sqlite:///{work}/db.sqlite", work)
    stack.env.update({"INNBYGGERPOST_WEB_WORKERS": "1", "INNBYGGERPOST_MAX_REQUEST_BYTES": str(30 * MIB)})
    if args.tree:
        stack.env["PYTHONPATH"] = str(harness.REPO)
    stack.tie_to_parent = True
    results: dict[str, Any] = {"tree": str(harness.REPO)}
    try:
        stack.start()
        for name, make in PROBES.items():
            if args.only and name != args.only:
                continue
            body = make()
            (status, answer), use = measure(stack, lambda body=body: post(stack.basic_url, body))
            results[name] = {
                "bytes": len(body),
                "status": status,
                "fault": faultstring(answer)[:100],
                **use.__dict__,
            }
        if args.only in (None, "four_xmlns_40k_and_a_status_query"):
            extra, use = measure(stack, lambda: concurrent_with_status_query(stack))
            results["four_xmlns_40k_and_a_status_query"] = {**extra, **use.__dict__}
        if not args.skip_big and args.only in (None, "insert_30MiB_wrong_password"):
            body = wrong_password_insert()
            (status, answer), use = measure(stack, lambda: post(stack.basic_url, body))
            results["insert_30MiB_wrong_password"] = {
                "bytes": len(body),
                "status": status,
                "fault": faultstring(answer)[:100],
                **use.__dict__,
            }
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    for name, r in results.items():
        if isinstance(r, dict):
            print(
                f"{name:36} cpu {r['cpu_s']:7.2f} s  peak +{r['peak_growth_mib']:7.1f} MiB  kept +{r['retained_mib']:7.1f} MiB"
            )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
