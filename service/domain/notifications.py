"""Altinn notifications (the contract's ``Notifications/Notification``): pure rules, no I/O.

What is sent, to whom and when, for a letter that has an Altinn inbox copy:

- one ``Notification`` of the request becomes one message per channel its ``ReceiverEndPoint`` asks
  for (``TransportType`` ``Email``, ``SMS``, ``Both``, ``EmailPreferred``, ``SMSPreferred``);
- the address is the endpoint's ``ReceiverAddress``; without one, a person's KRR ``epostadresse`` /
  ``mobiltelefonnummer`` (never when KRR says ``KAN_IKKE_VARSLES``); an organisation without an
  address gets a "no address" outcome;
- the message is due at ``ShipmentDateTime`` (or at once), never before the letter's ``VisibleDateTime``;
- a ``NotificationType`` whose name contains ``MedRevarsel`` sends one reminder a number of days after
  the first message, only while the letter is unread (not ``Read``/``Confirmed``);
- texts come from a template per ``NotificationType`` and language (``LanguageCode``), with
  ``TextTokens`` substituted (``{0}``, ``{1}``, … by ``TokenNum``) and a few letter fields
  (``{title}``, ``{sender}``, ``{reportee}``, ``{inbox_url}``).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .jobs import JobKind, NewJob
from .ports import Person


class TransportType(enum.StrEnum):  # the contract's TransportType (IM is not supported)
    SMS = "SMS"
    EMAIL = "Email"
    BOTH = "Both"
    SMS_PREFERRED = "SMSPreferred"
    EMAIL_PREFERRED = "EmailPreferred"


class Channel(enum.StrEnum):
    """What one message goes over; reported as the status answer's ``TransportType``."""

    EMAIL = "Email"
    SMS = "SMS"


class NotificationState(enum.StrEnum):
    PENDING = "pending"  # waiting to be due / claimed / retried
    SENT = "sent"
    FAILED = "failed"  # given up after the configured attempts, or refused permanently
    NO_ADDRESS = "no_address"  # nothing to send to (organisation without address, KRR has none)
    SKIPPED = "skipped"  # a reminder for a letter already read, or a letter no longer in the inbox

    @property
    def final(self) -> bool:
        return self is not NotificationState.PENDING


READ_STATUSES = frozenset({"Read", "Confirmed"})
LANGUAGES = ("1044", "2068", "1033")  # bokmål, nynorsk, English
DEFAULT_LANGUAGE = "1044"
DEFAULT_TEMPLATE = "default"
REMINDER_MARK = "MedRevarsel"


# -- the request, as stored ---------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiverEndPoint:
    transport_type: str | None
    receiver_address: str | None = None


@dataclass(frozen=True)
class NotificationRequest:
    """One ``Notification`` of ``InsertCorrespondenceV2/Notifications``."""

    from_address: str | None = None
    shipment_date_time: datetime | None = None
    language_code: str | None = None
    notification_type: str | None = None
    text_tokens: tuple[tuple[int, str], ...] = ()
    receiver_end_points: tuple[ReceiverEndPoint, ...] = ()

    @property
    def has_reminder(self) -> bool:
        return has_reminder(self.notification_type)


def has_reminder(notification_type: str | None) -> bool:
    """A type whose name contains ``MedRevarsel`` ("with reminder") sends one reminder."""
    return REMINDER_MARK in (notification_type or "")


def _items(container: Any, name: str) -> list[Any]:
    if not isinstance(container, Mapping):
        return []
    value = container.get(name)
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v is not None]


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def parse_requests(notifications: Any) -> list[NotificationRequest]:
    """``Notifications`` as stored from the request (``{"Notification": [{...}, ...]}``)."""
    out = []
    for n in _items(notifications, "Notification"):
        tokens = []
        for t in _items(n.get("TextTokens"), "TextToken"):
            try:
                tokens.append((int(t.get("TokenNum") or 0), str(t.get("TokenValue") or "")))
            except (TypeError, ValueError):
                continue
        endpoints = tuple(
            ReceiverEndPoint(_text(e.get("TransportType")), _text(e.get("ReceiverAddress")))
            for e in _items(n.get("ReceiverEndPoints"), "ReceiverEndPoint")
        )
        out.append(
            NotificationRequest(
                from_address=_text(n.get("FromAddress")),
                shipment_date_time=_when(n.get("ShipmentDateTime")),
                language_code=_text(n.get("LanguageCode")),
                notification_type=_text(n.get("NotificationType")),
                text_tokens=tuple(tokens),
                receiver_end_points=endpoints,
            )
        )
    return out


