"""Repository of the notifications outbox (``notifications`` table); the unit of work exposes it as
``uow.notifications``. Claims use ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) plus a lease
(``claimed_until``); on SQLite the writer lock taken at ``BEGIN IMMEDIATE`` serialises claimers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from ...domain import notifications as dn
from ...domain.status import NotificationView
from ...domain.validation import reportee_kind
from .. import orm
from .keys import among, chunks

N = orm.NotificationRow


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: orm.NotificationRow) -> None:
        self.session.add(row)

    def add_planned(
        self,
        correspondence_id: int,
        planned: Sequence[dn.Planned],
        letter_language: str | None,
        now: datetime,
    ) -> int:
        """The outbox rows of a letter's planned notifications (plain INSERTs, in the caller's
        transaction: they commit with the letter)."""
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
        if rows:
            self.session.execute(insert(N), rows)
        return len(rows)

    def schedule_backup_copies(self, correspondence_ids: Sequence[int], now: datetime) -> int:
        """Notifications of letters that just got their Altinn copy through BackupAltinn (in the
        transaction that creates the copy), with the KRR answer the forwarding stored at insert."""
        C, F = orm.Correspondence, orm.Forwarding
        added = 0
        rows = self.session.execute(
            select(C.id, C.reportee, C.contract_fields, C.visible_date_time, C.language_code, F.options)
            .join(F, F.correspondence_id == C.id)
            .where(C.id.in_(list(correspondence_ids)))
        )
        for cid, reportee, fields, visible, language, options in rows:
            if self.exist_for(cid):
                continue
            planned = dn.plan_for_letter(
                (fields or {}).get("Notifications"),
                reportee_kind(reportee) or "person",
                dn.person_from_krr_record(reportee, (options or {}).get("krr")),
                visible,
                now,
            )
            added += self.add_planned(cid, planned, language, now)
        return added

    def exist_for(self, correspondence_id: int) -> bool:
        return (
            self.session.scalar(select(N.id).where(N.correspondence_id == correspondence_id).limit(1))
            is not None
        )

    def get(self, notification_id: int, lock: bool = False) -> orm.NotificationRow | None:
        return self.session.get(N, notification_id, with_for_update=lock)

    def letter(self, correspondence_id: int, lock: bool = False) -> orm.Correspondence | None:
        return self.session.get(orm.Correspondence, correspondence_id, with_for_update=lock)

    def owner_name(self, owner_id: int) -> str:
        owner = self.session.get(orm.ServiceOwner, owner_id)
        return owner.name if owner is not None else ""

    def _claim(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int, resolved: bool
    ) -> list[int]:
        stmt = (
            select(N.id)
            .where(
                N.state == "pending",
                N.next_attempt_at <= now,
                N.channel.is_not(None) if resolved else N.channel.is_(None),
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

    def claim_due(self, worker_id: str, now: datetime, lease_seconds: float, limit: int) -> list[int]:
        """Due messages with an address, reserved for ``worker_id`` until the lease runs out."""
        return self._claim(worker_id, now, lease_seconds, limit, resolved=True)

    def claim_unresolved(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[tuple[orm.NotificationRow, str]]:
        """Due rows whose address only KRR knows, with the letter's reportee."""
        ids = self._claim(worker_id, now, lease_seconds, limit, resolved=False)
        if not ids:
            return []
        rows = self.session.execute(
            select(N, orm.Correspondence.reportee)
            .join(orm.Correspondence, orm.Correspondence.id == N.correspondence_id)
            .where(N.id.in_(ids))
            .order_by(N.id)
        )
        return [(row, reportee) for row, reportee in rows]

    def release(self, ids: Sequence[int]) -> None:
        if ids:
            self.session.execute(update(N).where(N.id.in_(ids)).values(claimed_by=None, claimed_until=None))

    def for_correspondences(self, ids: Sequence[int]) -> dict[int, list[orm.NotificationRow]]:
        out: dict[int, list[orm.NotificationRow]] = {}
        wanted = list(ids)
        for i in range(0, len(wanted), 500):
            for row in self.session.scalars(
                select(N).where(N.correspondence_id.in_(wanted[i : i + 500])).order_by(N.id)
            ):
                out.setdefault(row.correspondence_id, []).append(row)
        return out

    def status_views(self, correspondence_ids: Sequence[int]) -> dict[int, tuple[NotificationView, ...]]:
        """``Notifications`` of the status answers: sent, given up and no-address rows, in order."""
        out: dict[int, list[NotificationView]] = {}
        ids = list(correspondence_ids)
        reported = (dn.NotificationState.SENT, dn.NotificationState.FAILED, dn.NotificationState.NO_ADDRESS)
        states = [r.value for r in reported]
        for chunk in chunks(self.session, ids):
            for cid, recipient, sent_at, channel, tt in self.session.execute(
                select(N.correspondence_id, N.recipient, N.sent_at, N.channel, N.transport_type)
                .where(among(self.session, N.correspondence_id, chunk), N.state.in_(states))
                .order_by(N.id)
            ):
                out.setdefault(cid, []).append(NotificationView(recipient, sent_at, channel or tt))
        return {cid: tuple(v) for cid, v in out.items()}
