"""In-memory stand-ins for the unit of work and the outside world, for use-case tests without a
database or servers (after cosmicpython's FakeRepository / FakeUnitOfWork).

Each implements the Protocol the real adapter implements (``service/service_layer/ports.py``,
``service/domain/ports.py``), checked by mypy in ``make lint``; tests/integration/test_repositories.py
runs the real repositories through the same behaviours."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType

from service.domain.forwarding import (
    Forwarding,
    KrrContact,
    Letter,
    SdpStatusChange,
    StoredAttachment,
)
from service.domain.insert import InsertPlan
from service.domain.jobs import JobKind
from service.domain.model import (
    BinaryAttachment,
    CorrespondenceStatus,
    InsertCorrespondence,
    SdpOptions,
    SdpStatus,
)
from service.domain.notifications import Planned, PlanSource
from service.domain.ports import (
    ContactRegistry,
    DigitalPostMessage,
    Person,
    PostboxVendor,
    RegistryUnavailable,
    SendResult,
    SendStatus,
    VendorReceipt,
    VendorUnavailable,
)
from service.domain.receipt import Receipt
from service.service_layer.ports import (
    CorrespondencesPort,
    ForwardingsPort,
    JobsPort,
    MonitoringPort,
    NotificationsPort,
    OwnersPort,
    UnitOfWorkPortFactory,
)


@dataclass
class FakeOwners(OwnersPort):
    services: dict[tuple[str, int], int] = field(default_factory=dict)  # (code, edition) -> owner id
    resources: dict[tuple[str, int], str] = field(default_factory=dict)  # (code, edition) -> Altinn 3

    def owns_service(self, owner_id: int, service_code: str, service_edition: int) -> bool:
        return self.services.get((service_code, service_edition)) == owner_id

    def altinn3_resource(self, service_code: str, service_edition: int) -> str | None:
        return self.resources.get((service_code, service_edition))


@dataclass
class FakeCorrespondences(CorrespondencesPort):
    stored: dict[tuple[str, str], Receipt] = field(default_factory=dict)
    plans: list[InsertPlan] = field(default_factory=list)
    next_id: int = 1

    def receipts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Receipt]:
        return {k: self.stored[k] for k in keys if k in self.stored}

    def receipt(self, system_user_code: str, reference: str) -> Receipt | None:
        return self.stored.get((system_user_code, reference))

    def add(self, plan: InsertPlan) -> Receipt:
        r = plan.receipt
        rid = self.next_id
        subs = tuple(
            Receipt(rid + 1 + i, s.status_code, s.text, s.history, s.last_changed, s.references, rid)
            for i, s in enumerate(r.sub_receipts)
        )
        self.next_id += 1 + len(subs)
        self.plans.append(plan)
        return Receipt(rid, r.status_code, r.text, r.history, r.last_changed, r.references, 0, subs)

    def add_many(self, plans: Sequence[InsertPlan]) -> list[Receipt]:
        return [self.add(plan) for plan in plans]


@dataclass
class FakeJobRow:
    """One stored forwarding: its state and letter."""

    state: Forwarding
    letter: Letter
    history: list[SdpStatusChange] = field(default_factory=list)


class FakeForwardingRepository(ForwardingsPort):
    def __init__(self, store: FakeJobs) -> None:
        self.store = store

    def letters(self, message_ids: Collection[str], attachments: bool = True) -> list[Letter]:
        self.store.letter_loads += 1
        return [
            dataclasses.replace(
                r.letter,
                forwarding=copy.deepcopy(r.state),
                attachments=r.letter.attachments if attachments else (),
            )
            for _, r in sorted(self.store.rows.items())
            if r.state.message_id in message_ids
        ]

    def attachments(self, correspondence_id: int) -> tuple[StoredAttachment, ...]:
        self.store.attachment_loads += 1
        for r in self.store.rows.values():
            if r.state.correspondence_id == correspondence_id:
                return r.letter.attachments
        return ()

    def lock_by_message_ids(self, message_ids: Collection[str]) -> dict[str, Forwarding]:
        return {
            r.state.message_id: copy.deepcopy(r.state)
            for r in self.store.rows.values()
            if r.state.message_id in message_ids
        }

    def awaiting_receipt(self, sent_before: datetime, after_id: int, limit: int) -> list[tuple[int, str]]:
        return [
            (r.state.id, r.state.message_id)
            for _, r in sorted(self.store.rows.items())
            if r.state.status == SdpStatus.SENT
            and r.state.last_changed is not None
            and r.state.last_changed < sent_before
            and r.state.id > after_id
        ][:limit]

    def save(self, forwardings: Iterable[Forwarding]) -> None:
        for f in forwardings:
            row = self.store.rows[f.id]
            row.history.extend(f.new_changes)
            if f.altinn_copy_created is not None:
                self.store.altinn_copies.append(f.id)
            f.new_changes = []
            f.altinn_copy_created = None
            f.changed = False
            row.state = copy.deepcopy(f)

    def first_sightings(self, vendor_orgnr: str, receipt_ids: Collection[str], now: datetime) -> set[str]:
        fresh = {r for r in receipt_ids if (vendor_orgnr, r) not in self.store.seen}
        self.store.seen |= {(vendor_orgnr, r) for r in fresh}
        return fresh


class FakeJobQueue(JobsPort):
    """The jobs table as the delivery use cases see it: which jobs were finished from outside."""

    def __init__(self, store: FakeJobs) -> None:
        self.store = store

    def finish(self, kind: JobKind, references: Collection[str], now: datetime) -> int:
        self.store.finished += [(str(kind), r) for r in references]
        return len(references)


class FakeMonitoringRepository(MonitoringPort):
    def __init__(self, store: FakeJobs) -> None:
        self.store = store

    def beat(self, worker_id: str, now: datetime, jobs_done: int) -> None:
        self.store.heartbeats[worker_id] = now
        self.store.jobs_done[worker_id] = jobs_done


@dataclass
class FakeJobs:
    """The forwardings, heartbeats, receipts seen and finished jobs of a FakeDatabase."""

    rows: dict[int, FakeJobRow] = field(default_factory=dict)
    heartbeats: dict[str, datetime] = field(default_factory=dict)
    jobs_done: dict[str, int] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    altinn_copies: list[int] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)  # (kind, reference) of finished jobs
    letter_loads: int = 0
    attachment_loads: int = 0  # one per letter sent: the batch is loaded without the bytes

    def add_job(
        self,
        fid: int,
        *,
        now: datetime,
        vendor_orgnr: str = "984661185",
        backup_altinn: bool = True,
        altinn_status: CorrespondenceStatus | None = None,
        primary: str = "brev.pdf",
        status: SdpStatus = SdpStatus.UNKNOWN,
    ) -> FakeJobRow:
        state = Forwarding(
            id=fid,
            message_id=f"msg-{fid}",
            status=status,
            backup_altinn=backup_altinn,
            correspondence_id=1000 + fid,
            altinn_status=altinn_status,
            last_changed=now,
        )
        letter = Letter(
            forwarding=state,
            conversation_id=f"conv-{fid}",
            reportee="01018010018",
            postkasseadresse="ola.nordmann#1A2B",
            vendor_orgnr=vendor_orgnr,
            sdp=SdpOptions("ForwardOnly", primary, backup_altinn=backup_altinn),
            krr=KrrContact("ola@example.no", "+4799000001"),
            sender_orgnr="910646192",
            message_title=f"Letter {fid}",
            visible_date_time=None,
            language_code="1044",
            attachments=(StoredAttachment("brev.pdf", "Brev", b"%PDF-1.4"),),
        )
        row = FakeJobRow(copy.deepcopy(state), letter)
        self.rows[fid] = row
        return row


class FakeNotifications(NotificationsPort):
    """Letters' notification plans: ``sources`` seeds what ``plan_sources`` finds; ``planned`` records."""

    def __init__(self) -> None:
        self.sources: dict[int, PlanSource] = {}
        self.planned: dict[int, list[Planned]] = {}

    def plan_sources(self, correspondence_ids: Sequence[int]) -> list[PlanSource]:
        return [self.sources[c] for c in correspondence_ids if c in self.sources and c not in self.planned]

    def add_planned(
        self, correspondence_id: int, planned: Sequence[Planned], letter_language: str | None, now: datetime
    ) -> int:
        self.planned.setdefault(correspondence_id, []).extend(planned)
        return len(planned)


