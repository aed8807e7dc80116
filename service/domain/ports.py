"""Interfaces the domain owns for the outside world (KRR, the postbox vendors through DPI, storage's one
error).

The adapters in ``clients/`` implement them with zeep; tests and the worker depend only on these.
Names follow the contracts: KRR's ``Person`` fields (oppslagstjeneste 16-02) and SDP's
``digitalPost`` / ``kvittering`` / ``feil`` (sdp schema_v10).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class DuplicateKey(Exception):
    """A write met a unique key already stored (another writer stored the same thing first): our
    storage adapters raise this instead of the database library's integrity error."""


class RegistryUnavailable(Exception):
    """KRR could not be reached or answered with a fault/garbage after the bounded retries."""


@dataclass(frozen=True)
class Person:
    """One KRR ``Person`` as returned by ``HentPersoner``."""

    personidentifikator: str
    status: str | None = None  # AKTIV | SLETTET | IKKE_REGISTRERT
    reservasjon: str | None = None  # JA | NEI
    varslingsstatus: str | None = None  # KAN_VARSLES | KAN_IKKE_VARSLES
    epostadresse: str | None = None
    mobiltelefonnummer: str | None = None
    postkasseadresse: str | None = None
    postkasseleverandoer_adresse: str | None = None  # vendor organisation number
    # the postbox's encryption certificate (KRR ``sertifikat``, DER) and when it expires (read by the
    # adapter; None with a certificate: it could not be read)
    sertifikat: bytes | None = None
    sertifikat_gyldig_til: datetime | None = None

    @property
    def reserved(self) -> bool:
        return self.status == "AKTIV" and self.reservasjon == "JA"

    @property
    def has_digital_post(self) -> bool:
        """KRR names a postbox (``digital_post``), whether or not it can be used."""
        return (
            self.status == "AKTIV"
            and self.reservasjon == "NEI"
            and bool(self.postkasseadresse)
            and bool(self.postkasseleverandoer_adresse)
        )

    @property
    def has_postbox(self) -> bool:
        """Digdir's rule: a postbox is there only with its certificate (nothing else can be
        encrypted to it). Whether the certificate is still valid: ``postbox_problem``."""
        return self.has_digital_post and bool(self.sertifikat)

    def postbox_problem(self, now: datetime | None) -> str | None:
        """Why KRR's postbox cannot be used (None: it can, or KRR names none)."""
        if not self.has_digital_post:
            return None
        if not self.sertifikat:
            return "KRR gives no certificate for the recipient's digital postbox"
        if self.sertifikat_gyldig_til is None:
            return "the certificate KRR gives for the recipient's digital postbox cannot be read"
        if now is not None and self.sertifikat_gyldig_til <= now:
            return (
                "the certificate KRR gives for the recipient's digital postbox expired on "
                + self.sertifikat_gyldig_til.strftime("%Y-%m-%d")
            )
        return None


class ContactRegistry(Protocol):
    """KRR. ``hent_personer`` returns one Person per requested id (batched by the adapter)."""

    def hent_personer(self, personidentifikatorer: Sequence[str]) -> dict[str, Person]: ...


@dataclass(frozen=True)
class Document:
    filename: str
    name: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Notification:
    """SDP ``varsler``: e-mail or SMS notification sent by the postbox vendor."""

    kind: str  # "epost" | "sms"
    text: str
    days_delayed: tuple[int, ...] = (0,)
    address: str | None = None  # e-mail address / mobile number: as given in SdpOptions, else KRR's


@dataclass(frozen=True)
class DigitalPostMessage:
    """What we send to a postbox vendor: SBD + ``digitalPost`` + document package."""

    message_id: str  # SBDH InstanceIdentifier; the same on every retry (vendor de-duplicates)
    conversation_id: str
    sender_orgnr: str  # avsender organisasjon (SBDH sender 0192:<orgnr>)
    personidentifikator: str
    postkasseadresse: str
    vendor_orgnr: str  # postkasseleverandoerAdresse; routes to a configured endpoint
    title: str  # ikkeSensitivTittel
    primary: Document
    attachments: tuple[Document, ...] = ()
    virkningstidspunkt: datetime | None = None
    sikkerhetsnivaa: int = 4
    language: str = "NO"
    notifications: tuple[Notification, ...] = field(default_factory=tuple)
    # the citizen's postbox certificate from KRR (DER): the document package is encrypted to it
    postbox_certificate: bytes | None = None


class SendStatus(enum.Enum):
    ACCEPTED = "accepted"  # vendor took the message (also for a duplicate message id)
    REJECTED = "rejected"  # feil KLIENT: permanent, do not retry


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    detail: str = ""


class VendorUnavailable(Exception):
    """Transport failure, timeout or feil SERVER after the adapter's own bounded retries: retry later."""


