"""Forwardings: bulk loads of the letters of ``deliver`` jobs, locked state for outcomes and vendor
receipts, bulk writes of their state and history, vendor receipts seen.

Sending a forwarding is its ``deliver`` job (``jobs.py``: the one claim with a lease and a fencing
token); this repository holds no claim of its own. Every method runs in the caller's unit of work
(one transaction); none commits.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...domain.forwarding import Forwarding, KrrContact, Letter, StoredAttachment
from ...domain.model import CorrespondenceStatus, SdpOptions, SdpStatus
from ...domain.security_level import DEFAULT as SECURITY_DEFAULT
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
    F.attempts,
    F.backup_altinn,
    F.correspondence_id,
    C.altinn_status,
    F.last_changed,
    F.last_error,
)


def _forwarding(row: Any) -> Forwarding:
    return Forwarding(
        id=row.id,
        message_id=row.message_id,
        status=SdpStatus(row.status),
        attempts=row.attempts,
        backup_altinn=row.backup_altinn,
        correspondence_id=row.correspondence_id,
        altinn_status=CorrespondenceStatus(row.altinn_status) if row.altinn_status else None,
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

    # -- loading -------------------------------------------------------------------------------------
    def letters(self, message_ids: Collection[str], attachments: bool = True) -> list[Letter]:
        """The forwardings of these message ids (their ``deliver`` jobs' references) with their
        letter, attachments and sender: two queries for the whole batch. ``attachments=False``: no
        attachments (``Letter.attachments`` empty), for a caller that loads each letter's bytes when it
        needs them (:meth:`attachments`)."""
        if not message_ids:
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
            .where(F.message_id.in_(list(message_ids)))
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

    def lock_by_message_ids(self, message_ids: Collection[str]) -> dict[str, Forwarding]:
        """Lock and load the forwardings of these message ids (in id order: one lock order for every
        worker, no deadlocks)."""
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
            .where(F.status == str(SdpStatus.SENT), F.last_changed < sent_before, F.id > after_id)
            .order_by(F.id)
            .limit(limit)
        )
        return [(r.id, r.message_id) for r in rows]

    # -- writing -------------------------------------------------------------------------------------
    def save(self, forwardings: Iterable[Forwarding]) -> None:
        """Write the state of the forwardings given (bulk), their new SDP history entries and any
        BackupAltinn copies (their notifications are the use case's: ``delivery.save_forwardings``)."""
        fwds = [f for f in forwardings if f.changed]
        if not fwds:
            return
        t = FORWARDINGS
        values: dict[str, Any] = {
            "status": bindparam("b_status"),
            "attempts": bindparam("b_attempts"),
            "last_changed": bindparam("b_changed", type_=t.c.last_changed.type),
            "last_error": bindparam("b_error"),
        }
        self.session.execute(
            t.update().where(t.c.id == bindparam("b_id")).values(values),
            [
                {
                    "b_id": f.id,
                    "b_status": str(f.status),
                    "b_attempts": f.attempts,
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
