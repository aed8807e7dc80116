"""The writer's batch INSERT on the DB-API connection (``adapters/batch_insert.py``) stores exactly
what SQLAlchemy Core stored: the same letters written the old way (``conn.execute(insert(table)
.returning(id, sort_by_parameter_order=True), rows)``) into one database and the new way into
another give the same rows in every table, ids included, both as the driver returns them (the stored
representation: SQLite's datetime text, JSON text, blobs) and as SQLAlchemy reads them back, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select, text

from service.adapters import orm
from service.adapters.batch_insert import insert_rows
from service.adapters.repositories import correspondences, notifications
from service.service_layer.group_commit import GroupCommit
from tests.integration.test_multirow_insert import _plans, _setup

WRITTEN = (  # the tables of an insert (the demo owners' rows differ by their creation time)
    "receipts",
    "correspondences",
    "attachments",
    "correspondence_status_changes",
    "forwardings",
    "sdp_status_changes",
    "notifications",
    "jobs",
)
RANDOM = {("notifications", "message_id")}  # a fresh uuid4 per message, whichever way it is written


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db", f"sqlite:///{tmp_path}/new.db"
        return
    base = request.getfixturevalue("postgres_url")
    names = ("batch_old", "batch_new")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        for name in names:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {name}"))
    yield tuple(base.rsplit("/", 1)[0] + "/" + name for name in names)  # type: ignore[misc]
    with admin.connect() as c:
        for name in names:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _old_way(conn: Any, table: Any, rows: Any, returning: bool = False) -> list[int]:
    """What the repository did before: SQLAlchemy Core, ids in the order of the rows."""
    if not rows:
        return []
    if not returning:
        conn.execute(insert(table), rows)
        return []
    result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars()]


def _dump(engine: Any) -> dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    out = {}
    with engine.connect() as c:
        for table in orm.Base.metadata.sorted_tables:
            if table.name not in WRITTEN:
                continue
            cols = [col for col in table.c if (table.name, col.name) not in RANDOM]
            names = ", ".join(f'"{col.name}"' for col in cols)
            raw = [tuple(r) for r in c.exec_driver_sql(f"SELECT {names} FROM {table.name} ORDER BY 1")]
            read = [tuple(r) for r in c.execute(select(*cols).order_by(cols[0]))]
            out[table.name] = (raw, read)
    return out


def test_a_batch_written_the_new_way_reads_back_equal_to_one_written_the_old_way(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dumps = []
    plans: list[Any] = []
    for url, way in zip(urls, (_old_way, insert_rows), strict=True):
        for module in (correspondences, notifications):
            monkeypatch.setattr(module, "insert_rows", way)
        engine, uow, owner_id = _setup(url)
        plans = plans or _plans(owner_id, 24, "same")  # the very same letters (times, message ids)
        assert plans[0].owner_id == owner_id
        group = GroupCommit(uow, batch_max=10)  # batches of 10, 10 and 4 letters
        first = group.store_all(plans[:12])
        again = group.store_all(plans[10:])  # two repeats answered with the stored receipts
        assert [r.receipt_id for r in again[:2]] == [r.receipt_id for r in first[10:]]
        dumps.append((_dump(engine), first + again[2:]))
        engine.dispose()
    (old, old_receipts), (new, new_receipts) = dumps
    assert new_receipts == old_receipts
    assert sum(len(raw) for raw, _ in new.values()) > 24 * 4
    assert set(old) == set(WRITTEN)
    for table, (raw, read) in old.items():
        assert new[table][0] == raw, table
        assert new[table][1] == read, table
    # every shape of value was exercised: blobs, JSON, booleans, time stamps, NULLs
    assert any(r[-1] is not None for r in new["attachments"][0]), new["attachments"][0][:1]
