"""Use cases of delivery: the ``deliver`` job kind (send a forwarding to its postbox vendor, then await
its receipt) and the vendor's receipts and transport statuses.

A forwarding to send has a ``deliver`` job (``domain/jobs.py``, reference: the forwarding's message
id), enqueued with the letter at insert. The one job mechanism (``service_layer/jobs.py``) claims it
with a lease and a fencing token, retries it by the one rule and releases it when its worker dies;
:class:`DeliverHandler` is the kind's handler:

- ``prepare``: the batch's letters, one query per table for the whole batch;
- ``run``: build the message and send it (``PostboxVendor``: no database, so many sends run
  concurrently between one claim and one record transaction);
- ``record_batch``: the ``Forwarding`` transitions (``record_send``, ``note_retry`` / ``give_up``,
  ``fail``; BackupAltinn through ``fall_back_to_altinn``) for the whole batch in the recording
  transaction, written only while the jobs carry their fencing tokens. An accepted send
  ``reschedule``s the job to the receipt deadline: the receipt wait is the job's. When it runs again
  there, a forwarding still without its receipt expires (failed); one made final by a receipt
  meanwhile has its job finished by ``Delivery.apply_receipts`` (or by the handler, when the job was
  held at that moment).

At least once from our side, exactly once as the citizen sees it: every send of a forwarding carries
the same message id (SBDH InstanceIdentifier), and the vendor de-duplicates on it.

:class:`Delivery` pulls the vendor receipts and asks the access point about letters without one;
the life cycle itself is ``service.domain.forwarding.Forwarding``.

Memory (issue 17): a claimed batch is loaded without its attachments' bytes; each ``run`` reads its
own letter's (one short read), so the worker holds the bytes of the letters being sent, not of every
letter it has claimed (a batch of 32 letters of 30 MB each would otherwise be 1 GB).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.forwarding import Forwarding, IllegalTransition, JobState, Letter, build_message
from ..domain.jobs import Job, JobKind, JobPolicy, JobStatus
from ..domain.ports import PostboxVendor, SendResult, VendorReceipt, VendorUnavailable
from .jobs import Outcome
from .notify import schedule_for_copies
from .ports import UnitOfWorkPort, UnitOfWorkPortFactory

log = logging.getLogger(__name__)

__all__ = ["Delivery", "DeliverHandler", "SendOutcome"]


def save_forwardings(uow: UnitOfWorkPort, forwardings: Iterable[Forwarding]) -> None:
    """Write the forwardings; a letter that just got its Altinn copy through BackupAltinn
    (``Forwarding.fall_back_to_altinn``) gets its copy's notifications planned in the same
    transaction (``notify.schedule_for_copies``)."""
    fwds = list(forwardings)
    copies = [
        (f.correspondence_id, f.altinn_copy_created)
        for f in fwds
        if f.altinn_copy_created is not None and f.correspondence_id is not None
    ]
    uow.forwardings.save(fwds)
    schedule_for_copies(uow, copies)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SendOutcome:
    """What one run of a ``deliver`` job gave (``Outcome.data``): a vendor answer, or why there is
    none, or that the receipt deadline has come."""

    vendor_orgnr: str = ""
    result: SendResult | None = None
    unbuildable: str | None = None  # the message cannot be built: fail permanently
    deadline: bool = False  # the job ran at the receipt deadline (the forwarding was sent before)


@dataclass
class DeliverHandler:
    """The ``deliver`` job kind (``service_layer/jobs.JobHandler``)."""

    vendor: PostboxVendor
    policy: JobPolicy
    receipt_deadline_seconds: float
    # Where ``run`` reads its letter's attachments (the batch is loaded without them); None: the batch
    # is loaded with them (tools and tests without a database of their own).
    uow_factory: UnitOfWorkPortFactory | None = None
    kinds: tuple[JobKind, ...] = (JobKind.DELIVER,)

    def prepare(self, uow: UnitOfWorkPort, jobs: Sequence[Job]) -> dict[int, Any]:
        with_bytes = self.uow_factory is None
        letters = {
            letter.forwarding.message_id: letter
            for letter in uow.forwardings.letters([j.reference for j in jobs], attachments=with_bytes)
        }
        return {j.id: letters.get(j.reference) for j in jobs}

    def _with_attachments(self, letter: Letter) -> Letter:
        cid = letter.forwarding.correspondence_id
        if self.uow_factory is None or cid is None:
            return letter  # loaded with the batch / no stored letter: build_message says so
        with self.uow_factory().for_reading() as uow:
            return replace(letter, attachments=uow.forwardings.attachments(cid))

    def run(self, job: Job, letter: Letter | None) -> Outcome:
        if letter is None:
            return Outcome.fail(f"no forwarding with message id {job.reference}")
        fwd = letter.forwarding
        vendor = letter.vendor_orgnr or ""
        if fwd.job_state != JobState.PENDING:  # sent before: the receipt deadline (or final already)
            return Outcome.succeed(data=SendOutcome(vendor, deadline=True))
        try:
            letter = self._with_attachments(letter)
        except Exception as exc:  # the database is unreachable now: like a vendor outage, retry later
            log.warning("forwarding %s: cannot load its attachments: %s", fwd.id, exc)
            return Outcome.retry(f"attachments not loaded: {exc}").with_data(SendOutcome(vendor))
        try:
            message = build_message(letter)
        except Exception as exc:  # a letter we cannot build never gets better: fail it permanently
            log.warning("forwarding %s: cannot build the message: %s", fwd.id, exc)
            reason = str(exc) or type(exc).__name__
            return Outcome.fail(reason).with_data(SendOutcome(vendor, unbuildable=reason))
        try:
            return Outcome.succeed(data=SendOutcome(vendor, result=self.vendor.send(message)))
        except VendorUnavailable as exc:
            return Outcome.retry(str(exc)).with_data(SendOutcome(vendor))
        except Exception as exc:  # misconfiguration (unknown vendor) or an adapter bug: retry, bounded
            log.exception("forwarding %s: unexpected error sending", fwd.id)
            return Outcome.retry(f"unexpected error: {exc}").with_data(SendOutcome(vendor))

    def record(self, uow: UnitOfWorkPort, job: Job, outcome: Outcome, now: datetime) -> None:
        self.record_batch(uow, [(job, outcome)], now)

    def record_batch(self, uow: UnitOfWorkPort, items: Sequence[tuple[Job, Outcome]], now: datetime) -> None:
        """The outcomes of a batch: one lock of its forwardings, one write of their state."""
        by_message = uow.forwardings.lock_by_message_ids({job.reference for job, _o in items})
        for job, outcome in items:
            fwd = by_message.get(job.reference)
            if fwd is None:
                job.fail(now, f"no forwarding with message id {job.reference}")
                continue
            sent = outcome.data if isinstance(outcome.data, SendOutcome) else SendOutcome()
            try:
                what = self._transition(job, fwd, outcome, sent, now)
            except IllegalTransition as exc:  # a bug: say so in the job, never loop on it
                log.exception("forwarding %s: outcome not recorded", fwd.id)
                job.fail(now, f"outcome not recorded: {exc}")
                what = "skipped"
            log.info(  # one line per delivery attempt (the message id is its correlation id)
                "delivery %s",
                what,
                extra={
                    "correlation_id": fwd.message_id,
                    "forwarding_id": fwd.id,
                    "vendor_orgnr": sent.vendor_orgnr,
                    "outcome": what,
                    "attempts": fwd.attempts,
                    "sdp_status": str(fwd.status),
                },
            )
        save_forwardings(uow, by_message.values())

    def _transition(
        self, job: Job, fwd: Forwarding, outcome: Outcome, sent: SendOutcome, now: datetime
    ) -> str:
        if fwd.status.final:  # a receipt (or the access point) finished it meanwhile
            job.succeed(now)
            return "settled"
        if fwd.job_state == JobState.AWAITING_RECEIPT:
            if sent.deadline:
                fwd.expire(now)
                job.fail(now, "no receipt from the postbox vendor in time")
                return "expired"
            # a receipt proved the send before this outcome was recorded: the receipt wait goes on
            job.reschedule(now, self.receipt_deadline_seconds)
            return "sent"
        if sent.result is not None:
            what = fwd.record_send(sent.result, sent.vendor_orgnr, now)
            if what == "sent":
                job.reschedule(now, self.receipt_deadline_seconds)  # the receipt wait
            else:
                job.fail(now, f"rejected by the postbox vendor: {sent.result.detail}")
            return what
        if sent.unbuildable is not None or outcome.kind == "fail":
            reason = sent.unbuildable or outcome.error
            fwd.fail(f"Delivery failed: message could not be built ({reason})", now)
            job.fail(now, reason)
            return "failed"
        error = outcome.error or "unknown error"
        fwd.note_retry(error)
        job.retry_later(now, error, self.policy)  # the one retry rule
        if job.status is JobStatus.FAILED:
            fwd.give_up(error, now)
            return "gave_up"
        return "retry"


class Delivery:
    """The vendor's side of delivery outside the jobs: receipts and transport statuses."""

    def __init__(
        self,
        uow_factory: UnitOfWorkPortFactory,
        vendor: PostboxVendor,
        worker_id: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.uow_factory = uow_factory
        self.vendor = vendor
        self.worker_id = worker_id
        self.clock = clock
        self._cursor = 0  # check_transport: the last forwarding id asked about

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
        """Apply the receipts not seen before (by this or any other worker); returns how many. A
        forwarding made final has its ``deliver`` job (waiting for the receipt) finished."""
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
            self._save_and_finish(uow, by_message, now)
            uow.commit()
        return len(fresh)

    def _save_and_finish(self, uow: UnitOfWorkPort, by_message: dict[str, Forwarding], now: datetime) -> None:
        final = [m for m, f in by_message.items() if f.changed and f.status.final]
        save_forwardings(uow, by_message.values())
        uow.jobs.finish(JobKind.DELIVER, final, now)

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
                self._save_and_finish(uow, by_message, now)
                uow.commit()
        return len(failed)

    # -- upkeep -----------------------------------------------------------------------------------
    def heartbeat(self, jobs_done: int) -> None:
        """This worker is alive (the keeper of every worker releases the jobs of silent ones)."""
        with self.uow_factory() as uow:
            uow.monitoring.beat(self.worker_id, self.clock(), jobs_done)
            uow.commit()