@dataclass(frozen=True)
class VendorReceipt:
    """A queued ``kvittering`` or ``feil`` for one of our messages."""

    receipt_id: str  # the vendor's id for acknowledging it
    message_id: str  # our InstanceIdentifier
    conversation_id: str
    kind: str  # levering | aapning | varslingfeilet | mottak | returpost | feil
    timestamp: datetime
    feiltype: str | None = None  # KLIENT | SERVER for kind == "feil"
    detail: str = ""
    vendor_orgnr: str = ""  # the postbox vendor that sent it (its receipt ids are unique per vendor)


class PostboxVendor(Protocol):
    """The way to the postbox vendors (Digipost, e-Boks): in DPI one access point carries every
    letter to the vendor named in it (``message.vendor_orgnr``) and hands back the receipts of all
    vendors from one queue. Receipts are acknowledged only after they are stored; an unacknowledged
    receipt comes again."""

    def send(self, message: DigitalPostMessage) -> SendResult: ...

    def pull_receipts(self, max_count: int = 100) -> list[VendorReceipt]: ...

    def acknowledge(self, receipt: VendorReceipt) -> None: ...

    def failed_in_transport(self, message_id: str) -> str | None:
        """The reason when the access point reports the sent message FEILET (it could not be
        carried to the vendor); None while it has not failed."""
        ...


# -- Altinn notifications: e-mail and SMS ---------------------------------------------------------
class ChannelUnavailable(Exception):
    """The SMTP server / SMS gateway could not take the message now (after the adapter's bounded
    retries): try again later."""


class ChannelRefused(Exception):
    """The SMTP server / SMS gateway refused the message permanently (bad address, 5xx): do not retry."""


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    body: str
    from_address: str | None = None  # None: the configured sender
    message_id: str = ""  # ours, the same on every attempt (Message-ID header)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    sender: str | None = None  # None: the configured sender
    reference: str = ""  # ours, the same on every attempt


class EmailSender(Protocol):
    def send_email(self, message: EmailMessage) -> None: ...


class SmsGateway(Protocol):
    def send_sms(self, message: SmsMessage) -> None: ...


# -- the Altinn copy: Altinn 3 Correspondence (or the local inbox) ---------------------------------
@dataclass(frozen=True)
class AltinnNotice:
    """The letter's notification as Altinn 3 takes it (one per correspondence): the channel, the texts
    (already rendered from our templates) and the reminder."""

    channel: str  # NotificationChannelExt: Email | Sms | EmailPreferred | SmsPreferred | EmailAndSms
    email_subject: str = ""
    email_body: str = ""
    sms_body: str = ""
    send_reminder: bool = False
    reminder_email_subject: str = ""
    reminder_email_body: str = ""
    reminder_sms_body: str = ""
    reminder_channel: str | None = None
    requested_send_time: datetime | None = None
    email_address: str | None = None  # the endpoint's ReceiverAddress; None: Altinn's own (KRR) address
    mobile_number: str | None = None


@dataclass(frozen=True)
class AltinnLetter:
    """One letter's Altinn copy, as the AltinnInbox publishes it (SPEC-transports §4)."""

    owner_orgnr: str
    system_user_code: str
    reference: str  # ExternalShipmentReference -> sendersReference
    resource_id: str  # the owner's mapping of ServiceCode/ServiceEdition
    reportee: str  # fødselsnummer (11 digits) or organisation number (9)
    title: str
    summary: str | None
    body: str | None  # HTML (or text) as Altinn 2 took it
    language_code: str  # Altinn 2's 1044 | 2068 | 1033
    visible_date_time: datetime | None = None
    due_date_time: datetime | None = None
    allow_forwarding: bool | None = None
    reply_options: tuple[tuple[str, str], ...] = ()  # (url, text)
    attachments: tuple[Document, ...] = ()
    notice: AltinnNotice | None = None
    ignore_reservation: bool = True  # our KRR decision stands (Altinn 3's error 1030 never surprises)
    confirmation_needed: bool = False
    message_sender: str | None = None


@dataclass(frozen=True)
class PublishedCopy:
    correspondence_id: str
    status: str  # CorrespondenceStatusExt (Initialized, Published, ...)
    looked_up: bool = False  # found by look-up after a 409 (the idempotent key was used before)


@dataclass(frozen=True)
class CopyStatus:
    correspondence_id: str
    status: str
    history: tuple[tuple[str, datetime], ...] = ()  # (CorrespondenceStatusExt, when)


class InboxUnavailable(Exception):
    """The inbox could not be reached or answered 5xx/timeouts within the call's budget: try later."""


class InboxRefused(Exception):
    """The inbox refused the letter for good (a problem document): ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AltinnInbox(Protocol):
    """Where the Altinn copy of a letter lives: the local inbox (our tables, ``/inbox/``) or Altinn 3."""

    def publish(self, letter: AltinnLetter) -> PublishedCopy: ...

    def status(self, correspondence_id: str) -> CopyStatus: ...
