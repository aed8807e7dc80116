"""Unit of work (after cosmicpython): one database transaction, and the repositories that use it.

``with uow_factory() as uow:`` opens a session; ``uow.receipts``, ``uow.forwardings``, ... are the
repositories (``service/adapters/repositories``) bound to it; ``uow.commit()`` commits, leaving the
block without it rolls back. ``uow_factory().for_reading()`` opens a read-only transaction instead
(on SQLite it does not take the write lock). Use cases see only this interface, so a fake unit of
work (tests/support/fakes.py) runs them without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..adapters.db import duplicate_keys, make_session_factory
from ..adapters.repositories.correspondences import CorrespondenceRepository
from ..adapters.repositories.forwardings import ForwardingRepository
from ..adapters.repositories.inbox import InboxRepository
from ..adapters.repositories.jobs import JobRepository
from ..adapters.repositories.monitoring import MonitoringRepository
from ..adapters.repositories.nonces import NonceRepository
from ..adapters.repositories.notifications import NotificationRepository
from ..adapters.repositories.owners import OwnerRepository
from ..adapters.repositories.status import StatusRepository


class UnitOfWork:
    session: Session
    correspondences: CorrespondenceRepository
    status: StatusRepository
    owners: OwnerRepository
    nonces: NonceRepository
    monitoring: MonitoringRepository
    inbox: InboxRepository
    forwardings: ForwardingRepository
    notifications: NotificationRepository
    jobs: JobRepository

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
        self.session = s = self._factory()
        self.correspondences = CorrespondenceRepository(s)
        self.status = StatusRepository(s)
        self.owners = OwnerRepository(s)
        self.nonces = NonceRepository(s)
        self.monitoring = MonitoringRepository(s)
        self.inbox = InboxRepository(s)
        self.forwardings = ForwardingRepository(s)
        self.notifications = NotificationRepository(s)
        self.jobs = JobRepository(s)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()  # a no-op after commit(); undoes anything uncommitted
        finally:
            self.session.close()

    def commit(self) -> None:
        """Commit; a unique key met at commit raises :class:`~service.domain.ports.DuplicateKey`."""
        with duplicate_keys():
            self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


UnitOfWorkFactory = Callable[[], UnitOfWork]


def unit_of_work_factory(engine: Engine) -> UnitOfWorkFactory:
    write, read = make_session_factory(engine), make_session_factory(engine, read_only=True)
    return lambda: UnitOfWork(write, read)
