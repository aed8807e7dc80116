"""Use cases of the citizen's Altinn inbox (``/inbox/``): list, view, open (records ``Read`` once, on
the citizen's explicit request, never on a plain view), download an attachment (streamed from the
database in chunks), confirm (records ``Confirmed`` where the service edition asks for it), and the
server-side sessions (sign-in, sign-out, expiry).

``reportees`` is always the set the signed-in person may act for (their own fødselsnummer and the
organisations they represent); a letter of any other reportee is "not found", never "forbidden".
``level`` is the security level the person signed in with: a letter whose service edition needs a
higher one is listed and shown by title, but its body, attachments, Read and Confirm need a new
sign-in at that level.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.inbox import InboxLetter, SessionRow
from ..domain.model import CorrespondenceStatus
from ..domain.security_level import DEFAULT as SECURITY_DEFAULT
from ..domain.security_level import SecurityLevel
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
    security_level: SecurityLevel = SECURITY_DEFAULT  # the sign-in it needs to be opened


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
    size: int
    chunks: Iterator[bytes]  # each chunk read in its own short transaction (no connection held)


CHUNK_BYTES = 256 * 1024


def _summary(
    c: InboxLetter, names: dict[int, str], levels: dict[tuple[str, int], SecurityLevel] | None = None
) -> LetterSummary:
    return LetterSummary(
        letter_id=c.letter_id,
        reportee=c.reportee,
        sender=names.get(c.owner_id, ""),
        title=c.title,
        created=c.created,
        visible=c.visible,
        due=c.due,
        status=c.altinn_status or "",
        unread=c.read is None,
        security_level=(levels or {}).get(c.service, SECURITY_DEFAULT),
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
        letters = uow.inbox.letters(reportees, now)
        names = uow.inbox.owner_names({c.owner_id for c in letters})
        levels = uow.inbox.security_levels({c.service for c in letters})
        return [_summary(c, names, levels) for c in letters]


def _letter(uow: UnitOfWork, c: InboxLetter) -> Letter:
    names = uow.inbox.owner_names({c.owner_id})
    needs = bool(uow.inbox.confirmation_required({c.service}))
    return Letter(
        summary=_summary(c, names, uow.inbox.security_levels({c.service})),
        message_summary=c.summary,
        body=c.body,
        attachments=tuple(
            AttachmentInfo(a.attachment_id, a.file_name, a.name, a.size)
            for a in uow.inbox.attachments(c.letter_id)
        ),
        reply_links=reply_links(c.contract_fields),
        needs_confirmation=needs,
        confirmed=c.confirmed,
        read=c.read,
    )


def view_letter(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    now: datetime | None = None,
) -> Letter | None:
    """The letter as it is; records nothing (a GET, an image or a prefetch must never mark it Read).
    None: not in this inbox."""
    now = now or datetime.now(UTC)
    with uow_factory().for_reading() as uow:
        c = uow.inbox.letter(letter_id, reportees, now)
        return None if c is None else _letter(uow, c)


def open_letter(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    level: SecurityLevel,
    now: datetime | None = None,
) -> bool | None:
    """The citizen opens the letter (an explicit, CSRF-checked request): record ``Read`` if this is
    its first opening. None: not in this inbox; False: the sign-in's level is too low for it."""
    now = now or datetime.now(UTC)
    with uow_factory() as uow:
        c = uow.inbox.letter(letter_id, reportees, now, for_update=True)
        if c is None:
            return None
        if not level.allows(uow.inbox.security_levels({c.service}).popitem()[1]):
            return False
        if c.read is None:  # checked under the row lock: recorded once
            uow.inbox.add_status(c.letter_id, READ, now)
            uow.commit()
        return True


def confirm_letter(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    level: SecurityLevel,
    now: datetime | None = None,
) -> bool | None:
    """Record ``Confirmed`` (once). None: not in this inbox; False: this letter takes no confirmation
    or the sign-in's level is too low for it."""
    now = now or datetime.now(UTC)
    with uow_factory() as uow:
        c = uow.inbox.letter(letter_id, reportees, now, for_update=True)
        if c is None:
            return None
        if not level.allows(uow.inbox.security_levels({c.service}).popitem()[1]):
            return False
        if not uow.inbox.confirmation_required({c.service}):
            return False
        if c.read is None:
            uow.inbox.add_status(c.letter_id, READ, now)
        if c.confirmed is None:
            uow.inbox.add_status(c.letter_id, CONFIRMED, now)
        uow.commit()
        return True


def attachment(
    uow_factory: Callable[[], UnitOfWork],
    reportees: Collection[str],
    letter_id: int,
    attachment_id: int,
    level: SecurityLevel,
    now: datetime | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> AttachmentFile | None:
    """The attachment as a stream of chunks. None: not in this inbox (or the level is too low)."""
    now = now or datetime.now(UTC)
    with uow_factory().for_reading() as uow:
        c = uow.inbox.letter(letter_id, reportees, now)
        if c is None:
            return None
        if not level.allows(uow.inbox.security_levels({c.service}).popitem()[1]):
            return None
        found = uow.inbox.attachments(letter_id, attachment_id)
        if not found:
            return None
    a = found[0]
    content_type = mimetypes.guess_type(a.file_name or "")[0] or "application/octet-stream"

    def chunks() -> Iterator[bytes]:
        # A slow reader holds no database connection between chunks, and at most one chunk in memory.
        for offset in range(0, a.size, chunk_bytes):
            with uow_factory().for_reading() as uow:
                data = uow.inbox.attachment_chunk(a.attachment_id, offset, chunk_bytes)
            if not data:
                return
            yield data

    return AttachmentFile(file_name=a.file_name, content_type=content_type, size=a.size, chunks=chunks())


# -- sessions ---------------------------------------------------------------------------------------
def _session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(
    uow_factory: Callable[[], UnitOfWork],
    pid: str,
    sign_in_mode: str,
    level: SecurityLevel,
    lifetime_seconds: float,
    now: datetime | None = None,
) -> str:
    """A new signed-in session; returns its id (random, 256 bits) for the browser's signed cookie.
    Only its SHA-256 is stored."""
    now = now or datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    with uow_factory() as uow:
        uow.inbox.purge_sessions(now - timedelta(days=1))
        uow.inbox.add_session(
            _session_key(session_id), pid, sign_in_mode, level, now, now + timedelta(seconds=lifetime_seconds)
        )
        uow.commit()
    return session_id


def session(
    uow_factory: Callable[[], UnitOfWork], session_id: str, sign_in_mode: str, now: datetime | None = None
) -> SessionRow | None:
    """The live session with this id, if it was started in this sign-in mode (a demo session is
    nothing to an ID-porten inbox and vice versa), is not revoked and has not expired."""
    now = now or datetime.now(UTC)
    with uow_factory().for_reading() as uow:
        row = uow.inbox.live_session(_session_key(session_id), now)
    return row if row is not None and row.sign_in_mode == sign_in_mode else None


def end_session(uow_factory: Callable[[], UnitOfWork], session_id: str, now: datetime | None = None) -> None:
    """Sign-out: the session is revoked for good, whatever copies of its cookie exist."""
    now = now or datetime.now(UTC)
    with uow_factory() as uow:
        uow.inbox.revoke_session(_session_key(session_id), now)
        uow.commit()
