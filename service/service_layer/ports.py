"""What the use cases need of storage: the Protocols of the repositories and the unit of work.

The SQLAlchemy repositories (``service/adapters/repositories``) and :class:`.unit_of_work.UnitOfWork`
implement them; so do the in-memory fakes of the use-case tests (``tests/support/fakes.py``), which
mypy checks against these Protocols (``make lint``). Use cases that run on the fakes (inserting a
letter, group commit, delivery) are typed against :class:`UnitOfWorkPort`; the others (inbox,
status, notifications, owners' administration) use the concrete unit of work until they get fakes.

Unique-key conflicts surface as :class:`~service.domain.ports.DuplicateKey`, never as an error of
the database library.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from ..domain.forwarding import Forwarding, Letter, StoredAttachment
from ..domain.insert import InsertPlan
from ..domain.jobs import JobKind
from ..domain.notifications import Planned, PlanSource
from ..domain.receipt import Receipt


class CorrespondencesPort(Protocol):
    """Stored shipments by their key (SystemUserCode, ExternalShipmentReference)."""

    def receipts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Receipt]: ...

    def receipt(self, system_user_code: str, reference: str) -> Receipt | None: ...

    def add(self, plan: InsertPlan) -> Receipt:
        """Store one accepted insert; :class:`~service.domain.ports.DuplicateKey` if its key is stored."""
        ...

    def add_many(self, plans: Sequence[InsertPlan]) -> list[Receipt]:
        """Store accepted inserts of distinct keys together (one statement per table where the
        database allows), in order; :class:`~service.domain.ports.DuplicateKey` if any key is stored
        (then nothing of them is, once the unit of work rolls back)."""
        ...


class OwnersPort(Protocol):
    def owns_service(self, owner_id: int, service_code: str, service_edition: int) -> bool: ...

    def altinn3_resource(self, service_code: str, service_edition: int) -> str | None:
        """The Altinn 3 resource the service edition is mapped to, if any."""
        ...


class ForwardingsPort(Protocol):
    """Forwardings (sent by their ``deliver`` jobs): letters, locked state, saving, receipts seen."""

    def letters(self, message_ids: Collection[str], attachments: bool = True) -> list[Letter]: ...

    def attachments(self, correspondence_id: int) -> tuple[StoredAttachment, ...]:
        """One letter's attachments with their bytes (a batch's letters are loaded without them)."""
        ...

    def lock_by_message_ids(self, message_ids: Collection[str]) -> dict[str, Forwarding]: ...

    def save(self, forwardings: Iterable[Forwarding]) -> None: ...

    def first_sightings(self, vendor_orgnr: str, receipt_ids: Collection[str], now: datetime) -> set[str]: ...

    def awaiting_receipt(self, sent_before: datetime, after_id: int, limit: int) -> list[tuple[int, str]]:
        """(id, message id) of sent forwardings still without a receipt, after ``after_id``."""
        ...


class NotificationsPort(Protocol):
    def plan_sources(self, correspondence_ids: Sequence[int]) -> list[PlanSource]:
        """What planning these letters' notifications reads; letters already planned are left out."""
        ...

    def add_planned(
        self, correspondence_id: int, planned: Sequence[Planned], letter_language: str | None, now: datetime
    ) -> int: ...


class JobsPort(Protocol):
    """What the delivery side needs of the jobs table besides the runner (service_layer/jobs.py)."""

    def finish(self, kind: JobKind, references: Collection[str], now: datetime) -> int:
        """Jobs still to do and held by nobody, whose work is finished from outside: ``succeeded``."""
        ...


class MonitoringPort(Protocol):
    def beat(self, worker_id: str, now: datetime, jobs_done: int) -> None: ...


class UnitOfWorkPort(Protocol):
    """One transaction: ``with uow:`` ... ``uow.commit()``; leaving without commit rolls back."""

    @property
    def correspondences(self) -> CorrespondencesPort: ...

    @property
    def owners(self) -> OwnersPort: ...

    @property
    def forwardings(self) -> ForwardingsPort: ...

    @property
    def monitoring(self) -> MonitoringPort: ...

    @property
    def jobs(self) -> JobsPort: ...

    @property
    def notifications(self) -> NotificationsPort: ...

    def for_reading(self) -> Self: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


UnitOfWorkPortFactory = Callable[[], UnitOfWorkPort]
