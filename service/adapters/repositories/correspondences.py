"""The records of ``InsertCorrespondenceV2``: receipts, letters (with attachments) and forwarding records.

One accepted insert is stored by :meth:`CorrespondenceRepository.add` with plain INSERT statements
on the session's DB-API connection (``adapters/batch_insert.py``: SQL rendered once per table, one
``executemany`` per table per group commit; this is the hottest write of the service). Receipts are
read back for repeats by their idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ...domain.insert import InsertPlan
from ...domain.jobs import JobKind, NewJob
from ...domain.receipt import Receipt
from .. import orm
from ..batch_insert import insert_rows
from ..db import duplicate_keys
from .jobs import JOBS as J
from .jobs import job_rows
from .notifications import insert_planned_many

R = cast(Table, orm.Receipt.__table__)
C = cast(Table, orm.Correspondence.__table__)
A = cast(Table, orm.Attachment.__table__)
CS = cast(Table, orm.CorrespondenceStatusChange.__table__)
F = cast(Table, orm.Forwarding.__table__)
FS = cast(Table, orm.SdpStatusChange.__table__)


_ONE_RECEIPT = select(R).where(
    R.c.system_user_code == bindparam("code"),
    R.c.external_shipment_reference == bindparam("ref"),
    R.c.parent_id.is_(None),
)
_SUB_RECEIPTS = select(R).where(R.c.parent_id.in_(bindparam("ids", expanding=True))).order_by(R.c.id)


def _receipt(row: Any, subs: tuple[Receipt, ...] = ()) -> Receipt:
    return Receipt(
        receipt_id=row.id,
        status_code=row.status_code,
        text=row.text,
        history=row.history,
        last_changed=row.last_changed,
        references=tuple((a, b) for a, b in row.references),
        parent_receipt_id=row.parent_id or 0,
        sub_receipts=subs,
    )


class CorrespondenceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- reading --------------------------------------------------------------------------------
    def receipts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Receipt]:
        """Main receipts (with sub-receipts) by (SystemUserCode, ExternalShipmentReference)."""
        wanted = list(dict.fromkeys(keys))
        conn = self.session.connection()  # Core execution: the ORM layer adds nothing to these reads
        if len(wanted) > 1:  # the group commit's batch: nearly always no repeat at all
            found = _stored_keys(conn, wanted)
            wanted = [key for key in wanted if key in found]
            if not wanted:
                return {}
        rows: list[Any] = []
        if len(wanted) == 1:  # the hot path: one request's repeat check, a prepared statement
            rows = list(conn.execute(_ONE_RECEIPT, {"code": wanted[0][0], "ref": wanted[0][1]}))
        else:
            for i in range(0, len(wanted), 400):
                cond = tuple_(R.c.system_user_code, R.c.external_shipment_reference).in_(wanted[i : i + 400])
                rows += conn.execute(select(R).where(cond, R.c.parent_id.is_(None)))
        if not rows:
            return {}
        subs: dict[int, list[Receipt]] = {}
        ids = [r.id for r in rows]
        for i in range(0, len(ids), 400):
            for sub in conn.execute(_SUB_RECEIPTS, {"ids": ids[i : i + 400]}):
                subs.setdefault(sub.parent_id, []).append(_receipt(sub))
        return {
            (r.system_user_code, r.external_shipment_reference): _receipt(r, tuple(subs.get(r.id, ())))
            for r in rows
        }

    def receipt(self, system_user_code: str, reference: str) -> Receipt | None:
        return self.receipts([(system_user_code, reference)]).get((system_user_code, reference))

    # -- writing --------------------------------------------------------------------------------
    def add(self, plan: InsertPlan) -> Receipt:
        """Store one accepted insert (:meth:`add_many` of one)."""
        return self.add_many([plan])[0]

    def add_many(self, plans: Sequence[InsertPlan]) -> list[Receipt]:
        """Store accepted inserts of distinct keys together: ONE ``executemany`` per table for all
        of them (:func:`~service.adapters.batch_insert.insert_rows`: the ids in the order of the
        rows), whatever their number: a group commit of 256 letters is about eight statements
        instead of eight per letter. The
        unique (SystemUserCode, ExternalShipmentReference) index raises
        :class:`~service.domain.ports.DuplicateKey` on a concurrent repeat at the first statement
        (the receipts), as one letter's insert does."""
        if not plans:
            return []
        with duplicate_keys():
            return self._add_many(plans)

    def _add_many(self, plans: Sequence[InsertPlan]) -> list[Receipt]:
        s = self.session.connection()

        def common(plan: InsertPlan) -> dict[str, Any]:
            return {
                "owner_id": plan.owner_id,
                "system_user_code": plan.system_user_code,
                "external_shipment_reference": plan.external_shipment_reference,
            }

        def shipment(plan: InsertPlan) -> dict[str, Any]:
            return {
                **common(plan),
                "service_code": plan.service_code,
                "service_edition": plan.service_edition,
                "reportee": plan.reportee,
            }

        receipt_ids = insert_rows(
            s, R, [_receipt_row(common(p), None, p.receipt, p.now) for p in plans], returning=True
        )
        sub_rows = [
            (i, sub, _receipt_row(common(p), receipt_ids[i], sub, p.now))
            for i, p in enumerate(plans)
            for sub in p.receipt.sub_receipts
        ]
        sub_ids = insert_rows(s, R, [row for _, _, row in sub_rows], returning=True)
        subs: dict[int, list[Receipt]] = {}
        for (i, sub, _), sub_id in zip(sub_rows, sub_ids, strict=True):
            subs.setdefault(i, []).append(
                Receipt(
                    sub_id,
                    sub.status_code,
                    sub.text,
                    sub.history,
                    plans[i].now,
                    sub.references,
                    receipt_ids[i],
                )
            )

        lettered = [i for i, p in enumerate(plans) if p.correspondence is not None]
        corr_rows = []
        for i in lettered:
            p = plans[i]
            letter = p.correspondence
            assert letter is not None
            corr_rows.append(
                {
                    **shipment(p),
                    "receipt_id": receipt_ids[i],
                    "language_code": letter.language_code,
                    "message_title": letter.message_title,
                    "message_summary": letter.message_summary,
                    "message_body": letter.message_body,
                    "custom_message_data": letter.custom_message_data,
                    "visible_date_time": letter.visible_date_time,
                    "due_date_time": letter.due_date_time,
                    "archive_reference": letter.archive_reference,
                    "is_reservable": letter.is_reservable,
                    "allow_forwarding": letter.allow_forwarding,
                    "contract_fields": letter.contract_fields,
                    "altinn_status": letter.altinn_status,
                    "notification_sent": False,
                    "created_at": p.now,
                }
            )
        corr_ids: dict[int, int] = dict(
            zip(lettered, insert_rows(s, C, corr_rows, returning=True), strict=True)
        )
        attachments: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        jobs: list[NewJob] = []
        notifications: list[tuple[int, Sequence[Any], str | None, datetime]] = []
        for i, corr_id in corr_ids.items():
            p = plans[i]
            letter = p.correspondence
            assert letter is not None
            attachments += [
                {
                    "correspondence_id": corr_id,
                    "file_name": a.file_name or "",
                    "name": a.name,
                    "function_type": a.function_type,
                    "destination_type": a.destination_type,
                    "encrypted": a.encrypted,
                    "senders_reference": a.senders_reference,
                    "data": a.data,
                }
                for a in letter.attachments
            ]
            if letter.altinn_status is not None:
                changes.append(
                    {"correspondence_id": corr_id, "status": letter.altinn_status, "status_date": p.now}
                )
            if (
                p.inbox_copy
            ):  # the Altinn copy's job, committed with the letter (service_layer/altinn_copy.py)
                jobs.append(NewJob(JobKind.INBOX_COPY, str(corr_id), p.now))
            if p.notifications:  # committed with the letter (service_layer/notify.py sends them)
                notifications.append((corr_id, p.notifications, letter.language_code, p.now))
        # One statement per table for the whole batch (batch_insert.py); the notifications' send
        # jobs and the deliver jobs go with the other jobs.
        insert_rows(s, A, attachments)
        insert_rows(s, CS, changes)
        jobs += [  # a forwarding to send: its deliver job (service_layer/delivery.py), with the letter
            NewJob(JobKind.DELIVER, p.forwarding.message_id, p.now)
            for p in plans
            if p.forwarding is not None and p.forwarding.forward
        ]
        _, job_dicts = insert_planned_many(s, notifications)
        # stamped with each letter's own time (job_rows stamps one time per call)
        job_dicts += [row for job in jobs for row in job_rows([job], job.run_after)]
        insert_rows(s, J, job_dicts)

        forwarded = [i for i, p in enumerate(plans) if p.forwarding is not None]
        fwd_rows = []
        for i in forwarded:
            p = plans[i]
            fwd = p.forwarding
            assert fwd is not None
            options = fwd.sdp_options.to_record()
            if fwd.krr_contact:
                options["krr"] = fwd.krr_contact
            fwd_rows.append(
                {
                    **shipment(p),
                    "receipt_id": receipt_ids[i],
                    "correspondence_id": corr_ids.get(i),
                    "sdp_setting": fwd.sdp_options.sdp_setting or "",
                    "backup_altinn": fwd.sdp_options.backup_altinn,
                    "options": options,
                    "vendor_orgnr": fwd.vendor_orgnr,
                    "postkasseadresse": fwd.postkasseadresse,
                    "postbox_certificate": fwd.postbox_certificate,
                    "message_id": fwd.message_id,
                    "conversation_id": fwd.conversation_id,
                    "status": fwd.status,
                    "created_at": p.now,
                    "last_changed": p.now,
                    "attempts": 0,
                    "last_error": None,
                }
            )
        fwd_ids = insert_rows(s, F, fwd_rows, returning=True)
        fwd_changes = []
        for i, fwd_id in zip(forwarded, fwd_ids, strict=True):
            fwd = plans[i].forwarding
            assert fwd is not None
            if fwd.status != "Unknown":
                fwd_changes.append(
                    {
                        "forwarding_id": fwd_id,
                        "status": fwd.status,
                        "status_date": plans[i].now,
                        "text": fwd.status_text,
                    }
                )
        insert_rows(s, FS, fwd_changes)
        return [
            Receipt(
                receipt_ids[i],
                p.receipt.status_code,
                p.receipt.text,
                p.receipt.history,
                p.now,
                p.receipt.references,
                0,
                tuple(subs.get(i, ())),
            )
            for i, p in enumerate(plans)
        ]