class FakeUnitOfWork:
    """Shares its repositories across instances (the 'database'); commit makes pending adds visible."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.owners = db.owners
        self.correspondences = _Pending(db)
        # Delivery: writes are visible at once (the use cases commit what they mean to keep).
        self.forwardings = FakeForwardingRepository(db.jobs)
        self.monitoring = FakeMonitoringRepository(db.jobs)
        self.jobs = FakeJobQueue(db.jobs)
        self.notifications = db.notifications
        self.committed = False

    def for_reading(self) -> FakeUnitOfWork:
        return self

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.correspondences.pending.clear()  # rollback of whatever was not committed

    def commit(self) -> None:
        for plan, receipt in self.correspondences.pending:
            self.db.correspondences.stored[plan.key] = receipt
            self.db.correspondences.plans.append(plan)
        self.db.commits += 1
        self.correspondences.pending.clear()
        self.committed = True

    def rollback(self) -> None:
        self.correspondences.pending.clear()


class _Pending(CorrespondencesPort):
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.pending: list[tuple[InsertPlan, Receipt]] = []

    def receipts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Receipt]:
        return self.db.correspondences.receipts(keys)

    def receipt(self, system_user_code: str, reference: str) -> Receipt | None:
        return self.db.correspondences.receipt(system_user_code, reference)

    def add(self, plan: InsertPlan) -> Receipt:
        receipt = self.db.correspondences.add(plan)
        self.db.correspondences.plans.pop()  # counted at commit
        self.pending.append((plan, receipt))
        return receipt

    def add_many(self, plans: Sequence[InsertPlan]) -> list[Receipt]:
        return [self.add(plan) for plan in plans]


@dataclass
class FakeDatabase:
    owners: FakeOwners = field(default_factory=FakeOwners)
    correspondences: FakeCorrespondences = field(default_factory=FakeCorrespondences)
    jobs: FakeJobs = field(default_factory=lambda: FakeJobs())
    notifications: FakeNotifications = field(default_factory=FakeNotifications)
    commits: int = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    @property
    def uow_factory(self) -> UnitOfWorkPortFactory:
        """``uow`` as the use cases take it (mypy checks here that FakeUnitOfWork is a UnitOfWorkPort)."""
        return self.uow


@dataclass
class FakeRegistry(ContactRegistry):
    """KRR: persons by id; ``fail`` makes every call raise RegistryUnavailable."""

    persons: dict[str, Person] = field(default_factory=dict)
    fail: bool = False
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def hent_personer(self, ids: Sequence[str]) -> dict[str, Person]:
        self.calls.append(tuple(ids))
        if self.fail:
            raise RegistryUnavailable("KRR is down (fake)")
        return {i: self.persons.get(i, Person(i, status="IKKE_REGISTRERT")) for i in ids}


#: stands for a postbox certificate from KRR (DER bytes) where only its presence and expiry matter
FAKE_CERTIFICATE = b"0\x82fake-postbox-certificate"
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


def insert_request(
    reference: str,
    reportee: str = "01018010018",
    sdp_setting: str | None = "ForwardOnly",
    system_user_code: str = "DEMO",
    pdf: bytes = b"%PDF-1.4 test",
) -> InsertCorrespondence:
    """A valid InsertCorrespondence of service 4503/1 with one PDF, brev.pdf, the primary document."""
    return InsertCorrespondence(
        system_user_code=system_user_code,
        external_shipment_reference=reference,
        service_code="4503",
        service_edition="1",
        reportee=reportee,
        language_code="1044",
        message_title="Brev",
        attachments=(BinaryAttachment("brev.pdf", "Brev", pdf),),
        sdp_options=SdpOptions(sdp_setting, "brev.pdf", backup_altinn=True) if sdp_setting else None,
    )


def person_with_postbox(pid: str, vendor: str = "984661185") -> Person:
    return Person(
        pid,
        "AKTIV",
        "NEI",
        "KAN_VARSLES",
        "a@example.org",
        "+4799999999",
        f"box.{pid}",
        vendor,
        sertifikat=FAKE_CERTIFICATE,
        sertifikat_gyldig_til=FAR_FUTURE,
    )


class FakeVendor(PostboxVendor):
    """A PostboxVendor: accepts, rejects or is unavailable per personidentifikator or message id;
    ``receipts`` queued per vendor until acknowledged."""

    def __init__(self) -> None:
        self.sent: list[DigitalPostMessage] = []
        self.reject: set[str] = set()  # message ids answered with feil KLIENT
        self.unavailable: set[str] = set()  # message ids answered with VendorUnavailable
        self.raise_on: set[str] = set()  # message ids whose send raises an unexpected error
        self.receipts: dict[str, list[VendorReceipt]] = {}
        self.acknowledged: list[tuple[str, str]] = []
        self.feilet: dict[str, str] = {}  # message id -> reason the access point reports FEILET
        self.asked: list[str] = []  # message ids whose transport status was asked
        self.on_send: Callable[[DigitalPostMessage], None] | None = None
        self._lock = threading.Lock()

    def send(self, message: DigitalPostMessage) -> SendResult:
        with self._lock:
            self.sent.append(message)
        if self.on_send is not None:
            self.on_send(message)
        if message.message_id in self.unavailable:
            raise VendorUnavailable("postbox vendor timed out (fake)")
        if message.message_id in self.raise_on:
            raise RuntimeError("adapter bug (fake)")
        if message.message_id in self.reject:
            return SendResult(SendStatus.REJECTED, "feil KLIENT (fake)")
        return SendResult(SendStatus.ACCEPTED)

    def pull_receipts(self, max_count: int = 100) -> list[VendorReceipt]:
        """One queue for every vendor (as the DPI access point's); ``receipts`` is kept per vendor."""
        queued = [
            replace(r, vendor_orgnr=r.vendor_orgnr or orgnr)
            for orgnr, rs in self.receipts.items()
            for r in rs
        ]
        return queued[:max_count]

    def failed_in_transport(self, message_id: str) -> str | None:
        self.asked.append(message_id)
        return self.feilet.get(message_id)

    def acknowledge(self, receipt: VendorReceipt) -> None:
        self.acknowledged.append((receipt.vendor_orgnr, receipt.receipt_id))
        self.receipts[receipt.vendor_orgnr] = [
            r for r in self.receipts.get(receipt.vendor_orgnr, []) if r.receipt_id != receipt.receipt_id
        ]
