"""The life cycle of one forwarding (Altinn's ``SdpStatusDetails``). Pure: no I/O.

SDP statuses (``SdpStatusType``)::

    insert:   Reserved | NoMailBox (final, never sent)     or   Unknown + its ``deliver`` job
    deliver:  Unknown --record_send(accepted)--> Sent_Meldingsformidler --apply(levering)--> Delivered_EndUser
                 |   \\--record_send(rejected) / fail / give_up -------------------> Delivery_EndUser_Failed
                 \\--note_retry (the job retries by the one rule, domain/jobs.py)
    receipt:  Sent --apply(feil | returpost) / transport_failed / expire--> Delivery_EndUser_Failed

Sending, retrying and waiting for the receipt are the forwarding's ``deliver`` job (``domain/jobs.py``,
reference: the message id): its claim, lease, retries and run times are the job's; the forwarding
keeps only what the status answers show (status, history, attempts, last error). ``job_state`` is
therefore derived from the status (pending: Unknown; awaiting_receipt: Sent; done: final; None: never
sent). Every change of status appends one ``SdpStatusChange`` to ``new_changes`` (the history the
repository stores); a status set again does not repeat the entry. A permanent failure with
BackupAltinn, when the letter is stored without an Altinn copy, gives the letter an Altinn copy
(``Created``) and says so in the history (``fall_back_to_altinn``). Transitions that make no sense
raise ``IllegalTransition``; the races a worker meets (a vendor receipt applied before the send's
answer is recorded) are no-ops, as documented per method.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import CorrespondenceStatus, SdpOptions, SdpStatus
from .ports import (
    DigitalPostMessage,
    Document,
    Notification,
    SendResult,
    SendStatus,
    VendorReceipt,
)

BACKUP_ALTINN_TEXT = "; BackupAltinn: the letter is now available in the Altinn inbox"
#: receipts entered in the history without changing the status (SPEC-transports §3)
NOTED_RECEIPTS = {
    "aapning": "Opened by the citizen (aapningskvittering from {vendor})",
    "varslingfeilet": "Notification to the citizen failed (varslingfeiletkvittering from {vendor})",
}
TEXT_LIMIT = 2000


class IllegalTransition(Exception):
    """A life-cycle step that the forwarding's current state does not allow (a bug of the caller)."""


class JobState(enum.StrEnum):  # where a forwarding is in its delivery, derived from its status
    PENDING = "pending"
    AWAITING_RECEIPT = "awaiting_receipt"
    DONE = "done"


NEVER_SENT = (SdpStatus.RESERVED, SdpStatus.NO_MAILBOX)  # final at insert: no deliver job


def job_state_of(status: SdpStatus | str) -> JobState | None:
    """The delivery state a status means (None: the forwarding never was to be sent)."""
    status = SdpStatus(status)
    if status in NEVER_SENT:
        return None
    if status == SdpStatus.UNKNOWN:
        return JobState.PENDING
    if status == SdpStatus.SENT:
        return JobState.AWAITING_RECEIPT
    return JobState.DONE


