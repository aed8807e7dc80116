"""SQLite writers queue on a kernel lock (db.py _WriterQueue): a write transaction holds
``<database>.writelock`` from BEGIN to COMMIT/ROLLBACK, and lets it go on either; reads never take it."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from sqlalchemy import text

from service.adapters.db import make_engine, make_session_factory


def _locked_by_someone(path: Path) -> bool:
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_write_transaction_holds_the_queue_until_it_ends(tmp_path: Path, end: str) -> None:
    db = tmp_path / "q.db"
    engine = make_engine(f"sqlite:///{db}")
    lock = Path(str(db) + ".writelock")
    writes = make_session_factory(engine)
    reads = make_session_factory(engine, read_only=True)
    with writes() as s:
        s.execute(text("CREATE TABLE t (x INTEGER)"))
        assert _locked_by_someone(lock)
        s.commit()
    assert not _locked_by_someone(lock)
    with reads() as r:
        r.execute(text("SELECT count(*) FROM t"))
        assert not _locked_by_someone(lock)  # readers never queue
    with writes() as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        assert _locked_by_someone(lock)
        getattr(s, end)()
        assert not _locked_by_someone(lock)
    engine.dispose()
