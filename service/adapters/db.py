"""Engine and session factory; migrations (Alembic) live in service/migrations."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "innbyggerpost_read_only"
log = logging.getLogger(__name__)


class NotDurable(RuntimeError):
    """The database would acknowledge commits it could lose (PostgreSQL fsync/synchronous_commit off)."""


def make_engine(url: str, sqlite_synchronous: str = "FULL") -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        synchronous = sqlite_synchronous.upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"sqlite synchronous mode {sqlite_synchronous!r}")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Take the write lock at BEGIN (BEGIN IMMEDIATE): one writer at a time, no upgrade deadlocks.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk (WAL fsync) before it returns, so an OK receipt survives a
            # power loss. NORMAL would lose the last commits of the WAL on an OS crash.
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # Writers take the lock at BEGIN; readers (WAL snapshots) never wait for writers.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def check_durability(engine: Engine) -> list[str]:
    """What makes an acknowledged commit losable: PostgreSQL ``fsync``/``synchronous_commit`` off,
    SQLite below ``synchronous=FULL``. Empty when commits are durable."""
    problems: list[str] = []
    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            for name in ("fsync", "synchronous_commit"):
                value = str(c.execute(text(f"SHOW {name}")).scalar())
                if value.lower() == "off":
                    problems.append(f"PostgreSQL {name}={value}")
        elif engine.dialect.name == "sqlite":
            level = int(c.exec_driver_sql("PRAGMA synchronous").scalar() or 0)
            if level < 2:
                problems.append(f"SQLite synchronous={ {0: 'OFF', 1: 'NORMAL'}.get(level, level) }")
    return problems


def make_session_factory(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for writing, or (``read_only``) for reading only: on SQLite those begin deferred."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
