"""Forwardings as delivery jobs: claims with a fencing token, lease renewal and release, bulk loads
of claimed letters, bulk writes of outcomes and vendor receipts.

Claiming: PostgreSQL ``FOR UPDATE SKIP LOCKED`` (claimers never wait for each other); SQLite has one
writer at a time (``BEGIN IMMEDIATE``). Every claim writes a new ``claim_token``; the outcome of a
send is written only for rows that still carry the token they were claimed with (``lock_held``), so
a worker whose claim was released or taken over leaves the row to the new holder.

Every method runs in the caller's unit of work (one transaction); none commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...domain.forwarding import Forwarding, JobState, KrrContact, Letter, StoredAttachment
from ...domain.model import CorrespondenceStatus, SdpOptions, SdpStatus
from ...domain.security_level import DEFAULT as SECURITY_DEFAULT
from ...service_layer.ports import Claim
from .. import orm

F = orm.Forwarding
C = orm.Correspondence
FORWARDINGS = cast(Table, F.__table__)
SDP_STATUS_CHANGES = cast(Table, orm.SdpStatusChange.__table__)
CORRESPONDENCE_STATUS_CHANGES = cast(Table, orm.CorrespondenceStatusChange.__table__)
RECEIPTS_SEEN = cast(Table, orm.VendorReceiptSeen.__table__)
_STATE = (
    F.id,
    F.message_id,
    F.status,
    F.job_state,
    F.attempts,
    F.backup_altinn,
    F.correspondence_id,
    C.altinn_status,
    F.next_attempt_at,
    F.last_changed,
    F.last_error,
)


def _forwarding(row: Any) -> Forwarding:
    return Forwarding(
        id=row.id,
        message_id=row.message_id,
        status=SdpStatus(row.status),
        job_state=JobState(row.job_state) if row.job_state else None,
        attempts=row.attempts,
        backup_altinn=row.backup_altinn,
        correspondence_id=row.correspondence_id,
        altinn_status=CorrespondenceStatus(row.altinn_status) if row.altinn_status else None,
        next_attempt_at=row.next_attempt_at,
        last_changed=row.last_changed,
        last_error=row.last_error,
    )


class ForwardingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _state(self) -> Any:  # Select of _STATE
        return select(*_STATE).outerjoin(C, C.id == F.correspondence_id)

    # -- claims and leases ---------------------------------------------------------------------------
    def claim(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int, running: Collection[int] = ()
    ) -> Claim:
        """Claim up to ``limit`` due jobs (never one of ``running``, the jobs this worker runs)."""
        token = uuid.uuid4().hex
        query = (
            select(F.id)
            .where(
                F.job_state == JobState.PENDING,
                F.next_attempt_at <= now,
                or_(F.claimed_until.is_(None), F.claimed_until < now),
            )
            .order_by(F.next_attempt_at, F.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if running:
            query = query.where(F.id.not_in(list(running)))
        ids = list(self.session.scalars(query))
        if ids:
            self.session.execute(
                update(F)
                .where(F.id.in_(ids))
                .values(
                    claimed_by=worker_id,
                    claimed_until=now + timedelta(seconds=lease_seconds),
                    claim_token=token,
                )
                .execution_options(synchronize_session=False)
            )
        return Claim(token, ids)

    def renew(self, worker_id: str, tokens: Collection[str], until: datetime) -> int:
        """Extend the lease of every job this worker still holds under one of ``tokens``."""
        if not tokens:
            return 0
        held = select(F.id).where(
            F.claimed_by == worker_id, F.claim_token.in_(list(tokens)), F.job_state == JobState.PENDING
        )
        return self._update_unlocked(held, claimed_until=until)

    def release_stale(self, heartbeat_before: datetime, worker_id: str) -> int:
        """Release the claims of workers whose last heartbeat is older than ``heartbeat_before``."""
        H = orm.WorkerHeartbeat
        stale = select(H.worker_id).where(H.last_seen < heartbeat_before, H.worker_id != worker_id)
        orphans = select(F.id).where(
            F.job_state == JobState.PENDING, F.claimed_by.in_(stale.scalar_subquery())
        )
        return self._update_unlocked(orphans, claimed_by=None, claimed_until=None, claim_token=None)

    def _update_unlocked(self, rows: Any, **values: Any) -> int:
        """UPDATE the rows ``rows`` selects, skipping rows another transaction has locked (a job being
        recorded, a receipt being applied: the next heartbeat catches up), locking them in id order:
        upkeep never waits for, or deadlocks with, the delivery transactions."""
        ids = rows.order_by(F.id).with_for_update(skip_locked=True).scalar_subquery()
        result = self.session.execute(
            update(F).where(F.id.in_(ids)).values(**values).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- loading -------------------------------------------------------------------------------------
    def letters(self, ids: Collection[int], attachments: bool = True) -> list[Letter]:
        """Forwardings with their letter, attachments and sender: two queries for the whole batch.
        ``attachments=False``: no attachments (``Letter.attachments`` empty), for a caller that loads
        each letter's bytes when it needs them (:meth:`attachments`)."""
        if not ids:
            return []
        rows = self.session.execute(
            self._state()
            .add_columns(
                F.conversation_id,
                F.reportee,
                F.postkasseadresse,
                F.vendor_orgnr,
                F.postbox_certificate,
                F.options,
                orm.ServiceOwner.organisation_number,
                C.message_title,
                C.visible_date_time,
                C.language_code,
                orm.OwnerService.security_level,
            )
            .join(orm.ServiceOwner, orm.ServiceOwner.id == F.owner_id)
            .outerjoin(
                orm.OwnerService,
                (orm.OwnerService.service_code == F.service_code)
                & (orm.OwnerService.service_edition == F.service_edition),
            )
            .where(F.id.in_(list(ids)))
            .order_by(F.id)
        ).all()
        letter_ids = [r.correspondence_id for r in rows if r.correspondence_id is not None]
        stored = self._attachments(letter_ids) if attachments and letter_ids else {}
        return [
            Letter(
                forwarding=_forwarding(r),
                conversation_id=r.conversation_id,
                reportee=r.reportee,
                postkasseadresse=r.postkasseadresse,
                vendor_orgnr=r.vendor_orgnr,
                postbox_certificate=r.postbox_certificate,
                sdp=SdpOptions.from_record(r.options or {}),
                krr=KrrContact.from_record((r.options or {}).get("krr")),
                sender_orgnr=r.organisation_number,
                message_title=r.message_title,
                visible_date_time=r.visible_date_time,
                language_code=r.language_code,
                attachments=tuple(stored.get(r.correspondence_id, ())),
                security_level=r.security_level or SECURITY_DEFAULT,
            )
            for r in rows
        ]

    def attachments(self, correspondence_id: int) -> tuple[StoredAttachment, ...]:
        """One letter's attachments with their bytes, in stored order."""
        return tuple(self._attachments([correspondence_id]).get(correspondence_id, ()))

    def _attachments(self, letter_ids: Collection[int]) -> dict[int, list[StoredAttachment]]:
        A = orm.Attachment
        out: dict[int, list[StoredAttachment]] = {}
        for a in self.session.execute(
            select(A.correspondence_id, A.file_name, A.name, A.data)
            .where(A.correspondence_id.in_(list(letter_ids)))
            .order_by(A.id)
        ):
            out.setdefault(a.correspondence_id, []).append(StoredAttachment(a.file_name, a.name, a.data))
        return out

    def lock_held(self, held: Mapping[int, str]) -> dict[int, Forwarding]:
        """Lock and load the jobs whose row still carries the claim token (id -> token) given; a job
        whose claim was released or taken over is left out: its outcome is not ours to write."""
        if not held:
            return {}
        rows = self.session.execute(
            self._state()
            .add_columns(F.claim_token)
            .where(F.id.in_(sorted(held)))
            .order_by(F.id)  # one lock order for every worker: no deadlocks
            .with_for_update(of=F)
        )
        return {
            r.id: _forwarding(r) for r in rows if r.claim_token is not None and r.claim_token == held[r.id]
        }

    def lock_by_message_ids(self, message_ids: Collection[str]) -> dict[str, Forwarding]:
        if not message_ids:
            return {}
        rows = self.session.execute(
            self._state().where(F.message_id.in_(list(message_ids))).order_by(F.id).with_for_update(of=F)
        )
        return {r.message_id: _forwarding(r) for r in rows}

    def awaiting_receipt(self, sent_before: datetime, after_id: int, limit: int) -> list[tuple[int, str]]:
        """(id, message id) of sent forwardings still without a receipt, last changed before
        ``sent_before``, in id order after ``after_id`` (a cursor over them)."""
        rows = self.session.execute(
            select(F.id, F.message_id)
            .where(F.job_state == JobState.AWAITING_RECEIPT, F.last_changed < sent_before, F.id > after_id)
            .order_by(F.id)
            .limit(limit)
        )
        return [(r.id, r.message_id) for r in rows]

    def lock_overdue(self, now: datetime, limit: int) -> list[Forwarding]:
        rows = self.session.execute(
            self._state()
            .where(F.job_state == JobState.AWAITING_RECEIPT, F.next_attempt_at < now)
            .order_by(F.id)
            .limit(limit)
            .with_for_update(of=F, skip_locked=True)
        )
        return [_forwarding(r) for r in rows]

    # -- writing -------------------------------------------------------------------------------------
    def save(self, forwardings: Iterable[Forwarding], release_claim: bool = False) -> None:
        """Write the state of the forwardings given (bulk), their new SDP history entries and any
        BackupAltinn copies (their notifications are the use case's: ``delivery.save_forwardings``). ``release_claim``: they were claimed jobs whose outcome this is."""
        fwds = [f for f in forwardings if f.changed or release_claim]
        if not fwds:
            return
        t = FORWARDINGS
        values: dict[str, Any] = {
            "status": bindparam("b_status"),
            "job_state": bindparam("b_job_state"),
            "attempts": bindparam("b_attempts"),
            "next_attempt_at": bindparam("b_next", type_=t.c.next_attempt_at.type),
            "last_changed": bindparam("b_changed", type_=t.c.last_changed.type),
            "last_error": bindparam("b_error"),
        }
        if release_claim:
            values.update(claimed_by=None, claimed_until=None, claim_token=None)
        self.session.execute(
            t.update().where(t.c.id == bindparam("b_id")).values(values),
            [
                {
                    "b_id": f.id,
                    "b_status": str(f.status),
                    "b_job_state": str(f.job_state) if f.job_state else None,
                    "b_attempts": f.attempts,
                    "b_next": f.next_attempt_at,
                    "b_changed": f.last_changed,
                    "b_error": f.last_error,
                }
                for f in fwds
            ],
        )
        changes = [
            {"forwarding_id": f.id, "status": str(c.status), "status_date": c.status_date, "text": c.text}
            for f in fwds
            for c in f.new_changes
        ]
        if changes:
            self.session.execute(insert(SDP_STATUS_CHANGES), changes)
        copies = [f for f in fwds if f.altinn_copy_created is not None and f.correspondence_id is not None]
        if copies:
            self.session.execute(
                update(C)
                .where(C.id.in_([f.correspondence_id for f in copies]), C.altinn_status.is_(None))
                .values(altinn_status=CorrespondenceStatus.CREATED)
                .execution_options(synchronize_session=False)
            )
            self.session.execute(
                insert(CORRESPONDENCE_STATUS_CHANGES),
                [
                    {
                        "correspondence_id": f.correspondence_id,
                        "status": str(CorrespondenceStatus.CREATED),
                        "status_date": f.altinn_copy_created,
                    }
                    for f in copies
                ],
            )
        for f in fwds:
            f.new_changes.clear()
            f.altinn_copy_created = None
            f.changed = False

    # -- vendor receipts -----------------------------------------------------------------------------
    def first_sightings(self, vendor_orgnr: str, receipt_ids: Collection[str], now: datetime) -> set[str]:
        """Record the receipts as seen; returns those not seen before (by anyone: a concurrent
        transaction storing the same receipt makes this one wait, then skip it)."""
        if not receipt_ids:
            return set()
        t = RECEIPTS_SEEN
        rows = [
            {"vendor_orgnr": vendor_orgnr, "receipt_id": r, "seen_at": now} for r in sorted(set(receipt_ids))
        ]
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        stmt = (
            dialect_insert(t)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["vendor_orgnr", "receipt_id"])
            .returning(t.c.receipt_id)
        )
        return set(self.session.scalars(stmt))
