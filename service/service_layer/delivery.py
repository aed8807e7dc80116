"""Use cases of the delivery worker: claim forwarding jobs in batches, send them to the vendor, record
the outcomes in batches, apply vendor receipts in batches, keep claims alive.

At least once from our side, exactly once as the citizen sees it: every send of a forwarding carries
the same message id (SBDH InstanceIdentifier), and the vendor de-duplicates on it. A batch of jobs is
claimed with a lease and a fencing token; the worker renews the lease of every job it still has in
flight (``keep_alive``, with its heartbeat), and records an outcome only while the row still carries
its token. A worker whose heartbeat stopped has its jobs released by the others within
``stale_seconds``; whoever claims them next resends.

The life cycle itself (which status follows which) is ``service.domain.forwarding.Forwarding``; this
module only moves forwardings between the repository and the vendor. Sending (``send``) writes
nothing, so many sends run concurrently between one claim and one record transaction; it reads its
own letter's attachment bytes (one short read), which the claimed batch does not hold: the worker
holds the bytes of the letters being sent, not of every letter it has claimed (issue 17: a batch of
32 letters of 30 MB each would otherwise be 1 GB).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ..domain.forwarding import (
    DeliveryPolicy,
    Forwarding,
    IllegalTransition,
    JobState,
    Letter,
    build_message,
)
from ..domain.ports import PostboxVendor, SendResult, VendorReceipt, VendorUnavailable
from .notify import schedule_for_copies
from .ports import UnitOfWorkPort, UnitOfWorkPortFactory

log = logging.getLogger(__name__)

__all__ = ["Delivery", "DeliveryPolicy", "Job", "SendOutcome"]


def save_forwardings(
    uow: UnitOfWorkPort, forwardings: Iterable[Forwarding], release_claim: bool = False
) -> None:
    """Write the forwardings; a letter that just got its Altinn copy through BackupAltinn
    (``Forwarding.fall_back_to_altinn``) gets its copy's notifications planned in the same
    transaction (``notify.schedule_for_copies``)."""
    fwds = list(forwardings)
    copies = [
        (f.correspondence_id, f.altinn_copy_created)
        for f in fwds
        if f.altinn_copy_created is not None and f.correspondence_id is not None
    ]
    uow.forwardings.save(fwds, release_claim=release_claim)
    schedule_for_copies(uow, copies)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Job:
    """One claimed job: the letter to send and the fencing token it was claimed with."""

    letter: Letter
    token: str

    @property
    def id(self) -> int:
        return self.letter.forwarding.id


@dataclass(frozen=True)
class SendOutcome:
    """What one send attempt gave: a vendor answer, or why there is none."""

    forwarding_id: int
    token: str
    vendor_orgnr: str
    result: SendResult | None = None
    error: str | None = None  # vendor unavailable / unexpected error: retry later
    unbuildable: str | None = None  # the message cannot be built: fail permanently


class Delivery:
    def __init__(
        self,
        uow_factory: UnitOfWorkPortFactory,
        vendor: PostboxVendor,
        policy: DeliveryPolicy,
        worker_id: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.uow_factory = uow_factory
        self.vendor = vendor
        self.policy = policy
        self.worker_id = worker_id
        self.clock = clock
        self._cursor = 0  # check_transport: the last forwarding id asked about

    # -- claiming ---------------------------------------------------------------------------------
    def claim(self, max_jobs: int, running: Collection[int] = ()) -> list[Job]:
        """Claim up to ``max_jobs`` due jobs (none of ``running``) and load their letters: one short
        write transaction, then one read transaction for the whole batch."""
        with self.uow_factory() as uow:
            claim = uow.forwardings.claim(
                self.worker_id, self.clock(), self.policy.lease_seconds, max_jobs, running
            )
            uow.commit()
        if not claim.ids:
            return []
        with self.uow_factory().for_reading() as uow:
            letters = uow.forwardings.letters(claim.ids, attachments=False)  # bytes: at send time
        return [Job(letter, claim.token) for letter in letters]

    def _with_attachments(self, letter: Letter) -> Letter:
        cid = letter.forwarding.correspondence_id
        if cid is None:
            return letter  # no stored letter: build_message says so
        with self.uow_factory().for_reading() as uow:
            return replace(letter, attachments=uow.forwardings.attachments(cid))

    # -- sending (no database) ----------------------------------------------------------------------
    def send(self, job: Job) -> SendOutcome:
        vendor = job.letter.vendor_orgnr or ""
        try:
            letter = self._with_attachments(job.letter)
        except Exception as exc:  # the database is unreachable now: like a vendor outage, retry later
            log.warning("forwarding %s: cannot load its attachments: %s", job.id, exc)
            return SendOutcome(job.id, job.token, vendor, error=f"attachments not loaded: {exc}")
        try:
            message = build_message(letter)
        except Exception as exc:  # a letter we cannot build never gets better: fail it permanently
            log.warning("forwarding %s: cannot build the message: %s", job.id, exc)
            return SendOutcome(job.id, job.token, vendor, unbuildable=str(exc) or type(exc).__name__)
        try:
            return SendOutcome(job.id, job.token, vendor, result=self.vendor.send(message))
        except VendorUnavailable as exc:
            return SendOutcome(job.id, job.token, vendor, error=str(exc))
        except Exception as exc:  # misconfiguration (unknown vendor) or an adapter bug: retry, bounded
            log.exception("forwarding %s: unexpected error sending", job.id)
            return SendOutcome(job.id, job.token, vendor, error=f"unexpected error: {exc}")

    # -- recording ----------------------------------------------------------------------------------
    def record(self, outcomes: Sequence[SendOutcome]) -> Counter[str]:
        """Record a batch of send outcomes in one transaction. An outcome whose claim this worker no
        longer holds (released, taken over) is dropped: ``lost_claim``."""
        counts: Counter[str] = Counter()
        if not outcomes:
            return counts
        now = self.clock()
        with self.uow_factory() as uow:
            held = uow.forwardings.lock_held({o.forwarding_id: o.token for o in outcomes})
            for o in outcomes:
                fwd = held.get(o.forwarding_id)
                if fwd is None:
                    log.warning(
                        "forwarding %s: claim lost (released or taken over); outcome dropped", o.forwarding_id
                    )
                    counts["lost_claim"] += 1
                    continue
                try:
                    if o.result is not None:
                        outcome = fwd.record_send(o.result, o.vendor_orgnr, now, self.policy)
                    elif o.unbuildable is not None:
                        if fwd.job_state == JobState.PENDING:
                            fwd.fail(f"Delivery failed: message could not be built ({o.unbuildable})", now)
                            outcome = "failed"
                        else:
                            outcome = "skipped"
                    else:
                        outcome = fwd.retry_later(o.error or "unknown error", now, self.policy)
                except IllegalTransition:
                    log.exception("forwarding %s: outcome not recorded", o.forwarding_id)
                    outcome = "skipped"
                counts[outcome] += 1
                log.info(  # one line per delivery attempt (the message id is its correlation id)
                    "delivery %s",
                    outcome,
                    extra={
                        "correlation_id": fwd.message_id,
                        "forwarding_id": fwd.id,
                        "vendor_orgnr": o.vendor_orgnr,
                        "outcome": outcome,
                        "attempts": fwd.attempts,
                        "sdp_status": str(fwd.status),
                    },
                )
            save_forwardings(uow, held.values(), release_claim=True)
            uow.commit()
        return counts

    def deliver(
        self, jobs: Sequence[Job], map_fn: Callable[..., Iterable[SendOutcome]] = map
    ) -> Counter[str]:
        """Send a batch (``map_fn`` may run the sends concurrently) and record it."""
        return self.record(list(map_fn(self.send, jobs)))

    # -- receipts ---------------------------------------------------------------------------------
    def poll_receipts(
        self,
        max_count: int = 100,
        map_fn: Callable[[Callable[[VendorReceipt], None], list[VendorReceipt]], Iterable[None]] = map,
    ) -> int:
        """Pull queued receipts, store them (one transaction), then acknowledge each (``map_fn`` may
        run the acknowledgements in parallel). Stored before acknowledged: a lost ack only means the
        receipt comes again, and it is then recognised by its id and applied once."""
        receipts = self.vendor.pull_receipts(max_count)
        if not receipts:
            return 0
        self.apply_receipts(receipts)
        list(map_fn(self.vendor.acknowledge, receipts))
        return len(receipts)

    def apply_receipts(self, receipts: Sequence[VendorReceipt]) -> int:
        """Apply the receipts not seen before (by this or any other worker); returns how many."""
        now = self.clock()
        with self.uow_factory() as uow:
            fresh: list[VendorReceipt] = []
            for vendor_orgnr in sorted({r.vendor_orgnr for r in receipts}):
                mine = [r for r in receipts if r.vendor_orgnr == vendor_orgnr]
                fresh_ids = uow.forwardings.first_sightings(vendor_orgnr, [r.receipt_id for r in mine], now)
                fresh += {r.receipt_id: r for r in mine if r.receipt_id in fresh_ids}.values()
            if not fresh:
                uow.commit()
                return 0
            by_message = uow.forwardings.lock_by_message_ids({r.message_id for r in fresh})
            for r in fresh:
                fwd = by_message.get(r.message_id)
                if fwd is None:
                    log.warning("receipt %s for unknown message %s", r.receipt_id, r.message_id)
                else:
                    fwd.apply(r, r.vendor_orgnr, now)
            save_forwardings(uow, by_message.values())
            uow.commit()
        return len(fresh)

    # -- transport failures ---------------------------------------------------------------------
    def check_transport(self, min_age_seconds: float, limit: int = 100) -> int:
        """Ask the access point about up to ``limit`` letters sent at least ``min_age_seconds`` ago and
        still without a receipt (a cursor walks through all of them, one page a call); fail those it
        reports FEILET. Returns how many failed."""
        now = self.clock()
        with self.uow_factory().for_reading() as uow:
            rows = uow.forwardings.awaiting_receipt(
                now - timedelta(seconds=min_age_seconds), self._cursor, limit
            )
        self._cursor = rows[-1][0] if len(rows) >= limit else 0
        failed: dict[str, str] = {}
        for _id, message_id in rows:
            try:
                reason = self.vendor.failed_in_transport(message_id)
            except VendorUnavailable as exc:
                log.warning("statuses: %s", exc)
                break
            if reason is not None:
                failed[message_id] = reason
        if failed:
            with self.uow_factory() as uow:
                by_message = uow.forwardings.lock_by_message_ids(set(failed))
                for message_id, fwd in by_message.items():
                    if fwd.transport_failed(failed[message_id], now):
                        log.info("forwarding %s: FEILET at the access point: %s", fwd.id, failed[message_id])
                save_forwardings(uow, by_message.values())
                uow.commit()
        return len(failed)

    # -- upkeep -----------------------------------------------------------------------------------
    def expire_overdue(self, limit: int = 500) -> int:
        """Jobs sent but without any levering/feil receipt after the deadline count as failed."""
        now = self.clock()
        with self.uow_factory() as uow:
            overdue = uow.forwardings.lock_overdue(now, limit)
            for fwd in overdue:
                fwd.expire(now)
            save_forwardings(uow, overdue)
            uow.commit()
        return len(overdue)

    def keep_alive(self, tokens: Collection[str], jobs_done: int, stale_seconds: float) -> tuple[int, int]:
        """One transaction: this worker's heartbeat, a new lease for every job it still holds (under
        ``tokens``), and the release of jobs held by workers silent for ``stale_seconds``.
        Returns (renewed, released)."""
        now = self.clock()
        with self.uow_factory() as uow:
            uow.monitoring.beat(self.worker_id, now, jobs_done)
            renewed = uow.forwardings.renew(
                self.worker_id, tokens, now + timedelta(seconds=self.policy.lease_seconds)
            )
            released = uow.forwardings.release_stale(now - timedelta(seconds=stale_seconds), self.worker_id)
            uow.commit()
        if released:
            log.warning("released %d job(s) of workers without a heartbeat for %ss", released, stale_seconds)
        return renewed, released

    def heartbeat(self, jobs_done: int) -> None:
        with self.uow_factory() as uow:
            uow.monitoring.beat(self.worker_id, self.clock(), jobs_done)
            uow.commit()
