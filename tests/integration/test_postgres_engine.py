"""The PostgreSQL engine's round-trip savings keep its guarantees (issue 17, ``adapters/db.py``).

* A pooled connection is pinged only after ``PING_IDLE_SECONDS`` idle (no ``pool_pre_ping`` round
  trip per checkout): one the server dropped while it was idle that long is found by the ping and
  replaced, so the next transaction works; one used a moment ago is not pinged (the trade-off: a
  connection that dies within the window fails its next transaction, and the pool then replaces it).
* ``executemany`` INSERTs go as multi-row statements (one per table), also without RETURNING.
* psycopg prepares the repeated statements on the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from service.adapters import db
from tests.conftest import BACKENDS
from tests.support.harness import fresh_database, wait_until

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL only")


@pytest.fixture
def url(postgres_url: str) -> str:
    return fresh_database(postgres_url, "engine_tests")


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    eng = db.make_engine(url)
    yield eng
    eng.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
            wait_until(
                lambda: (
                    not c.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).first()
                ),
                10,
                f"backend {pid} gone",
            )
    finally:
        admin.dispose()


def test_an_idle_connection_the_server_dropped_is_pinged_and_replaced(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    pid = _backend_pid(engine)
    _terminate(url, pid)
    assert _backend_pid(engine) != pid  # the ping found it dead; a new connection served


def test_a_connection_used_a_moment_ago_is_not_pinged(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 3600.0)
    pings: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        pings.append(statement)

    pid = _backend_pid(engine)
    _terminate(url, pid)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with pytest.raises(OperationalError):  # not pinged: its next use meets the dropped socket
            _backend_pid(engine)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert pings == ["SELECT pg_backend_pid()"]  # no ping went before it
    assert _backend_pid(engine) != pid  # the pool replaced it after the failure


def test_executemany_inserts_are_one_multi_row_statement_and_repeats_are_prepared(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (id serial PRIMARY KEY, v text)"))
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", String))
    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as c:
            c.execute(insert(t), [{"v": str(i)} for i in range(50)])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0].count("VALUES") == 1, statements
    assert statements[0].count("%(v__") == 50, statements[0][:300]  # the 50 rows' values in it
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar_one() == 50
        for _ in range(db.PREPARE_THRESHOLD + 1):
            c.execute(text("SELECT v FROM t WHERE id = :i"), {"i": 1}).all()
        prepared = c.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM t WHERE id%'")
        ).scalar_one()
    assert prepared == 1