# -- addresses ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contact:
    """The contact data we may notify: KRR's, unless KRR says ``KAN_IKKE_VARSLES``."""

    email: str | None = None
    mobile: str | None = None


def contact_from_krr(person: Person | None) -> Contact:
    if person is None or person.status != "AKTIV" or person.varslingsstatus == "KAN_IKKE_VARSLES":
        return Contact()
    return Contact(email=person.epostadresse or None, mobile=person.mobiltelefonnummer or None)


@dataclass(frozen=True)
class Message:
    """One message to send: a channel and an address."""

    channel: Channel
    recipient: str


@dataclass(frozen=True)
class Resolution:
    """What one endpoint becomes: messages, or (none) with the reason why."""

    messages: tuple[Message, ...] = ()
    no_address_reason: str | None = None


def address_channel(address: str) -> Channel:
    return Channel.EMAIL if "@" in address else Channel.SMS


def needs_contact_registry(endpoint: ReceiverEndPoint, reportee_kind: str) -> bool:
    """True when only KRR can tell where this endpoint's messages go."""
    return endpoint.receiver_address is None and reportee_kind == "person"


def resolve(endpoint: ReceiverEndPoint, reportee_kind: str, contact: Contact | None) -> Resolution:
    """Messages for one endpoint. ``contact`` is KRR's (``None``: not looked up; the caller must not
    resolve a person's endpoint without an address before it has KRR's answer)."""
    try:
        tt = TransportType(endpoint.transport_type or "Email")
    except ValueError:
        return Resolution(no_address_reason=f"TransportType {endpoint.transport_type} is not supported")
    if endpoint.receiver_address:
        addr = endpoint.receiver_address
        kind = address_channel(addr)
        if tt is TransportType.SMS and kind is not Channel.SMS:
            return Resolution(no_address_reason=f"ReceiverAddress {addr!r} is not a mobile number")
        if tt is TransportType.EMAIL and kind is not Channel.EMAIL:
            return Resolution(no_address_reason=f"ReceiverAddress {addr!r} is not an e-mail address")
        return Resolution(messages=(Message(kind, addr),))
    if reportee_kind != "person":
        return Resolution(no_address_reason="no address: an organisation reportee needs a ReceiverAddress")
    if contact is None:
        raise ValueError("a person's endpoint without ReceiverAddress needs the KRR contact data")
    email = Message(Channel.EMAIL, contact.email) if contact.email else None
    sms = Message(Channel.SMS, contact.mobile) if contact.mobile else None
    if tt is TransportType.EMAIL:
        chosen: list[Message | None] = [email]
    elif tt is TransportType.SMS:
        chosen = [sms]
    elif tt is TransportType.BOTH:
        chosen = [email, sms]
    elif tt is TransportType.EMAIL_PREFERRED:
        chosen = [email or sms]
    else:
        chosen = [sms or email]
    messages = tuple(m for m in chosen if m is not None)
    if not messages:
        return Resolution(no_address_reason=f"no address: KRR has no usable contact data for {tt.value}")
    return Resolution(messages=messages)


def due_at(shipment: datetime | None, visible: datetime | None, now: datetime) -> datetime:
    """At ``ShipmentDateTime`` or at once, never before the letter is visible."""
    return max(t for t in (shipment, visible, now) if t is not None)


def reminder_due(sent_at: datetime, reminder_days: float) -> datetime:
    return sent_at + timedelta(days=reminder_days)


def reminder_wanted(altinn_status: str | None) -> bool:
    """A reminder only while the letter is in the inbox and unread."""
    return altinn_status is not None and altinn_status != "Reserved" and altinn_status not in READ_STATUSES


