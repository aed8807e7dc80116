"""The Altinn copy of a letter, as the domain sees it (pure, no I/O).

One home: a letter that gets an Altinn copy (the insert plan: no SdpOptions, CopyAltinn, or a
BackupAltinn fallback: ``Forwarding.fall_back_to_altinn``) is published to the configured
``AltinnInbox`` (``ports.py``) by an ``inbox_copy`` job (``jobs.py``); its status comes back through
an ``inbox_status`` job (polled, and woken by Altinn Events). With the ``local`` backend the copy is
our own tables and ``/inbox/``; with ``altinn3`` it is Altinn 3 Correspondence.

Here: :func:`letter` builds the :class:`~.ports.AltinnLetter` from the stored letter (a
:class:`CopySource`), with the letter's first ``Notification`` as Altinn 3's own ``notification``
(texts rendered from our templates; ``TransportType`` → channel; ``...MedRevarsel`` → a reminder);
:func:`status_changes` turns Altinn 3's status history into the contract's ``StatusChangeV2`` entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import notifications as dn
from .model import CorrespondenceStatus
from .ports import AltinnLetter, AltinnNotice, CopyStatus, Document

#: NotificationChannelExt of one TransportType; Email and SMS endpoints of one Notification: both
CHANNELS = {
    dn.TransportType.EMAIL: "Email",
    dn.TransportType.SMS: "Sms",
    dn.TransportType.BOTH: "EmailAndSms",
    dn.TransportType.EMAIL_PREFERRED: "EmailPreferred",
    dn.TransportType.SMS_PREFERRED: "SmsPreferred",
}
#: Altinn 3 statuses that are Altinn 2's CorrespondenceStatusTypeV2 values (the rest have no name there)
STATUS_MAP = {
    "Read": CorrespondenceStatus.READ,
    "Confirmed": CorrespondenceStatus.CONFIRMED,
    "Reserved": CorrespondenceStatus.RESERVED,
}
#: after these the copy's status no longer changes in a way the contract reports
FINAL = frozenset({"Confirmed", "Reserved", "Failed", "PurgedByRecipient", "PurgedByAltinn", "Archived"})


@dataclass(frozen=True)
class CopySource:
    """What the repository reads for one letter's copy."""

    correspondence_id: int
    owner_orgnr: str
    owner_name: str
    system_user_code: str
    reference: str
    service_code: str
    service_edition: int
    resource_id: str | None
    requires_confirmation: bool
    reportee: str
    language_code: str
    title: str
    summary: str | None
    body: str | None
    visible_date_time: datetime | None
    due_date_time: datetime | None
    allow_forwarding: bool | None
    contract_fields: dict[str, Any]
    attachments: tuple[Document, ...] = field(default_factory=tuple)


class MissingResource(Exception):
    """The owner has not mapped this service edition to an Altinn 3 resource."""

    def __init__(self, service_code: str, service_edition: int) -> None:
        self.service_code = service_code
        self.service_edition = service_edition
        super().__init__(
            f"ServiceCode {service_code} / ServiceEdition {service_edition} has no Altinn 3 resource: "
            f"the service owner must map it (innbyggerpost owner add ... --resource "
            f"{service_code}:{service_edition}=<resourceId>)"
        )


def may_get_a_copy(sdp_options: Any) -> bool:
    """Whether a letter can ever have an Altinn copy: without SdpOptions, with CopyAltinn, or with
    BackupAltinn (a forward-only letter without it never has one, and needs no Altinn 3 resource)."""
    if sdp_options is None:
        return True
    return sdp_options.sdp_setting != "ForwardOnly" or bool(sdp_options.backup_altinn)


