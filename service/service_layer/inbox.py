"""Use cases of the citizen's Altinn inbox (``/inbox/``): list, open (records ``Read`` once),
download an attachment, confirm (records ``Confirmed`` where the service edition asks for it).

``reportees`` is always the set the signed-in person may act for (their own fødselsnummer and the
organisations they represent); a letter of any other reportee is "not found", never "forbidden".
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..adapters import orm
from ..domain.model import CorrespondenceStatus
from .unit_of_work import UnitOfWork

READ = CorrespondenceStatus.READ
CONFIRMED = CorrespondenceStatus.CONFIRMED


@dataclass(frozen=True)
class ReplyLink:
    text: str
    url: str


@dataclass(frozen=True)
class AttachmentInfo:
    attachment_id: int
    file_name: str
    name: str | None
    size: int


@dataclass(frozen=True)
class LetterSummary:
    letter_id: int
    reportee: str
    sender: str
    title: str
    created: datetime
    visible: datetime | None
    due: datetime | None
    status: str
    unread: bool


@dataclass(frozen=True)
class Letter:
    summary: LetterSummary
    message_summary: str | None
    body: str | None  # as sent (HTML); the entrypoint sanitises it for display
    attachments: tuple[AttachmentInfo, ...]
    reply_links: tuple[ReplyLink, ...]
    needs_confirmation: bool
    confirmed: datetime | None
    read: datetime | None


@dataclass(frozen=True)
class AttachmentFile:
    file_name: str
    content_type: str  # from the file name's extension; application/octet-stream when unknown
    data: bytes


def _first(c: orm.Correspondence, status: str) -> datetime | None:
    return next((ch.status_date for ch in c.status_changes if ch.status == status), None)


def _summary(c: orm.Correspondence, names: dict[int, str]) -> LetterSummary:
    return LetterSummary(
        letter_id=c.id,
        reportee=c.reportee,
        sender=names.get(c.owner_id, ""),
        title=c.message_title,
        created=c.created_at,
        visible=c.visible_date_time,
        due=c.due_date_time,
        status=c.altinn_status or "",
        unread=_first(c, READ) is None,
    )


def reply_links(contract_fields: dict[str, Any]) -> tuple[ReplyLink, ...]:
    """``ReplyOptions/ReplyOption/URL`` (LinkText, LinkURL) as stored; only http(s) links."""
    options = (contract_fields.get("ReplyOptions") or {}).get("ReplyOption") or []
    links = []
    for option in options:
        url = (option or {}).get("URL") or {}
        href = (url.get("LinkURL") or "").strip()
        if href.lower().startswith(("https://", "http://")):
            links.append(ReplyLink(text=(url.get("LinkText") or href).strip(), url=href))
    return tuple(links)


def list_letters(
    uow_factory: Callable[[], UnitOfWork], reportees: Collection[str], now: datetime | None = None
) -> list[LetterSummary]:
    now = now or datetime.now(UTC)
    with uow_factory().for_reading() as uow:
        rows = uow.inbox.letters(reportees, now)
        names = uow.inbox.owner_names({c.owner_id for c in rows})
        return [_summary(c, names) for c in rows]


def _letter(uow: UnitOfWork, c: orm.Correspondence) -> Letter:
    names = uow.inbox.owner_names({c.owner_id})
    needs = bool(uow.inbox.confirmation_required({(c.service_code, c.service_edition)}))
    return Letter(
        summary=_summary(c, names),
        message_summary=c.message_summary,
        body=c.message_body,
        attachments=tuple(
            AttachmentInfo(a.id, a.file_name, a.name, len(a.data or b"")) for a in c.attachments
        ),
        reply_links=reply_links(c.contract_fields or {}),
        needs_confirmation=needs,
        confirmed=_first(c, CONFIRMED),
        read=_first(c, READ),
    )


def open_letter(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    now: datetime | None = None,
) -> Letter | None:
    """The letter, after recording ``Read`` if this is its first opening. None: not in this inbox."""
    now = now or datetime.now(UTC)
    with uow_factory().for_reading() as uow:
        c = uow.inbox.letter(letter_id, reportees, now)
        if c is None:
            return None
        if _first(c, READ) is not None:
            return _letter(uow, c)
    with uow_factory() as uow:
        c = uow.inbox.letter(letter_id, reportees, now, for_update=True)
        if c is None:
            return None
        if _first(c, READ) is None:  # checked again under the row lock: recorded once
            uow.inbox.add_status(c, READ, now)
            uow.commit()
        return _letter(uow, c)


def confirm_letter(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    now: datetime | None = None,
) -> bool | None:
    """Record ``Confirmed`` (once). None: not in this inbox; False: this letter takes no confirmation."""
    now = now or datetime.now(UTC)
    with uow_factory() as uow:
        c = uow.inbox.letter(letter_id, reportees, now, for_update=True)
        if c is None:
            return None
        if not uow.inbox.confirmation_required({(c.service_code, c.service_edition)}):
            return False
        if _first(c, READ) is None:
            uow.inbox.add_status(c, READ, now)
        if _first(c, CONFIRMED) is None:
            uow.inbox.add_status(c, CONFIRMED, now)
        uow.commit()
        return True


def attachment(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    attachment_id: int,
    now: datetime | None = None,
) -> AttachmentFile | None:
    now = now or datetime.now(UTC)
    with uow_factory().for_reading() as uow:
        if uow.inbox.letter(letter_id, reportees, now) is None:
            return None
        a = uow.inbox.attachment(letter_id, attachment_id)
        if a is None:
            return None
        content_type = mimetypes.guess_type(a.file_name or "")[0] or "application/octet-stream"
        return AttachmentFile(file_name=a.file_name, content_type=content_type, data=bytes(a.data or b""))