def notifiable(altinn_status: str | None) -> bool:
    """A letter gets notifications only when it has an Altinn inbox copy a person can open."""
    return altinn_status is not None and altinn_status != "Reserved"


# -- texts ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    subject: str  # e-mail only
    body: str


@dataclass(frozen=True)
class Template:
    """Texts of one NotificationType in one language."""

    email_subject: str
    email_body: str
    sms: str
    reminder_email_subject: str | None = None
    reminder_email_body: str | None = None
    reminder_sms: str | None = None


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``{name}`` -> value; unknown placeholders become empty (a template never leaks braces)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)


@dataclass
class TemplateLibrary:
    """``{NotificationType: {LanguageCode: Template}}``; ``default`` is used for unknown types."""

    templates: dict[str, dict[str, Template]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str | Path) -> TemplateLibrary:
        """Every ``<NotificationType>.json`` in ``directory``: ``{"1044": {"email_subject": ..., ...}}``."""
        lib = cls()
        for path in sorted(Path(directory).glob("*.json")):
            raw = json.loads(path.read_text(encoding="utf-8"))
            langs: dict[str, Template] = {}
            for lang, t in raw.items():
                if lang.startswith("_"):
                    continue
                langs[lang] = Template(
                    email_subject=t["email_subject"],
                    email_body=t["email_body"],
                    sms=t["sms"],
                    reminder_email_subject=t.get("reminder_email_subject"),
                    reminder_email_body=t.get("reminder_email_body"),
                    reminder_sms=t.get("reminder_sms"),
                )
            lib.templates[path.stem] = langs
        if DEFAULT_TEMPLATE not in lib.templates:
            raise ValueError(f"notification templates in {directory}: {DEFAULT_TEMPLATE}.json is missing")
        return lib

    def names(self) -> list[str]:
        return sorted(self.templates)

    def template(self, notification_type: str | None, language: str | None) -> Template:
        langs = self.templates.get(notification_type or "") or self.templates[DEFAULT_TEMPLATE]
        for lang in (language, DEFAULT_LANGUAGE, *langs):
            if lang and lang in langs:
                return langs[lang]
        raise ValueError(f"template {notification_type!r} has no languages")

    def render(
        self,
        notification_type: str | None,
        language: str | None,
        channel: Channel,
        tokens: Iterable[tuple[int, str]],
        letter: Mapping[str, str],
        reminder: bool = False,
    ) -> Text:
        t = self.template(notification_type, language)
        values = {**letter, **{str(num): value for num, value in tokens}}
        if channel is Channel.SMS:
            body = (t.reminder_sms if reminder else None) or t.sms
            return Text("", " ".join(substitute(body, values).split()))
        subject = (t.reminder_email_subject if reminder else None) or t.email_subject
        body = (t.reminder_email_body if reminder else None) or t.email_body
        # A header never carries a line break.
        text = re.sub(r"\n[ \t]*\n(\s*\n)+", "\n\n", substitute(body, values)).strip()
        return Text(" ".join(substitute(subject, values).split()), text)


def language_of(request_language: str | None, letter_language: str | None) -> str:
    for lang in (request_language, letter_language):
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


# -- the plan for one letter --------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    """One outbox row: a message to send, or an endpoint waiting for KRR, or a final outcome."""

    notification_index: int
    endpoint_index: int
    transport_type: str  # as requested
    due: datetime
    request: NotificationRequest
    message: Message | None = None  # None + no reason: needs the KRR look-up first
    no_address_reason: str | None = None


def plan(
    requests: Sequence[NotificationRequest],
    reportee_kind: str,
    contact: Contact | None,
    visible: datetime | None,
    now: datetime,
) -> list[Planned]:
    out: list[Planned] = []
    for i, req in enumerate(requests):
        due = due_at(req.shipment_date_time, visible, now)
        for j, ep in enumerate(req.receiver_end_points):
            tt = ep.transport_type or TransportType.EMAIL.value
            if needs_contact_registry(ep, reportee_kind) and contact is None:
                out.append(Planned(i, j, tt, due, req))
                continue
            res = resolve(ep, reportee_kind, contact)
            if res.no_address_reason is not None:
                out.append(Planned(i, j, tt, due, req, no_address_reason=res.no_address_reason))
            for m in res.messages:
                out.append(Planned(i, j, tt, due, req, message=m))
    return out


