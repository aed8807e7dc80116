"""Unit of work (cosmicpython style): one database transaction per use-case step."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..adapters.db import make_session_factory


class UnitOfWork:
    session: Session

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        read_session_factory: sessionmaker[Session] | None = None,
    ) -> None:
        self._factory = session_factory
        self._read_factory = read_session_factory

    def for_reading(self) -> UnitOfWork:
        """Use a read-only transaction (on SQLite it does not take the write lock). Call before ``with``."""
        if self._read_factory is not None:
            self._factory = self._read_factory
        return self

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()  # a no-op after commit(); undoes anything uncommitted
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def unit_of_work_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    write, read = make_session_factory(engine), make_session_factory(engine, read_only=True)
    return lambda: UnitOfWork(write, read)