def _stored_keys(conn: Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``keys`` have a main receipt: the group commit's repeat check of a whole batch on
    the DB-API cursor, one indexed statement per system user (``ix`` on the two key columns), with
    a fixed text on PostgreSQL (``= ANY(array)``: one prepared statement) and an ``IN`` list on
    SQLite (its statement cache keeps one per list length). Receipts are read in full (SQLAlchemy
    Core, types processed) only for the keys found, so a batch without repeats costs one cheap
    statement instead of a compiled SELECT and its result rows."""
    refs: dict[str, list[str]] = {}
    for code, ref in keys:
        refs.setdefault(code, []).append(ref)
    found: set[tuple[str, str]] = set()
    sqlite = conn.dialect.name == "sqlite"
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for code, wanted in refs.items():
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                if sqlite:
                    marks = ", ".join("?" * len(chunk))
                    cursor.execute(_KEYS_SQLITE.format(marks), (code, *chunk))
                else:
                    cursor.execute(_KEYS_POSTGRES, (code, chunk))
                found.update((code, ref) for (ref,) in cursor.fetchall())
    finally:
        cursor.close()
    return found


_KEYS = (
    "SELECT external_shipment_reference FROM receipts WHERE parent_id IS NULL AND system_user_code = {}"
    " AND external_shipment_reference {}"
)
_KEYS_SQLITE = _KEYS.format("?", "IN ({})")
_KEYS_POSTGRES = _KEYS.format("%s", "= ANY(%s)")


def _receipt_row(common: dict[str, Any], parent_id: int | None, r: Receipt, now: datetime) -> dict[str, Any]:
    return {
        **common,
        "parent_id": parent_id,
        "status_code": r.status_code,
        "text": r.text,
        "history": r.history,
        "last_changed": now,
        "references": [list(ref) for ref in r.references],
    }