def plan_for_letter(
    notifications: Any, reportee_kind: str, person: Person | None, visible: datetime | None, now: datetime
) -> list[Planned]:
    """The plan for a letter's stored ``Notifications``; ``person``: KRR's answer if a look-up was made
    (``None``: the worker looks the person up when a row needs it)."""
    requests = parse_requests(notifications)
    if not requests:
        return []
    contact = contact_from_krr(person) if person is not None else None
    return plan(requests, reportee_kind, contact, visible, now)


def person_from_krr_record(reportee: str, record: Mapping[str, Any] | None) -> Person | None:
    """KRR's answer as a forwarding stored it (``options["krr"]``); ``None`` when it was stored
    without ``varslingsstatus`` (then the worker asks KRR again when a notification is due)."""
    krr = record or {}
    if "varslingsstatus" not in krr:
        return None
    return Person(
        personidentifikator=reportee,
        status=krr.get("status"),
        varslingsstatus=krr.get("varslingsstatus"),
        epostadresse=krr.get("epostadresse"),
        mobiltelefonnummer=krr.get("mobiltelefonnummer"),
    )


def visible_sender(from_address: str | None, allowed: Sequence[str]) -> str | None:
    """The visible ``From`` of a notification e-mail: its ``FromAddress`` only when that is one of the
    ``allowed`` addresses or lies in an allowed ``@domain`` (``INNBYGGERPOST_NOTIFICATION_FROM_ADDRESSES``),
    else None (the service's own sender). An owner must not make a citizen's mail look as if it came
    from anyone it likes (issue 14)."""
    address = (from_address or "").strip()
    if not address or any(c in address for c in '\r\n<>",; ') or address.count("@") != 1:
        return None
    lowered = address.lower()
    domain = "@" + lowered.rsplit("@", 1)[1]
    for rule in allowed:
        rule = rule.strip().lower()
        if rule and (lowered == rule or (rule.startswith("@") and domain == rule)):
            return address
    return None


# -- the entity ----------------------------------------------------------------------------------
TEXT_LIMIT = 2000


class IllegalNotificationTransition(Exception):
    pass


@dataclass(frozen=True)
class NotifiedLetter:
    """What a notification needs of its letter: the texts' letter fields and the Altinn copy's status."""

    correspondence_id: int
    reportee: str
    title: str
    sender: str  # ``MessageSender``, else the owner's name
    altinn_status: str | None


