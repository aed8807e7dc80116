"""GetCorrespondenceStatusHistoryBasic for 10 000 references, in this process (issue 17).

Stores 10 000 letters of the demo owner through the insert use case's plans and group commit (half
Altinn only, half ForwardOnly to an organisation with an Altinn copy: 10 000 Altinn statuses and
5 000 SDP details), then POSTs zeep's 10 000-reference envelope to the Basic endpoint of the web
application in this process. Prints, for the query shape before issue 17 (``IN`` lists of 500 keys)
and after (one statement per list: ``= ANY(array)`` on PostgreSQL, ``IN`` of 10 000 on SQLite), the
median ms of the whole request, the statements it ran and the entries it answered; then the answer
written by spyne's serialiser (the handler returning the spyne model, as before ``status_xml.py``)
against the answer written with lxml (``after``), and the same pair for
``GetCorrespondenceStatusDetailsBasicV3`` (the general result limit: 1 000 entries a list).

    .venv/bin/python tests/bench/status_history.py [--postgres] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from service.adapters.db import make_engine  # noqa: E402
from service.adapters.repositories import keys  # noqa: E402
from service.domain import forwarding_decision, insert  # noqa: E402
from service.domain import model as dm  # noqa: E402
from service.entrypoints.soap import handlers  # noqa: E402
from service.service_layer import owners  # noqa: E402
from service.service_layer.group_commit import GroupCommit  # noqa: E402
from service.service_layer.unit_of_work import unit_of_work_factory  # noqa: E402
from tests.bench.inprocess import BASIC_PATH, basic_app  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support import status_spyne  # noqa: E402
from tests.support.harness import Postgres  # noqa: E402

N = 10_000


def store(url: str, prefix: str) -> list[str]:
    engine = make_engine(url)
    uow = unit_of_work_factory(engine)
    principal = owners.Authenticator(uow).check_password("10001", "demo-password")
    assert principal is not None
    now = dt.datetime.now(dt.UTC)
    refs = [f"{prefix}-{i:05d}" for i in range(N)]
    sdp = dm.SdpOptions("ForwardOnly", "brev.pdf", backup_altinn=True)
    plans = []
    for i, ref in enumerate(refs):
        options = sdp if i % 2 else None
        req = dm.InsertCorrespondence(
            "DEMO",
            ref,
            "4503",
            "1",
            a.ORGANISATION,
            "1044",
            "Brev",
            attachments=(dm.BinaryAttachment("brev.pdf", "Brev", a.PDF),) if options else (),
            sdp_options=options,
        )
        decision = forwarding_decision.decide("organisation", options, None, None, now)
        plans.append(insert.plan(req, principal.owner_id, decision, None, now))
    receipts = GroupCommit(uow, batch_max=1000).store_all(plans)
    assert all(r.status_code == "OK" for r in receipts), receipts[0]
    engine.dispose()
    return refs


def envelope(refs: list[str]) -> bytes:
    """zeep's own envelope (it declares the Arrays namespace on every reference)."""
    from lxml import etree

    svc = a.basic("http://127.0.0.1" + BASIC_PATH)
    env = svc._client.create_message(
        svc,
        "GetCorrespondenceStatusHistoryBasic",
        CorrespondenceSendersReferences={"string": refs},
        _soapheaders={"SystemUserName": "10001", "SystemPassword": "demo-password"},
    )
    return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))


def details_v3_envelope() -> bytes:
    from lxml import etree

    svc = a.basic("http://127.0.0.1" + BASIC_PATH)
    flt = {
        "ServiceCode": "4503",
        "ServiceEditionCode": 1,
        "SdpSearchOptions": {"IncludeCorrespondence": True},
    }
    env = svc._client.create_message(
        svc, "GetCorrespondenceStatusDetailsBasicV3", "10001", "demo-password", flt
    )
    return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))


def spyne_serialiser(canonical: str, to_model: Any) -> Any:
    """The handler of ``canonical`` answering with the spyne model of its result (the way before
    ``status_xml.py``): returns a function that restores today's handler."""
    today = handlers.HANDLERS[canonical]

    def spyne_way(app: Any, op: Any, principal: Any, params: Any) -> Any:
        reply = today(app, op, principal, params)
        return to_model((reply[0] if isinstance(reply, tuple) else reply).result)

    handlers.HANDLERS[canonical] = spyne_way
    return lambda: handlers.HANDLERS.__setitem__(canonical, today)


def c14n(answer: bytes) -> bytes:
    from lxml import etree

    return bytes(etree.tostring(etree.fromstring(answer), method="c14n"))


def measure(post: Any, body: bytes, repeats: int) -> dict[str, Any]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(Engine, "before_cursor_execute", count)
    times = []
    cpu = []  # this process's CPU: on a loaded machine the wall time says little
    answer = b""
    post(body)  # warm up (first-call imports and caches)
    try:
        for _ in range(repeats):
            statements.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            answer = post(body)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return {
        "ms": round(statistics.median(times), 1),
        "cpu_ms": round(statistics.median(cpu), 1),
        "statements": len(statements),
        "entries": len(re.findall(rb"<(?:\w+:)?(?:StatusV2|SdpStatusDetails)>", answer)),
        "limit_reached": [v.decode() for v in re.findall(rb"LimitReached>(\w+)<", answer)],
        "c14n": c14n(answer),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL (fsync on), not SQLite")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    pg = Postgres(durable=True) if args.postgres else None
    url = pg.start() if pg else f"sqlite:///{tempfile.mkdtemp(prefix='innbyggerpost-sh-')}/db.sqlite"
    try:
        post = basic_app(url)
        refs = store(url, f"sh-{uuid.uuid4().hex[:8]}")
        body = envelope(refs)
        out: dict[str, Any] = {"database": "postgresql" if pg else "sqlite", "references": N}
        saved = (keys.SQLITE_CHUNK, keys._postgres)
        # before issue 17: IN lists of 500 keys on both databases (and a limit of 1 000 a list)
        keys.SQLITE_CHUNK, keys._postgres = 500, lambda session: False  # type: ignore[assignment]
        restore = spyne_serialiser("GetCorrespondenceStatusHistory", lambda r: status_spyne.history_result(r))
        out["before_in_500"] = measure(post, body, args.repeats)
        keys.SQLITE_CHUNK, keys._postgres = saved  # type: ignore[assignment]
        out["before_spyne_serialiser"] = measure(post, body, args.repeats)
        restore()
        out["after"] = measure(post, body, args.repeats)
        v3 = details_v3_envelope()
        restore = spyne_serialiser(
            "GetCorrespondenceStatusDetailsV3", lambda r: status_spyne.status_result_v3(r)
        )
        out["details_v3_spyne_serialiser"] = measure(post, v3, args.repeats)
        restore()
        out["details_v3_after"] = measure(post, v3, args.repeats)
        same = out["before_spyne_serialiser"]["c14n"] == out["after"]["c14n"]
        same_v3 = out["details_v3_spyne_serialiser"]["c14n"] == out["details_v3_after"]["c14n"]
        for key in (
            "before_in_500",
            "before_spyne_serialiser",
            "after",
            "details_v3_spyne_serialiser",
            "details_v3_after",
        ):
            del out[key]["c14n"]
        out["same_answer_c14n"] = {"history": same, "details_v3": same_v3}
        print(json.dumps(out))
    finally:
        if pg:
            pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
