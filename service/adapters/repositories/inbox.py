"""Repository for the inbox (``uow.inbox``): the letters with an Altinn copy that a person may see.

A letter is in the inbox when it has an Altinn copy (``altinn_status`` not NULL), is not ``Reserved``
and is visible (``visible_date_time`` NULL or passed). Everything here filters by the reportees the
caller may act for, so a letter of someone else is simply not found.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ...domain.inbox import AttachmentRow, InboxLetter, SessionRow
from ...domain.model import CorrespondenceStatus
from ...domain.security_level import DEFAULT as SECURITY_DEFAULT
from ...domain.security_level import SecurityLevel
from .. import orm

C = orm.Correspondence
A = orm.Attachment
CS = orm.CorrespondenceStatusChange
_LETTER_COLUMNS = (
    C.id,
    C.owner_id,
    C.external_shipment_reference,
    C.reportee,
    C.service_code,
    C.service_edition,
    C.message_title,
    C.message_summary,
    C.message_body,
    C.created_at,
    C.visible_date_time,
    C.due_date_time,
    C.altinn_status,
    C.contract_fields,
)


def _in_inbox(reportees: Collection[str], now: datetime) -> ColumnElement[bool]:
    return and_(
        C.reportee.in_(list(reportees)),
        C.altinn_status.is_not(None),
        C.altinn_status != CorrespondenceStatus.RESERVED.value,
        or_(C.visible_date_time.is_(None), C.visible_date_time <= now),
    )


class InboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _letters(self, stmt: Any) -> list[InboxLetter]:
        rows = self.session.execute(stmt).all()
        firsts: dict[tuple[int, str], datetime] = {}
        if rows:
            for cid, status, when in self.session.execute(
                select(CS.correspondence_id, CS.status, CS.status_date)
                .where(
                    CS.correspondence_id.in_([r.id for r in rows]),
                    CS.status.in_([CorrespondenceStatus.READ.value, CorrespondenceStatus.CONFIRMED.value]),
                )
                .order_by(CS.id)
            ):
                firsts.setdefault((cid, status), when)
        return [
            InboxLetter(
                letter_id=r.id,
                owner_id=r.owner_id,
                reference=r.external_shipment_reference,
                reportee=r.reportee,
                service_code=r.service_code,
                service_edition=r.service_edition,
                title=r.message_title or "",
                summary=r.message_summary,
                body=r.message_body,
                created=r.created_at,
                visible=r.visible_date_time,
                due=r.due_date_time,
                altinn_status=r.altinn_status,
                read=firsts.get((r.id, CorrespondenceStatus.READ.value)),
                confirmed=firsts.get((r.id, CorrespondenceStatus.CONFIRMED.value)),
                contract_fields=dict(r.contract_fields or {}),
            )
            for r in rows
        ]

    def letters(self, reportees: Collection[str], now: datetime) -> list[InboxLetter]:
        """Newest first."""
        if not reportees:
            return []
        return self._letters(
            select(*_LETTER_COLUMNS)
            .where(_in_inbox(reportees, now))
            .order_by(C.created_at.desc(), C.id.desc())
        )

    def letter(
        self, letter_id: int, reportees: Collection[str], now: datetime, for_update: bool = False
    ) -> InboxLetter | None:
        if not reportees:
            return None
        stmt = select(*_LETTER_COLUMNS).where(C.id == letter_id, _in_inbox(reportees, now))
        if for_update:
            # no-op on SQLite (BEGIN IMMEDIATE already serialises writers)
            stmt = stmt.with_for_update(of=C)
        found = self._letters(stmt)
        return found[0] if found else None

    def attachments(self, letter_id: int, attachment_id: int | None = None) -> list[AttachmentRow]:
        """The letter's attachments (or the one asked for) without their bytes; size from the database."""
        stmt = select(A.id, A.file_name, A.name, func.length(A.data)).where(A.correspondence_id == letter_id)
        if attachment_id is not None:
            stmt = stmt.where(A.id == attachment_id)
        rows = self.session.execute(stmt.order_by(A.id))
        return [AttachmentRow(i, f, n, int(size or 0)) for i, f, n, size in rows]

    def attachment_chunk(self, attachment_id: int, offset: int, size: int) -> bytes:
        """``size`` bytes of the attachment from ``offset`` (0-based): the whole file is never in
        memory. SQLite: incremental blob I/O (its ``substr`` loads the whole blob for every call);
        PostgreSQL: ``substr`` on the bytea."""
        connection = self.session.connection()
        raw = connection.connection.driver_connection if connection.dialect.name == "sqlite" else None
        if raw is not None and hasattr(raw, "blobopen"):
            try:
                with raw.blobopen("attachments", "data", attachment_id, readonly=True) as blob:
                    blob.seek(offset)
                    return bytes(blob.read(size))
            except sqlite3.OperationalError:  # no such row (deleted meanwhile)
                return b""
        chunk = self.session.scalar(
            select(func.substr(A.data, offset + 1, size)).where(A.id == attachment_id)
        )
        return bytes(chunk or b"")

    def security_levels(self, pairs: Collection[tuple[str, int]]) -> dict[tuple[str, int], SecurityLevel]:
        """The security level of each (ServiceCode, ServiceEdition); 3 for editions not registered."""
        if not pairs:
            return {}
        S = orm.OwnerService
        wanted = set(pairs)
        rows = self.session.execute(
            select(S.service_code, S.service_edition, S.security_level).where(
                S.service_code.in_({c for c, _ in wanted})
            )
        )
        found = {(c, e): SecurityLevel(lv) for c, e, lv in rows if (c, e) in wanted}
        return {p: found.get(p, SECURITY_DEFAULT) for p in wanted}

    # -- sessions (server-side: sign-out and expiry end them whatever the browser still holds) ----
    def add_session(
        self, key: str, pid: str, sign_in_mode: str, level: SecurityLevel, now: datetime, expires: datetime
    ) -> None:
        self.session.add(
            orm.InboxSession(
                id=key,
                pid=pid,
                sign_in_mode=sign_in_mode,
                security_level=int(level),
                created_at=now,
                expires_at=expires,
            )
        )
        self.session.flush()

    def live_session(self, key: str, now: datetime) -> SessionRow | None:
        S = orm.InboxSession
        row = self.session.scalar(select(S).where(S.id == key, S.revoked_at.is_(None), S.expires_at > now))
        if row is None:
            return None
        return SessionRow(row.pid, row.sign_in_mode, SecurityLevel(row.security_level), row.expires_at)

    def revoke_session(self, key: str, now: datetime) -> None:
        S = orm.InboxSession
        self.session.execute(update(S).where(S.id == key, S.revoked_at.is_(None)).values(revoked_at=now))

    def purge_sessions(self, before: datetime) -> int:
        """Forget sessions that ended (expired) before ``before``."""
        S = orm.InboxSession
        result = self.session.execute(delete(S).where(S.expires_at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    def owner_names(self, owner_ids: Collection[int]) -> dict[int, str]:
        if not owner_ids:
            return {}
        O = orm.ServiceOwner  # noqa: E741
        rows = self.session.execute(select(O.id, O.name).where(O.id.in_(list(owner_ids))))
        return {i: n for i, n in rows}

    def confirmation_required(self, pairs: Collection[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of these (ServiceCode, ServiceEdition) need the citizen's confirmation."""
        if not pairs:
            return set()
        S = orm.OwnerService
        codes = {c for c, _ in pairs}
        rows = self.session.execute(
            select(S.service_code, S.service_edition).where(
                S.service_code.in_(codes), S.requires_confirmation.is_(True)
            )
        )
        return {(c, e) for c, e in rows if (c, e) in set(pairs)}

    def add_status(self, letter_id: int, status: str, when: datetime) -> None:
        """Append a StatusChangeV2 and make it the letter's current status."""
        self.session.execute(insert(CS).values(correspondence_id=letter_id, status=status, status_date=when))
        self.session.execute(
            update(C)
            .where(C.id == letter_id)
            .values(altinn_status=status)
            .execution_options(synchronize_session=False)
        )
