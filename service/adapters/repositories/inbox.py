"""Repository for the inbox (``uow.inbox``): the letters with an Altinn copy that a person may see.

A letter is in the inbox when it has an Altinn copy (``altinn_status`` not NULL), is not ``Reserved``
and is visible (``visible_date_time`` NULL or passed). Everything here filters by the reportees the
caller may act for, so a letter of someone else is simply not found.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from ...domain.model import CorrespondenceStatus
from .. import orm

C = orm.Correspondence


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

    def letters(self, reportees: Collection[str], now: datetime) -> Sequence[orm.Correspondence]:
        """Newest first."""
        if not reportees:
            return []
        stmt = select(C).where(_in_inbox(reportees, now)).order_by(C.created_at.desc(), C.id.desc())
        return list(self.session.scalars(stmt))

    def letter(
        self, letter_id: int, reportees: Collection[str], now: datetime, for_update: bool = False
    ) -> orm.Correspondence | None:
        if not reportees:
            return None
        stmt = select(C).where(C.id == letter_id, _in_inbox(reportees, now))
        if for_update:
            stmt = stmt.with_for_update()  # no-op on SQLite (BEGIN IMMEDIATE already serialises writers)
        return self.session.scalar(stmt)

    def attachment(self, letter_id: int, attachment_id: int) -> orm.Attachment | None:
        A = orm.Attachment
        return self.session.scalar(select(A).where(A.id == attachment_id, A.correspondence_id == letter_id))

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

    def add_status(self, letter: orm.Correspondence, status: str, when: datetime) -> None:
        """Append a StatusChangeV2 and make it the letter's current status."""
        letter.status_changes.append(orm.CorrespondenceStatusChange(status=status, status_date=when))
        letter.altinn_status = status
        self.session.flush()
