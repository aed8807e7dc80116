"""Storing a group commit's letters: one INSERT per row (before issue 17) against one multi-row
INSERT per table (``CorrespondenceRepository.add_many``), side by side on one database; and
``core``: the same batches through SQLAlchemy Core as before branch hwriter (``conn.execute(insert(
table).returning(id, sort_by_parameter_order=True), rows)``) against ``multi_row`` (the DB-API
``executemany`` of ``adapters/batch_insert.py``). Statements counted are SQLAlchemy's (the
``before_cursor_execute`` event): the batch inserts on the cursor are not among them.

``--batches`` transactions of ``--batch`` letters (a Digipost letter with a forwarding and an
Altinn copy, as most of the bench's mix), alternating the two ways; prints ms per letter of the
storing thread (wall and CPU) and statements per letter for each, as JSON.

    .venv/bin/python tests/bench/multirow_insert.py [--postgres] [--batch 256] [--batches 8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import event  # noqa: E402
from sqlalchemy import insert as sa_insert  # noqa: E402

from service.adapters.batch_insert import insert_rows  # noqa: E402
from service.adapters.db import make_engine  # noqa: E402
from service.adapters.migrate import upgrade  # noqa: E402
from service.adapters.repositories import correspondences, notifications  # noqa: E402
from service.config import load  # noqa: E402
from service.domain import forwarding_decision, insert  # noqa: E402
from service.domain import model as dm  # noqa: E402
from service.entrypoints.cli import ensure_demo_owners  # noqa: E402
from service.service_layer import owners  # noqa: E402
from service.service_layer.unit_of_work import unit_of_work_factory  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.fakes import person_with_postbox  # noqa: E402
from tests.support.harness import Postgres  # noqa: E402


def _core(conn: Any, table: Any, rows: Any, returning: bool = False) -> list[int]:
    """The repository's inserts before branch hwriter: SQLAlchemy Core, ids in the order of the rows."""
    if not rows:
        return []
    if not returning:
        conn.execute(sa_insert(table), rows)
        return []
    result = conn.execute(sa_insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars()]


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL with fsync on")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--batches", type=int, default=8)
    args = p.parse_args()
    pg = Postgres(durable=True) if args.postgres else None
    url = pg.start() if pg else f"sqlite:///{tempfile.mkdtemp(prefix='innbyggerpost-mr-')}/db.sqlite"
    try:
        upgrade(url)
        ensure_demo_owners(load({"INNBYGGERPOST_DATABASE_URL": url}))
        engine = make_engine(url)
        uow = unit_of_work_factory(engine)
        principal = owners.Authenticator(uow).check_password("10001", "demo-password")
        assert principal is not None
        person = person_with_postbox(a.DIGIPOST)
        sdp = dm.SdpOptions("CopyAltinn", "brev.pdf", backup_altinn=True)

        def plans(n: int) -> list[insert.InsertPlan]:
            now = dt.datetime.now(dt.UTC)
            decision = forwarding_decision.decide("person", sdp, None, person, now)
            return [
                insert.plan(
                    dm.InsertCorrespondence(
                        "DEMO",
                        f"mr-{uuid.uuid4().hex}",
                        "4503",
                        "1",
                        a.DIGIPOST,
                        "1044",
                        "Brev",
                        attachments=(dm.BinaryAttachment("brev.pdf", "Brev", a.PDF),),
                        sdp_options=sdp,
                    ),
                    principal.owner_id,
                    decision,
                    person,
                    now,
                )
                for _ in range(n)
            ]

        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        ways = ("one_per_row", "core", "multi_row")
        totals = {way: [0.0, 0.0, 0] for way in ways}
        for i in range(args.batches * len(ways)):
            way = ways[i % len(ways)]
            batch = plans(args.batch)
            statements[0] = 0
            for module in (correspondences, notifications):
                module.insert_rows = _core if way == "core" else insert_rows  # type: ignore[attr-defined]
            w0, c0 = time.perf_counter(), time.thread_time()
            with uow() as u:
                if way == "one_per_row":
                    for plan in batch:
                        u.correspondences.add_many([plan])
                else:
                    u.correspondences.add_many(batch)
                u.commit()
            t = totals[way]
            t[0] += time.perf_counter() - w0
            t[1] += time.thread_time() - c0
            t[2] += statements[0]
        n = args.batch * args.batches
        print(
            json.dumps(
                {
                    "database": engine.dialect.name,
                    "batch": args.batch,
                    **{
                        way: {
                            "wall_ms_per_letter": round(1000 * t[0] / n, 3),
                            "cpu_ms_per_letter": round(1000 * t[1] / n, 3),
                            "statements_per_letter": round(t[2] / n, 2),
                        }
                        for way, t in totals.items()
                    },
                }
            )
        )
        engine.dispose()
    finally:
        if pg:
            pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