def reply_options(contract_fields: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """``ReplyOptions/ReplyOption/URL`` (LinkURL, LinkText) as stored."""
    options = (contract_fields.get("ReplyOptions") or {}).get("ReplyOption") or []
    out = []
    for option in options if isinstance(options, list) else [options]:
        url = (option or {}).get("URL") or {}
        href = (url.get("LinkURL") or "").strip()
        if href:
            out.append((href, (url.get("LinkText") or "").strip()))
    return tuple(out)


def notice(
    requests: Sequence[dn.NotificationRequest],
    templates: dn.TemplateLibrary,
    letter_fields: dict[str, str],
    letter_language: str | None,
) -> AltinnNotice | None:
    """Altinn 3 takes one notification per correspondence: the first ``Notification`` of the letter,
    its endpoints' transport types combined into one channel, its first addresses as the custom
    recipient (none given: Altinn uses its own contact register, as we would use KRR)."""
    if not requests:
        return None
    req = requests[0]
    types = []
    for ep in req.receiver_end_points or (dn.ReceiverEndPoint("Email"),):
        try:
            types.append(dn.TransportType(ep.transport_type or "Email"))
        except ValueError:
            continue
    if not types:
        return None
    channels = {CHANNELS[t] for t in types}
    channel = channels.pop() if len(channels) == 1 else "EmailAndSms"
    email = next(
        (
            ep.receiver_address
            for ep in req.receiver_end_points
            if ep.receiver_address and "@" in ep.receiver_address
        ),
        None,
    )
    mobile = next(
        (
            ep.receiver_address
            for ep in req.receiver_end_points
            if ep.receiver_address and "@" not in ep.receiver_address
        ),
        None,
    )
    lang = dn.language_of(req.language_code, letter_language)

    def text(ch: dn.Channel, reminder: bool) -> dn.Text:
        return templates.render(
            req.notification_type, lang, ch, req.text_tokens, letter_fields, reminder=reminder
        )

    mail, sms = text(dn.Channel.EMAIL, False), text(dn.Channel.SMS, False)
    rmail, rsms = text(dn.Channel.EMAIL, True), text(dn.Channel.SMS, True)
    return AltinnNotice(
        channel=channel,
        email_subject=mail.subject,
        email_body=mail.body,
        sms_body=sms.body,
        send_reminder=req.has_reminder,
        reminder_email_subject=rmail.subject,
        reminder_email_body=rmail.body,
        reminder_sms_body=rsms.body,
        requested_send_time=req.shipment_date_time,
        email_address=email,
        mobile_number=mobile,
    )


def letter(source: CopySource, templates: dn.TemplateLibrary | None, inbox_url: str = "") -> AltinnLetter:
    """The AltinnLetter of a stored letter (``MissingResource`` when the service has no resource)."""
    if not source.resource_id:
        raise MissingResource(source.service_code, source.service_edition)
    fields = source.contract_fields or {}
    note = None
    if templates is not None:
        note = notice(
            dn.parse_requests(fields.get("Notifications")),
            templates,
            {
                "title": source.title,
                "sender": source.owner_name,
                "reportee": source.reportee,
                "inbox_url": inbox_url,
            },
            source.language_code,
        )
    return AltinnLetter(
        owner_orgnr=source.owner_orgnr,
        system_user_code=source.system_user_code,
        reference=source.reference,
        resource_id=source.resource_id,
        reportee=source.reportee,
        title=source.title,
        summary=source.summary,
        body=source.body,
        language_code=source.language_code,
        visible_date_time=source.visible_date_time,
        due_date_time=source.due_date_time,
        allow_forwarding=source.allow_forwarding,
        reply_options=reply_options(fields),
        attachments=source.attachments,
        notice=note,
        ignore_reservation=True,  # we decided from KRR at insert that the letter goes to the inbox
        confirmation_needed=source.requires_confirmation,
        message_sender=str(fields.get("MessageSender") or "") or None,
    )


def status_changes(
    status: CopyStatus, known: Iterable[tuple[str, datetime]]
) -> list[tuple[CorrespondenceStatus, datetime]]:
    """Altinn 3's history as new ``StatusChangeV2`` entries: each contract status once, with Altinn's
    time, those already recorded (``known``: (status, date)) left out; ``Confirmed`` implies ``Read``."""
    seen = {s for s, _d in known}
    out: list[tuple[CorrespondenceStatus, datetime]] = []
    for s, when in sorted(status.history, key=lambda h: h[1]):
        mapped = STATUS_MAP.get(s)
        if mapped is None or str(mapped) in seen:
            continue
        if mapped is CorrespondenceStatus.CONFIRMED and str(CorrespondenceStatus.READ) not in seen:
            out.append((CorrespondenceStatus.READ, when))
            seen.add(str(CorrespondenceStatus.READ))
        out.append((mapped, when))
        seen.add(str(mapped))
    return out


def final(status: CopyStatus, confirmation_needed: bool) -> bool:
    """No more polling: confirmed, reserved, failed or gone; or read where no confirmation is asked."""
    names = {s for s, _t in status.history} | {status.status}
    if names & FINAL:
        return True
    return "Read" in names and not confirmation_needed
