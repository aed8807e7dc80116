"""Use cases of the delivery worker: claim forwarding jobs, send to the vendor, apply vendor receipts.

At least once from our side, exactly once as the citizen sees it: every send of a forwarding carries
the same message id (SBDH InstanceIdentifier), and the vendor de-duplicates on it. A job is claimed
with a lease; a worker that dies mid-delivery leaves the lease to run out and another worker resends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..adapters import orm
from ..domain.model import CorrespondenceStatus, SdpStatus
from ..domain.ports import (
    DigitalPostMessage,
    Document,
    Notification,
    PostboxVendor,
    SendStatus,
    VendorReceipt,
    VendorUnavailable,
)
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 60.0
    receipt_deadline_seconds: float = 86400.0

    def next_delay(self, attempts: int) -> float:
        return min(self.backoff_max_seconds, self.backoff_seconds * (2 ** max(0, attempts - 1)))


def _now() -> datetime:
    return datetime.now(UTC)


class Delivery:
    """Every transaction that changes a forwarding locks its row first (``FOR UPDATE`` on PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so a send being recorded and a receipt
    being applied at the same moment cannot overwrite each other."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        vendor: PostboxVendor,
        policy: DeliveryPolicy,
        worker_id: str,
    ) -> None:
        self.uow_factory = uow_factory
        self.vendor = vendor
        self.policy = policy
        self.worker_id = worker_id

    # -- claiming ---------------------------------------------------------------------------------
    def claim(self, max_jobs: int) -> list[int]:
        """Claim due jobs. PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE serialises claimers."""
        now = _now()
        F = orm.Forwarding
        with self.uow_factory() as uow:
            ids = list(
                uow.session.scalars(
                    select(F.id)
                    .where(
                        F.job_state == "pending",
                        F.next_attempt_at <= now,
                        or_(F.claimed_until.is_(None), F.claimed_until < now),
                    )
                    .order_by(F.next_attempt_at, F.id)
                    .limit(max_jobs)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                uow.session.execute(
                    update(F)
                    .where(F.id.in_(ids))
                    .values(
                        claimed_by=self.worker_id,
                        claimed_until=now + timedelta(seconds=self.policy.lease_seconds),
                    )
                )
            uow.commit()
        return ids

    # -- sending ----------------------------------------------------------------------------------
    def _message(self, uow: UnitOfWork, fwd: orm.Forwarding) -> DigitalPostMessage:
        corr = uow.session.get(orm.Correspondence, fwd.correspondence_id) if fwd.correspondence_id else None
        if corr is None:
            raise RuntimeError(f"forwarding {fwd.id} has no stored letter")
        owner = uow.session.get(orm.ServiceOwner, fwd.owner_id)
        assert owner is not None
        opts = fwd.options
        primary_name = opts.get("primary_document_file_name")
        docs = [
            Document(a.file_name, a.name or a.file_name, _mime_type(a.file_name), a.data)
            for a in corr.attachments
        ]
        primary = next(d for d in docs if d.filename == primary_name)
        others = tuple(d for d in docs if d is not primary)
        krr = opts.get("krr") or {}
        notes = []
        for n in opts.get("notifications") or []:
            fallback = krr.get("epostadresse") if n["kind"] == "epost" else krr.get("mobiltelefonnummer")
            notes.append(
                Notification(
                    n["kind"],
                    n.get("text") or "",
                    tuple(n.get("days_delayed") or (0,)),
                    n.get("address") or fallback,
                )
            )
        visible = opts.get("visible_date_time")
        return DigitalPostMessage(
            message_id=fwd.message_id,
            conversation_id=fwd.conversation_id,
            sender_orgnr=owner.organisation_number,
            personidentifikator=fwd.reportee,
            postkasseadresse=fwd.postkasseadresse or "",
            vendor_orgnr=fwd.vendor_orgnr or "",
            title=opts.get("not_sensitive_title") or opts.get("title") or corr.message_title,
            primary=primary,
            attachments=others,
            virkningstidspunkt=datetime.fromisoformat(visible) if visible else corr.visible_date_time,
            language={"1033": "EN", "2068": "NN"}.get(corr.language_code, "NO"),
            notifications=tuple(notes),
        )

    def deliver(self, fwd_id: int) -> str:
        """Send one claimed job. Returns what happened (for logs and counters)."""
        with self.uow_factory().for_reading() as uow:
            fwd = uow.session.get(orm.Forwarding, fwd_id)
            if fwd is None or fwd.job_state != "pending" or fwd.claimed_by != self.worker_id:
                return "skipped"
            try:
                message = self._message(uow, fwd)
            except Exception as exc:  # a letter we cannot build never gets better: fail it permanently
                log.exception("forwarding %s: cannot build the message", fwd_id)
                build_error: Exception | None = exc
            else:
                build_error = None
        if build_error is not None:
            with self.uow_factory() as uow:
                fwd = uow.session.get(orm.Forwarding, fwd_id, with_for_update=True)
                assert fwd is not None
                text = f"Delivery failed: message could not be built ({build_error})"
                self._finish(uow, fwd, SdpStatus.FAILED, text)
                uow.commit()
            return "failed"
        try:
            result = self.vendor.send(message)
        except VendorUnavailable as exc:
            return self._retry_later(fwd_id, str(exc))
        except Exception as exc:  # misconfiguration (unknown vendor) or an adapter bug: retry, bounded
            log.exception("forwarding %s: unexpected error sending", fwd_id)
            return self._retry_later(fwd_id, f"unexpected error: {exc}")
        with self.uow_factory() as uow:
            fwd = uow.session.get(orm.Forwarding, fwd_id, with_for_update=True)
            assert fwd is not None
            if fwd.job_state != "pending":
                return "sent"  # the vendor's receipt was applied first: it already recorded the send
            if result.status == SendStatus.ACCEPTED:
                self._set_status(fwd, SdpStatus.SENT, f"Accepted by {message.vendor_orgnr}")
                fwd.job_state = "awaiting_receipt"
                fwd.attempts += 1
                fwd.next_attempt_at = _now() + timedelta(seconds=self.policy.receipt_deadline_seconds)
                fwd.claimed_by = fwd.claimed_until = None
                outcome = "sent"
            else:
                fwd.attempts += 1
                self._finish(uow, fwd, SdpStatus.FAILED, f"Rejected by the postbox vendor: {result.detail}")
                outcome = "rejected"
            uow.commit()
            return outcome

    def _retry_later(self, fwd_id: int, error: str) -> str:
        with self.uow_factory() as uow:
            fwd = uow.session.get(orm.Forwarding, fwd_id, with_for_update=True)
            assert fwd is not None
            if fwd.job_state != "pending":
                return "skipped"
            fwd.attempts += 1
            fwd.last_error = error[:2000]
            if fwd.attempts >= self.policy.max_attempts:
                self._finish(
                    uow, fwd, SdpStatus.FAILED, f"Delivery failed after {fwd.attempts} attempts: {error}"
                )
                outcome = "gave_up"
            else:
                fwd.next_attempt_at = _now() + timedelta(seconds=self.policy.next_delay(fwd.attempts))
                fwd.claimed_by = fwd.claimed_until = None
                outcome = "retry"
            uow.commit()
            return outcome

    # -- status changes ---------------------------------------------------------------------------
    @staticmethod
    def _set_status(fwd: orm.Forwarding, status: SdpStatus, text: str) -> None:
        now = _now()
        if fwd.status != status:
            fwd.status_changes.append(orm.SdpStatusChange(status=status, status_date=now, text=text[:2000]))
        fwd.status = status
        fwd.last_changed = now

    def _finish(self, uow: UnitOfWork, fwd: orm.Forwarding, status: SdpStatus, text: str) -> None:
        """Final status; on failure with BackupAltinn the letter goes to the Altinn inbox (no letter is lost)."""
        if status == SdpStatus.FAILED and fwd.backup_altinn and fwd.correspondence_id is not None:
            corr = uow.session.get(orm.Correspondence, fwd.correspondence_id)
            if corr is not None and corr.altinn_status is None:
                now = _now()
                corr.altinn_status = CorrespondenceStatus.CREATED
                corr.status_changes.append(
                    orm.CorrespondenceStatusChange(status=CorrespondenceStatus.CREATED, status_date=now)
                )
                text += "; BackupAltinn: the letter is now available in the Altinn inbox"
        self._set_status(fwd, status, text)
        fwd.job_state = "done"
        fwd.claimed_by = fwd.claimed_until = None
        fwd.next_attempt_at = None

    # -- receipts ---------------------------------------------------------------------------------
    def poll_receipts(
        self,
        vendor_orgnr: str,
        max_count: int = 100,
        map_fn: Callable[[Callable[[str], None], list[str]], Iterable[None]] = map,
    ) -> int:
        """Pull queued receipts, store them (one transaction), then acknowledge each (``map_fn`` may
        run the acknowledgements in parallel). Stored before acknowledged: a lost ack only means the
        receipt comes again, and it is then recognised by its id and applied once."""
        receipts = self.vendor.pull_receipts(vendor_orgnr, max_count)
        if not receipts:
            return 0
        try:
            self.apply_receipts(vendor_orgnr, receipts)
        except IntegrityError:  # another worker stored some of them at the same moment: one by one
            for r in receipts:
                self.apply_receipts(vendor_orgnr, [r], tolerate_seen=True)
        list(map_fn(lambda rid: self.vendor.acknowledge(vendor_orgnr, rid), [r.receipt_id for r in receipts]))
        return len(receipts)

    def apply_receipts(
        self, vendor_orgnr: str, receipts: list[VendorReceipt], tolerate_seen: bool = False
    ) -> int:
        """Apply the receipts not seen before; returns how many were new."""
        with self.uow_factory() as uow:
            s = uow.session
            ids = [r.receipt_id for r in receipts]
            seen = set(
                s.scalars(
                    select(orm.VendorReceiptSeen.receipt_id).where(
                        orm.VendorReceiptSeen.vendor_orgnr == vendor_orgnr,
                        orm.VendorReceiptSeen.receipt_id.in_(ids),
                    )
                )
            )
            fresh = [r for r in receipts if r.receipt_id not in seen]
            if not fresh:
                return 0
            by_message = {
                f.message_id: f
                for f in s.scalars(
                    select(orm.Forwarding)
                    .where(orm.Forwarding.message_id.in_({r.message_id for r in fresh}))
                    .order_by(orm.Forwarding.id)  # one lock order for every worker: no deadlocks
                    .with_for_update()
                )
            }
            now = _now()
            for r in fresh:
                s.add(orm.VendorReceiptSeen(vendor_orgnr=vendor_orgnr, receipt_id=r.receipt_id, seen_at=now))
                fwd = by_message.get(r.message_id)
                if fwd is None:
                    log.warning("receipt %s for unknown message %s", r.receipt_id, r.message_id)
                else:
                    self._apply(uow, fwd, vendor_orgnr, r)
            try:
                uow.commit()
            except IntegrityError:
                if not tolerate_seen:
                    raise
                return 0  # applied by another worker meanwhile
            return len(fresh)

    def _apply(self, uow: UnitOfWork, fwd: orm.Forwarding, vendor_orgnr: str, r: VendorReceipt) -> None:
        if SdpStatus(fwd.status).final:
            return
        if r.kind != "feil" and fwd.status != SdpStatus.SENT:
            # The vendor has the letter although our record of the send was lost (a worker died
            # between the vendor's answer and our commit): the receipt proves the send.
            self._set_status(
                fwd, SdpStatus.SENT, f"Accepted by {vendor_orgnr} (known from its {r.kind} receipt)"
            )
        if r.kind == "levering":
            self._set_status(fwd, SdpStatus.DELIVERED, "Delivered to the citizen's postbox")
            fwd.job_state = "done"
            fwd.next_attempt_at = None
        elif r.kind in ("feil", "returpost"):
            detail = f"{r.kind} {r.feiltype or ''} {r.detail}".strip()
            self._finish(uow, fwd, SdpStatus.FAILED, f"Delivery failed: {detail}")

    def expire_overdue(self) -> int:
        """Jobs sent but without any levering/feil receipt after the deadline count as failed."""
        now = _now()
        F = orm.Forwarding
        n = 0
        with self.uow_factory() as uow:
            rows = list(
                uow.session.scalars(
                    select(F)
                    .where(F.job_state == "awaiting_receipt", F.next_attempt_at < now)
                    .limit(100)
                    .with_for_update(skip_locked=True)
                )
            )
            for fwd in rows:
                self._finish(
                    uow, fwd, SdpStatus.FAILED, "Delivery failed: no receipt from the postbox vendor in time"
                )
                n += 1
            uow.commit()
        return n

    def heartbeat(self, jobs_done: int) -> None:
        with self.uow_factory() as uow:
            hb = uow.session.get(orm.WorkerHeartbeat, self.worker_id)
            if hb is None:
                uow.session.add(
                    orm.WorkerHeartbeat(worker_id=self.worker_id, last_seen=_now(), jobs_done=jobs_done)
                )
            else:
                hb.last_seen = _now()
                hb.jobs_done = jobs_done
            uow.commit()


def _mime_type(filename: str) -> str:
    lower = filename.lower()
    for ext, mime in (
        (".pdf", "application/pdf"),
        (".html", "text/html"),
        (".htm", "text/html"),
        (".txt", "text/plain"),
        (".xml", "application/xml"),
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
    ):
        if lower.endswith(ext):
            return mime
    return "application/octet-stream"