@dataclass
class AltinnNotification:
    """One message of a letter's Altinn ``Notification`` (one channel of one ``ReceiverEndPoint``), or
    its reminder. Life cycle::

        pending --resolve (KRR)--> pending with channel/recipient (+ more messages) | no_address
        pending --record_sent--> sent (+ its reminder, pending, due reminder_days later)
        pending --retry_later (attempts < max)--> pending, later; (attempts = max) --> failed
        pending --close--> failed (refused) | skipped (letter not in the inbox / already read)

    ``channel`` None: the address comes from KRR (``resolve``). ``id`` None: not stored yet. Every
    transition sets ``changed``; the repository writes the changed ones (``save``)."""

    id: int | None
    correspondence_id: int
    notification_index: int
    endpoint_index: int
    transport_type: str
    language_code: str
    message_id: str
    state: NotificationState = NotificationState.PENDING
    channel: Channel | None = None
    recipient: str | None = None
    from_address: str | None = None
    notification_type: str | None = None
    text_tokens: tuple[tuple[int, str], ...] = ()
    status_text: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    reminder_of: int | None = None
    claimed_by: str | None = None
    changed: bool = False

    @property
    def is_reminder(self) -> bool:
        return self.reminder_of is not None

    def _require_pending(self, what: str) -> None:
        if self.state is not NotificationState.PENDING:
            raise IllegalNotificationTransition(f"notification {self.id} is {self.state}: cannot {what}")

    def another(
        self, message_id: str, due: datetime | None, channel: Channel | None, recipient: str | None
    ) -> AltinnNotification:
        """A new pending message of the same notification (another channel of its endpoint)."""
        return AltinnNotification(
            id=None,
            correspondence_id=self.correspondence_id,
            notification_index=self.notification_index,
            endpoint_index=self.endpoint_index,
            transport_type=self.transport_type,
            language_code=self.language_code,
            message_id=message_id,
            channel=channel,
            recipient=recipient,
            from_address=self.from_address,
            notification_type=self.notification_type,
            text_tokens=self.text_tokens,
            next_attempt_at=due,
            changed=True,
        )

    def resolve(self, contact: Contact, new_message_id: Callable[[], str]) -> list[AltinnNotification]:
        """KRR answered for a message without an address: it becomes its first message (or
        ``no_address``); returns the endpoint's further messages (a ``Both`` endpoint: the SMS)."""
        self._require_pending("resolve")
        res = resolve(ReceiverEndPoint(self.transport_type, None), "person", contact)
        self.claimed_by = None
        self.changed = True
        if res.no_address_reason is not None:
            self.state = NotificationState.NO_ADDRESS
            self.status_text = res.no_address_reason
            self.next_attempt_at = None
            return []
        first, *more = res.messages
        self.channel, self.recipient = first.channel, first.recipient
        return [self.another(new_message_id(), self.next_attempt_at, m.channel, m.recipient) for m in more]

    def skip_reason(self, letter: NotifiedLetter) -> str | None:
        """Why this message must not be sent now that it is due (None: send it)."""
        if not notifiable(letter.altinn_status):
            return f"not sent: the letter is not in the Altinn inbox ({letter.altinn_status})"
        if self.is_reminder and not reminder_wanted(letter.altinn_status):
            return f"no reminder: the letter is {letter.altinn_status}"
        return None

    def record_sent(
        self, now: datetime, attempts: int, reminder_days: float, message_id: str
    ) -> AltinnNotification | None:
        """Sent (its send job succeeded after ``attempts``); returns its reminder (pending, due
        ``reminder_days`` later) for a ``MedRevarsel`` type."""
        self._require_pending("record sent")
        self.state = NotificationState.SENT
        self.sent_at = now
        self.attempts = attempts
        self.status_text = f"sent to {self.recipient}"
        self.next_attempt_at = None
        self.claimed_by = None
        self.changed = True
        if self.is_reminder or not has_reminder(self.notification_type):
            return None
        reminder = self.another(message_id, reminder_due(now, reminder_days), self.channel, self.recipient)
        reminder.reminder_of = self.id
        return reminder

    def close(self, state: NotificationState, text: str, attempts: int | None = None) -> None:
        """A final outcome other than ``sent``: ``failed`` (refused, or given up after ``attempts``),
        ``skipped``."""
        self._require_pending("close")
        if not state.final or state is NotificationState.SENT:
            raise IllegalNotificationTransition(f"notification {self.id}: close as {state}")
        self.state = state
        self.status_text = text[:TEXT_LIMIT]
        if attempts is not None:
            self.attempts = attempts
        self.next_attempt_at = None
        self.claimed_by = None
        self.changed = True

    def retry_at(self, when: datetime, attempts: int, error: str) -> None:
        """A temporary failure: its send job runs again at ``when`` (the jobs' one retry rule)."""
        self._require_pending("retry")
        self.attempts = attempts
        self.status_text = error[:TEXT_LIMIT]
        self.next_attempt_at = when
        self.claimed_by = None
        self.changed = True

    def send_job(self, now: datetime) -> NewJob | None:
        """The job that sends this message (``notification``), once it is stored with an address."""
        if self.id is None or self.state is not NotificationState.PENDING or self.channel is None:
            return None
        return NewJob(JobKind.NOTIFICATION, str(self.id), self.next_attempt_at or now)


@dataclass(frozen=True)
class PlanSource:
    """What planning a letter's notifications reads: its stored ``Notifications`` and KRR answer."""

    correspondence_id: int
    reportee: str
    notifications: Any  # ``Notifications`` as stored from the request
    visible: datetime | None
    language_code: str | None
    altinn_status: str | None
    krr: Mapping[str, Any] | None = None  # the KRR record a forwarding stored (``options["krr"]``)
