"""Engine and session factory; migrations (Alembic) live in service/migrations."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..domain.ports import DuplicateKey

READ_ONLY = "innbyggerpost_read_only"
log = logging.getLogger(__name__)


class NotDurable(RuntimeError):
    """The database would acknowledge commits it could lose (PostgreSQL fsync/synchronous_commit off)."""


class _WriterQueue:
    """One SQLite writer at a time across every process and thread, waiting in the kernel.

    SQLite's own lock is taken by polling: a writer that finds the database locked sleeps (1, 2, 5
    ... up to 100 ms) and tries again, so a process that writes continuously (a web process's group
    commit under a mass mailing) wins nearly every time and the delivery worker starves. Here each
    write transaction first takes an exclusive ``flock`` on ``<database>.writelock`` (one open file
    per connection: flock locks belong to open files, so threads of one process queue as well),
    blocking in the kernel, and lets it go after COMMIT or ROLLBACK. SQLite's lock then never has
    to be waited for by writers.
    """

    @staticmethod
    def _key(conn: Any) -> int:
        # The pool hands the dialect either the DBAPI connection or its proxy: key by the former.
        return id(getattr(conn, "dbapi_connection", None) or conn)

    def __init__(self, db_path: str) -> None:
        self.path = db_path + ".writelock"
        self._files: dict[int, Any] = {}
        self._held: set[int] = set()

    def opened(self, dbapi_conn: Any) -> None:
        self._files[self._key(dbapi_conn)] = open(self.path, "a+b")  # noqa: SIM115 - closed in closed()

    def closed(self, dbapi_conn: Any) -> None:
        key = self._key(dbapi_conn)
        fh = self._files.pop(key, None)
        self._held.discard(key)
        if fh is not None:
            fh.close()

    def acquire(self, dbapi_conn: Any) -> None:
        key = self._key(dbapi_conn)
        fh = self._files.get(key)
        if fh is not None and key not in self._held:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            self._held.add(key)

    def release(self, dbapi_conn: Any) -> None:
        key = self._key(dbapi_conn)
        if key in self._held:
            self._held.discard(key)
            fcntl.flock(self._files[key].fileno(), fcntl.LOCK_UN)


def make_engine(url: str, sqlite_synchronous: str = "FULL") -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        queue: _WriterQueue | None = None
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Letters and password hashes: the file (and the -wal/-shm files SQLite creates with its
            # mode) readable by the service's user only, whatever the umask (issue 14).
            for private in (path, path + ".writelock"):
                if not os.path.exists(private):
                    os.close(os.open(private, os.O_CREAT | os.O_WRONLY, 0o600))
            queue = _WriterQueue(path)
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
            if queue is not None:
                queue.opened(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # Writers take the lock at BEGIN; readers (WAL snapshots) never wait for writers.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            if not read_only and queue is not None:
                queue.acquire(conn.connection.dbapi_connection)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        if queue is not None:
            dialect = engine.dialect
            do_commit, do_rollback, do_close = dialect.do_commit, dialect.do_rollback, dialect.do_close

            def _commit(dbapi_conn: Any) -> None:
                try:
                    do_commit(dbapi_conn)
                finally:
                    queue.release(dbapi_conn)

            def _rollback(dbapi_conn: Any) -> None:
                try:
                    do_rollback(dbapi_conn)
                finally:
                    queue.release(dbapi_conn)

            def _close(dbapi_conn: Any) -> None:
                try:
                    do_close(dbapi_conn)
                finally:
                    queue.closed(dbapi_conn)

            dialect.do_commit = _commit  # type: ignore[method-assign,assignment]
            dialect.do_rollback = _rollback  # type: ignore[method-assign,assignment]
            dialect.do_close = _close  # type: ignore[method-assign,assignment]
        return engine
    return _postgres_engine(url)


# A pooled PostgreSQL connection is pinged before use only when it has been idle this long: a
# ping per checkout (``pool_pre_ping``) was a round trip per letter on the insert path.
PING_IDLE_SECONDS = 5.0
# psycopg prepares a statement on the server after this many executions on one connection; the hot
# path's statements repeat on every connection, so they are parsed and planned once per connection.
PREPARE_THRESHOLD = 2


def _postgres_engine(url: str) -> Engine:
    """A PostgreSQL engine for few round trips:

    * a connection idle for less than :data:`PING_IDLE_SECONDS` is not pinged when it is taken from
      the pool (the pessimistic check of SQLAlchemy's "disconnect handling" recipe, only for
      connections that may have gone stale; a dead one found by the ping is replaced at once, and
      one that dies in use fails its transaction, which the callers already handle);
    * an ``executemany`` INSERT is sent as multi-row ``INSERT ... VALUES (...), (...)`` statements
      (SQLAlchemy's insertmanyvalues, also without RETURNING): one statement per table per group
      commit instead of one execution per row;
    * server-side prepared statements after :data:`PREPARE_THRESHOLD` executions (psycopg)."""
    engine = create_engine(
        url, pool_size=5, max_overflow=10, connect_args={"prepare_threshold": PREPARE_THRESHOLD}
    )
    engine.dialect.use_insertmanyvalues_wo_returning = True  # type: ignore[attr-defined]
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool replaces the connection
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc

    return engine


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


@contextmanager
def duplicate_keys() -> Iterator[None]:
    """Translates SQLAlchemy's ``IntegrityError`` (a unique key already stored) into our :class:`DuplicateKey`."""
    try:
        yield
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from exc


def make_session_factory(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for writing, or (``read_only``) for reading only: on SQLite those begin deferred."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