def backoff_delay(attempts: int, base: float, cap: float = math.inf) -> float:
    """Seconds to wait after ``attempts`` failed tries: base·2^(attempts-1), at most ``cap``.

    The one retry rule of the service: every job between worker attempts (``domain/jobs.JobPolicy``),
    and (times a jitter factor in ``[JITTER_MIN, JITTER_MAX)``) every outbound call between its tries
    (``clients/transport.call_with_retries``)."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


JITTER_MIN, JITTER_MAX = 0.5, 1.5  # an outbound call's retry waits backoff_delay x uniform(min, max)


@dataclass(frozen=True)
class SdpStatusChange:  # SdpStatusChange of the contract: one line of the SDP history
    status: SdpStatus
    status_date: datetime
    text: str


@dataclass
class Forwarding:
    """One forwarding as the delivery side sees it (state only; the letter is in ``Letter``)."""

    id: int
    message_id: str
    status: SdpStatus
    attempts: int = 0
    backup_altinn: bool = True
    correspondence_id: int | None = None  # the stored letter (None: none stored)
    altinn_status: CorrespondenceStatus | None = None  # the letter's Altinn copy; None: none
    last_changed: datetime | None = None
    last_error: str | None = None
    new_changes: list[SdpStatusChange] = field(default_factory=list)
    altinn_copy_created: datetime | None = None  # set by fall_back_to_altinn: store the copy
    changed: bool = False

    @property
    def job_state(self) -> JobState | None:
        return job_state_of(self.status)

    # -- transitions --------------------------------------------------------------------------------
    def record_send(self, result: SendResult, vendor_orgnr: str, now: datetime) -> str:
        """The vendor's answer to our send. Returns ``sent`` or ``rejected``.

        A forwarding no longer pending had its vendor receipt applied first (the receipt proves the
        send): nothing to record, ``sent``."""
        self._require_job()
        if self.job_state != JobState.PENDING:
            return "sent"
        self.attempts += 1
        if result.status == SendStatus.ACCEPTED:
            self._set_status(SdpStatus.SENT, f"Accepted by {vendor_orgnr}", now)
            return "sent"
        self.fail(f"Rejected by the postbox vendor: {result.detail}", now)
        return "rejected"

    def note_retry(self, error: str) -> bool:
        """The send failed for now (vendor unreachable, timeout, feil SERVER); its job tries again by
        the one rule. False (nothing noted) when a receipt finished the forwarding meanwhile."""
        self._require_job()
        if self.job_state != JobState.PENDING:
            return False
        self.attempts += 1
        self.last_error = error[:TEXT_LIMIT]
        self.changed = True
        return True

    def give_up(self, error: str, now: datetime) -> bool:
        """The job gave up retrying: failed (BackupAltinn applies). False when no longer pending."""
        self._require_job()
        if self.job_state != JobState.PENDING:
            return False
        self.fail(f"Delivery failed after {self.attempts} attempts: {error}", now)
        return True

    def apply(self, receipt: VendorReceipt, vendor_orgnr: str, now: datetime) -> bool:
        """A vendor receipt (``kvittering`` or ``feil``; SPEC-transports §3). Any receipt but ``feil``
        proves the send, also when our record of it was lost; ``levering``: delivered; ``feil`` and
        ``returpost``: failed (BackupAltinn applies; a ``returpost`` also after a delivery: the
        postbox gave the letter back); ``aapning`` and ``varslingfeilet`` are entered in the history
        with the receipt's time, the status unchanged. A receipt with nothing left to change returns
        False (a forwarding already final, or never sent)."""
        noted = receipt.kind in NOTED_RECEIPTS and self.job_state is not None
        if self.status.final:
            if receipt.kind == "returpost" and self.status == SdpStatus.DELIVERED:
                self._fail_anyway(
                    f"Delivery failed: returpost from {vendor_orgnr} {receipt.detail}".strip(), now
                )
                return True
            if noted:
                self._note(receipt, vendor_orgnr)
            return noted
        if receipt.kind != "feil" and self.status != SdpStatus.SENT:
            self._set_status(
                SdpStatus.SENT, f"Accepted by {vendor_orgnr} (known from its {receipt.kind} receipt)", now
            )
        if receipt.kind == "levering":
            self._set_status(SdpStatus.DELIVERED, "Delivered to the citizen's postbox", now)
        elif receipt.kind in ("feil", "returpost"):
            detail = f"{receipt.kind} {receipt.feiltype or ''} {receipt.detail}".strip()
            self.fail(f"Delivery failed: {detail}", now)
        if noted:
            self._note(receipt, vendor_orgnr)
        self.changed = True
        return True

    def _note(self, receipt: VendorReceipt, vendor_orgnr: str) -> None:
        """An entry in the history that keeps the status: what the receipt says, at its time."""
        text = NOTED_RECEIPTS[receipt.kind].format(vendor=vendor_orgnr)
        if receipt.detail:
            text += f": {receipt.detail}"
        self.new_changes.append(SdpStatusChange(self.status, receipt.timestamp, text[:TEXT_LIMIT]))
        self.last_changed = receipt.timestamp
        self.changed = True

    def _fail_anyway(self, reason: str, now: datetime) -> None:
        """``fail`` for a forwarding already Delivered (a returpost): Failed, BackupAltinn applies."""
        self.status = SdpStatus.SENT  # not final for the moment, so that fail() may move on
        self.fail(reason, now)

    def transport_failed(self, reason: str, now: datetime) -> bool:
        """The access point reports the sent message FEILET: failed (BackupAltinn applies). Only while
        it awaits its receipt (a receipt applied meanwhile wins); returns whether it applied."""
        if self.job_state != JobState.AWAITING_RECEIPT:
            return False
        self.fail(
            f"Delivery failed: the access point could not carry the letter (FEILET) {reason}".strip(), now
        )
        return True

    def expire(self, now: datetime) -> None:
        """Sent, but no levering/feil receipt before the deadline (its ``deliver`` job ran again at
        the deadline): failed."""
        if self.job_state != JobState.AWAITING_RECEIPT:
            raise IllegalTransition(f"forwarding {self.id} is not awaiting a receipt ({self.status})")
        self.fail("Delivery failed: no receipt from the postbox vendor in time", now)

    def fail(self, reason: str, now: datetime) -> None:
        """Permanent failure: final ``Delivery_EndUser_Failed``; BackupAltinn applies."""
        if self.status.final:
            raise IllegalTransition(f"forwarding {self.id} is final ({self.status}); it cannot fail")
        fallback = self._altinn_fallback_due()
        self._set_status(SdpStatus.FAILED, reason + (BACKUP_ALTINN_TEXT if fallback else ""), now)
        if fallback:
            self.fall_back_to_altinn(now)

    def fall_back_to_altinn(self, now: datetime) -> None:
        """BackupAltinn: the failed letter gets an Altinn inbox copy (``Created``)."""
        if self.status != SdpStatus.FAILED or not self._altinn_fallback_due():
            raise IllegalTransition(
                f"forwarding {self.id}: no BackupAltinn fallback (status {self.status}, backup "
                f"{self.backup_altinn}, letter {self.has_letter}, Altinn copy {self.altinn_status})"
            )
        self.altinn_status = CorrespondenceStatus.CREATED
        self.altinn_copy_created = now
        self.changed = True

    # -- helpers ------------------------------------------------------------------------------------
    @property
    def has_letter(self) -> bool:
        return self.correspondence_id is not None

    def _altinn_fallback_due(self) -> bool:
        return self.backup_altinn and self.has_letter and self.altinn_status is None

    def _require_job(self) -> None:
        if self.job_state is None:
            raise IllegalTransition(f"forwarding {self.id} ({self.status}) was never to be sent")

    def _set_status(self, status: SdpStatus, text: str, now: datetime) -> None:
        if self.status != status:
            self.new_changes.append(SdpStatusChange(status, now, text[:TEXT_LIMIT]))
        self.status = status
        self.last_changed = now
        self.changed = True


# -- the message sent to the vendor -----------------------------------------------------------------
@dataclass(frozen=True)
class KrrContact:
    """KRR's contact data stored with the forwarding (``options["krr"]``), for notifications."""

    epostadresse: str | None = None
    mobiltelefonnummer: str | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> KrrContact:
        record = record or {}
        return cls(record.get("epostadresse"), record.get("mobiltelefonnummer"))


