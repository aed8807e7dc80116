"""Repository of the Altinn notifications (``notifications`` table) as domain entities
(``domain.notifications.AltinnNotification``); the unit of work exposes it as ``uow.notifications``.

A message with an address is stored with its send job (``jobs``, kind ``notification``: claimed,
leased, fenced and retried by the one job mechanism, service_layer/jobs.py). Messages whose address
only KRR knows are claimed here for the batched KRR look-up (``claim_unresolved``: ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL plus a lease; on SQLite the writer lock taken at ``BEGIN IMMEDIATE``
serialises claimers); a look-up has no effect outside, so a lapsed lease only repeats it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ...domain import notifications as dn
from ...domain.jobs import JobKind, NewJob
from .. import orm
from ..batch_insert import insert_rows
from .jobs import JOBS, job_rows

N = orm.NotificationRow
NOTIFICATIONS = cast(Table, N.__table__)


def notification_rows(
    correspondence_id: int, planned: Sequence[dn.Planned], letter_language: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The outbox rows of a letter's planned notifications (for a plain INSERT)."""
    rows: list[dict[str, Any]] = []
    for p in planned:
        final = p.no_address_reason is not None
        rows.append(
            {
                "correspondence_id": correspondence_id,
                "notification_index": p.notification_index,
                "endpoint_index": p.endpoint_index,
                "reminder_of": None,
                "transport_type": p.transport_type,
                "channel": p.message.channel.value if p.message else None,
                "recipient": p.message.recipient if p.message else None,
                "from_address": p.request.from_address,
                "notification_type": p.request.notification_type,
                "language_code": dn.language_of(p.request.language_code, letter_language),
                "text_tokens": [list(t) for t in p.request.text_tokens],
                "message_id": str(uuid.uuid4()),
                "state": dn.NotificationState.NO_ADDRESS.value
                if final
                else dn.NotificationState.PENDING.value,
                "status_text": p.no_address_reason or "",
                "attempts": 0,
                "next_attempt_at": None if final else p.due,
                "claimed_by": None,
                "claimed_until": None,
                "sent_at": None,
                "created_at": now,
            }
        )
    return rows


def insert_planned(
    conn: Connection,
    correspondence_id: int,
    planned: Sequence[dn.Planned],
    letter_language: str | None,
    now: datetime,
) -> int:
    """Store a letter's planned notifications, each message with an address together with its send
    job (``notification``); in the caller's transaction. Returns the number of rows."""
    rows, jobs = insert_planned_many(conn, [(correspondence_id, planned, letter_language, now)])
    if jobs:
        conn.execute(insert(JOBS), jobs)
    return rows


def insert_planned_many(
    conn: Connection,
    letters: Sequence[tuple[int, Sequence[dn.Planned], str | None, datetime]],
) -> tuple[int, list[dict[str, Any]]]:
    """Store the planned notifications of many letters (``(correspondence_id, planned, letter
    language, now)`` each) with ONE multi-row INSERT; returns the number of rows and the ``jobs``
    rows of their send jobs, for the caller to insert (with its other jobs, in one statement)."""
    rows: list[dict[str, Any]] = []
    stamps: list[datetime] = []
    for correspondence_id, planned, language, now in letters:
        more = notification_rows(correspondence_id, planned, language, now)
        rows += more
        stamps += [now] * len(more)
    if not rows:
        return 0, []
    ids = insert_rows(conn, NOTIFICATIONS, rows, returning=True)  # one executemany (batch_insert.py)
    jobs = [
        job
        for notification_id, row, now in zip(ids, rows, stamps, strict=True)
        if row["state"] == dn.NotificationState.PENDING.value and row["channel"] is not None
        for job in job_rows([NewJob(JobKind.NOTIFICATION, str(notification_id), row["next_attempt_at"])], now)
    ]
    return len(rows), jobs