@dataclass(frozen=True)
class StoredAttachment:
    file_name: str
    name: str | None
    data: bytes


@dataclass(frozen=True)
class Letter:
    """What a delivery needs of a stored forwarding, its letter and its sender, loaded in bulk."""

    forwarding: Forwarding
    conversation_id: str
    reportee: str
    postkasseadresse: str | None
    vendor_orgnr: str | None
    sdp: SdpOptions
    krr: KrrContact
    sender_orgnr: str
    message_title: str | None  # None: no stored letter (the message cannot be built)
    visible_date_time: datetime | None
    language_code: str | None
    attachments: tuple[StoredAttachment, ...]
    postbox_certificate: bytes | None = None  # KRR's sertifikat (DER): the package is encrypted to it
    security_level: int = 3  # the service edition's (domain/security_level.py): the DPI sikkerhetsnivaa


LANGUAGES = {"1033": "EN", "2068": "NN"}  # LanguageID -> SDP language; default NO (1044, bokmål)


def build_message(letter: Letter) -> DigitalPostMessage:
    """The ``digitalPost`` of one letter. Raises ``ValueError`` when it cannot be built (never better:
    the forwarding fails)."""
    if letter.forwarding.correspondence_id is None or letter.message_title is None:
        raise ValueError(f"forwarding {letter.forwarding.id} has no stored letter")
    sdp = letter.sdp
    docs = [
        Document(a.file_name, a.name or a.file_name, mime_type(a.file_name), a.data)
        for a in letter.attachments
    ]
    primary = next((d for d in docs if d.filename == sdp.primary_document_file_name), None)
    if primary is None:
        raise ValueError(f"no attachment named {sdp.primary_document_file_name!r} (PrimaryDocumentFileName)")
    notes = tuple(
        Notification(
            n.kind,
            n.text or "",
            tuple(n.days_delayed or (0,)),
            n.address or (letter.krr.epostadresse if n.kind == "epost" else letter.krr.mobiltelefonnummer),
        )
        for n in sdp.notifications
    )
    return DigitalPostMessage(
        message_id=letter.forwarding.message_id,
        conversation_id=letter.conversation_id,
        sender_orgnr=letter.sender_orgnr,
        personidentifikator=letter.reportee,
        postkasseadresse=letter.postkasseadresse or "",
        vendor_orgnr=letter.vendor_orgnr or "",
        title=sdp.not_sensitive_title or sdp.title or letter.message_title,
        primary=primary,
        attachments=tuple(d for d in docs if d is not primary),
        virkningstidspunkt=sdp.visible_date_time or letter.visible_date_time,
        language=LANGUAGES.get(letter.language_code or "", "NO"),
        notifications=notes,
        postbox_certificate=letter.postbox_certificate,
        sikkerhetsnivaa=int(letter.security_level),
    )


_MIME_TYPES = (
    (".pdf", "application/pdf"),
    (".html", "text/html"),
    (".htm", "text/html"),
    (".txt", "text/plain"),
    (".xml", "application/xml"),
    (".png", "image/png"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
)


def mime_type(filename: str) -> str:
    lower = filename.lower()
    return next((mime for ext, mime in _MIME_TYPES if lower.endswith(ext)), "application/octet-stream")