def _entity(row: orm.NotificationRow) -> dn.AltinnNotification:
    return dn.AltinnNotification(
        id=row.id,
        correspondence_id=row.correspondence_id,
        notification_index=row.notification_index,
        endpoint_index=row.endpoint_index,
        transport_type=row.transport_type,
        language_code=row.language_code,
        message_id=row.message_id,
        state=dn.NotificationState(row.state),
        channel=dn.Channel(row.channel) if row.channel else None,
        recipient=row.recipient,
        from_address=row.from_address,
        notification_type=row.notification_type,
        text_tokens=tuple((int(n), str(v)) for n, v in (row.text_tokens or [])),
        status_text=row.status_text or "",
        attempts=row.attempts or 0,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        reminder_of=row.reminder_of,
        claimed_by=row.claimed_by,
    )


def _new_row(n: dn.AltinnNotification, now: datetime) -> dict[str, Any]:
    return {
        "correspondence_id": n.correspondence_id,
        "notification_index": n.notification_index,
        "endpoint_index": n.endpoint_index,
        "reminder_of": n.reminder_of,
        "transport_type": n.transport_type,
        "channel": n.channel.value if n.channel else None,
        "recipient": n.recipient,
        "from_address": n.from_address,
        "notification_type": n.notification_type,
        "language_code": n.language_code,
        "text_tokens": [list(t) for t in n.text_tokens],
        "message_id": n.message_id,
        "state": n.state.value,
        "status_text": n.status_text,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "claimed_by": None,
        "claimed_until": None,
        "sent_at": n.sent_at,
        "created_at": now,
    }


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_planned(
        self,
        correspondence_id: int,
        planned: Sequence[dn.Planned],
        letter_language: str | None,
        now: datetime,
    ) -> int:
        """The outbox rows of a letter's planned notifications and their send jobs (plain INSERTs,
        in the caller's transaction: they commit with the letter)."""
        return insert_planned(self.session.connection(), correspondence_id, planned, letter_language, now)

    def plan_sources(self, correspondence_ids: Sequence[int]) -> list[dn.PlanSource]:
        """What planning these letters' notifications reads (with the KRR answer their forwarding
        stored at insert, if any); letters that have notification rows already are left out."""
        if not correspondence_ids:
            return []
        C, F = orm.Correspondence, orm.Forwarding
        rows = self.session.execute(
            select(
                C.id,
                C.reportee,
                C.contract_fields,
                C.visible_date_time,
                C.language_code,
                C.altinn_status,
                F.options,
            )
            .outerjoin(F, F.correspondence_id == C.id)
            .where(C.id.in_(list(correspondence_ids)))
            .order_by(C.id)
        )
        return [
            dn.PlanSource(
                correspondence_id=cid,
                reportee=reportee,
                notifications=(fields or {}).get("Notifications"),
                visible=visible,
                language_code=language,
                altinn_status=altinn_status,
                krr=(options or {}).get("krr"),
            )
            for cid, reportee, fields, visible, language, altinn_status, options in rows
            if not self.exist_for(cid)
        ]

    def skip_pending(self, correspondence_ids: Collection[int], text: str) -> list[int]:
        """These letters' pending messages are not ours to send (Altinn 3 sends them with the copy):
        ``skipped``; returns their ids (their send jobs are the caller's to cancel)."""
        if not correspondence_ids:
            return []
        ids = list(
            self.session.scalars(
                select(N.id).where(N.correspondence_id.in_(list(correspondence_ids)), N.state == "pending")
            )
        )
        if ids:
            self.session.execute(
                update(N)
                .where(N.id.in_(ids))
                .values(state="skipped", status_text=text, claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
        return ids

    def exist_for(self, correspondence_id: int) -> bool:
        return (
            self.session.scalar(select(N.id).where(N.correspondence_id == correspondence_id).limit(1))
            is not None
        )

    def get(self, notification_id: int, lock: bool = False) -> dn.AltinnNotification | None:
        stmt = select(N).where(N.id == notification_id)
        row = self.session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        return None if row is None else _entity(row)

    def by_ids(self, notification_ids: Collection[int]) -> dict[int, dn.AltinnNotification]:
        if not notification_ids:
            return {}
        return {
            r.id: _entity(r) for r in self.session.scalars(select(N).where(N.id.in_(list(notification_ids))))
        }

    def letters(self, correspondence_ids: Collection[int]) -> dict[int, dn.NotifiedLetter]:
        """The letters' fields the texts use (``MessageSender``, else the owner's name) and their
        Altinn copies' status."""
        if not correspondence_ids:
            return {}
        C, O = orm.Correspondence, orm.ServiceOwner  # noqa: E741
        rows = self.session.execute(
            select(C.id, C.reportee, C.message_title, C.contract_fields, C.altinn_status, O.name)
            .outerjoin(O, O.id == C.owner_id)
            .where(C.id.in_(list(correspondence_ids)))
        )
        return {
            r.id: dn.NotifiedLetter(
                r.id,
                r.reportee,
                r.message_title or "",
                str((r.contract_fields or {}).get("MessageSender") or r.name or ""),
                r.altinn_status,
            )
            for r in rows
        }

    def letter(self, correspondence_id: int) -> dn.NotifiedLetter | None:
        return self.letters([correspondence_id]).get(correspondence_id)

    def mark_notified(self, correspondence_id: int) -> None:
        """The letter's ``NotificationSent`` (a notification of it was sent)."""
        C = orm.Correspondence
        self.session.execute(
            update(C)
            .where(C.id == correspondence_id)
            .values(notification_sent=True)
            .execution_options(synchronize_session=False)
        )

    def save(self, notifications: Sequence[dn.AltinnNotification], now: datetime) -> None:
        """Insert the new ones (``id`` None: their ids are set) and update the changed ones; every
        transition ends the claim, so a changed notification is written unclaimed."""
        for n in notifications:
            if n.id is None:
                n.id = self.session.execute(insert(N).returning(N.id), _new_row(n, now)).scalar_one()
                n.changed = False
        changed = [n for n in notifications if n.changed]
        if changed:
            t = NOTIFICATIONS
            self.session.execute(
                t.update()
                .where(t.c.id == bindparam("b_id"))
                .values(
                    state=bindparam("b_state"),
                    channel=bindparam("b_channel"),
                    recipient=bindparam("b_recipient"),
                    status_text=bindparam("b_text"),
                    attempts=bindparam("b_attempts"),
                    next_attempt_at=bindparam("b_next", type_=t.c.next_attempt_at.type),
                    sent_at=bindparam("b_sent", type_=t.c.sent_at.type),
                    claimed_by=None,
                    claimed_until=None,
                ),
                [
                    {
                        "b_id": n.id,
                        "b_state": n.state.value,
                        "b_channel": n.channel.value if n.channel else None,
                        "b_recipient": n.recipient,
                        "b_text": n.status_text,
                        "b_attempts": n.attempts,
                        "b_next": n.next_attempt_at,
                        "b_sent": n.sent_at,
                    }
                    for n in changed
                ],
            )
        for n in changed:
            n.changed = False

    def _claim_unresolved(self, worker_id: str, now: datetime, lease_seconds: float, limit: int) -> list[int]:
        stmt = (
            select(N.id)
            .where(
                N.state == "pending",
                N.next_attempt_at <= now,
                N.channel.is_(None),
                or_(N.claimed_until.is_(None), N.claimed_until < now),
            )
            .order_by(N.next_attempt_at, N.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(self.session.scalars(stmt))
        if ids:
            self.session.execute(
                update(N)
                .where(N.id.in_(ids))
                .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=lease_seconds))
            )
        return ids

    def claim_unresolved(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[tuple[dn.AltinnNotification, str]]:
        """Due rows whose address only KRR knows, with the letter's reportee."""
        ids = self._claim_unresolved(worker_id, now, lease_seconds, limit)
        if not ids:
            return []
        rows = self.session.execute(
            select(N, orm.Correspondence.reportee)
            .join(orm.Correspondence, orm.Correspondence.id == N.correspondence_id)
            .where(N.id.in_(ids))
            .order_by(N.id)
        )
        return [(_entity(row), reportee) for row, reportee in rows]

    def for_correspondences(self, ids: Sequence[int]) -> dict[int, list[dn.AltinnNotification]]:
        out: dict[int, list[dn.AltinnNotification]] = {}
        wanted = list(ids)
        for i in range(0, len(wanted), 500):
            for row in self.session.scalars(
                select(N).where(N.correspondence_id.in_(wanted[i : i + 500])).order_by(N.id)
            ):
                out.setdefault(row.correspondence_id, []).append(_entity(row))
        return out
