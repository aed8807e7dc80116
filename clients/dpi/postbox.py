"""``PostboxVendor`` over DPI: every letter through the one access point to the vendor named in it,
the receipts of every vendor from its one queue.

Per letter: the ASiC-E package signed (XAdES) with the enterprise certificate, encrypted (CMS) to the
citizen's postbox certificate (KRR's ``sertifikat`` when the letter has it, else the vendor's
certificate from ``INNBYGGERPOST_DPI_POSTBOX_CERTIFICATE_DIR``), and the business message signed as
JWS around the Maskinporten token; the package is built once per send, the JWS again only when a 401
renewed the token. The message id (SBDH instanceIdentifier, also the conversation id) is the
forwarding's, the same on every resend: the access point answers a resend 409 and delivers nothing
twice.

Mapping (SPEC-transports §3): 201/409 ``ACCEPTED``; 400/403 (problem document) ``REJECTED`` with its
reason (the letter fails, BackupAltinn applies); 401 twice, 5xx, timeouts, Maskinporten trouble
``VendorUnavailable`` (retried later). Receipts whose JWS does not verify (signature, x5c not issued by
a trusted CA) are never applied nor acknowledged: they stay queued at the access point for the
operator, logged once per process with the JWS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from service.domain.ports import (
    DigitalPostMessage,
    Document,
    SendResult,
    SendStatus,
    VendorReceipt,
    VendorUnavailable,
)

from . import asice, cms, message
from .client import AccessPointClient, AccessPointRejected, AccessPointUnavailable

log = logging.getLogger(__name__)

KINDS = {
    "leveringskvittering": "levering",
    "aapningskvittering": "aapning",
    "varslingfeiletkvittering": "varslingfeilet",
    "mottakskvittering": "mottak",
    "returpostkvittering": "returpost",
    "feil": "feil",
}
_TEXT_LIMITS = {"epost": 500, "sms": 160}


def certificate_orgnr(certificate: x509.Certificate) -> str:
    """The organisation number in an enterprise certificate (``serialNumber``, or
    ``organizationIdentifier`` NTRNO-<orgnr>)."""
    for attr in certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        value = str(attr.value)
        if value.isdigit() and len(value) == 9:
            return value
    for attr in certificate.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97")):
        value = str(attr.value)
        if value.startswith("NTRNO-"):
            return value[len("NTRNO-") :]
    raise ValueError(f"no organisation number in certificate {certificate.subject.rfc4514_string()}")


class DpiPostbox:
    def __init__(
        self,
        client: AccessPointClient,
        certificate: x509.Certificate,
        private_key: object,
        chain: Sequence[x509.Certificate] = (),
        postbox_certificate_dir: str | Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.operator = certificate_orgnr(certificate)
        self.package_signer = asice.PackageSigner(certificate, private_key, chain)  # type: ignore[arg-type]
        self.jws_signer = message.JwsSigner(certificate, private_key, chain)  # type: ignore[arg-type]
        self.certificate_dir = Path(postbox_certificate_dir) if postbox_certificate_dir else None
        self.clock = clock
        self._certificates: dict[str, x509.Certificate | None] = {}
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    # -- sending --------------------------------------------------------------------------------------
    def send(self, msg: DigitalPostMessage) -> SendResult:
        postbox_certificate = self._postbox_certificate(msg)
        if postbox_certificate is None:
            return SendResult(
                SendStatus.REJECTED,
                f"no postbox certificate for the citizen's postbox at {msg.vendor_orgnr} (KRR gave none)",
            )
        now = self.clock()
        language = (msg.language or "NO").lower()
        try:
            package = self.package_signer.package(
                msg.sender_orgnr,
                msg.postkasseadresse,
                _document(msg.primary),
                [_document(d) for d in msg.attachments],
                now,
                language,
                msg.personidentifikator or None,
            )
            encrypted = cms.envelope(package, postbox_certificate)
            del package  # in the envelope now: not held through the send (issue 17: memory)
        except (asice.PackageError, cms.CmsError, ValueError) as exc:
            return SendResult(SendStatus.REJECTED, f"the document package cannot be built: {exc}")
        digital = message.Digital(
            sender_orgnr=msg.sender_orgnr,
            vendor_orgnr=msg.vendor_orgnr,
            postkasseadresse=msg.postkasseadresse,
            title=(msg.title or msg.primary.name or msg.primary.filename)[:255],
            language=language,
            # the message's level (DigitalPostMessage.sikkerhetsnivaa, 4 unless the letter says otherwise;
            # TODO: the service edition's registered security level once it reaches the Letter)
            sikkerhetsnivaa=msg.sikkerhetsnivaa if msg.sikkerhetsnivaa in (3, 4) else 4,
            virkningstidspunkt=_aware(msg.virkningstidspunkt),
            varsler=tuple(
                message.Varsel(
                    n.kind, n.address or "", n.text[: _TEXT_LIMITS.get(n.kind, 160)], n.days_delayed
                )
                for n in msg.notifications
                if n.text
            ),
            operator_orgnr=self.operator,
        )
        digest = _sha256_b64(encrypted)

        def business_message(token: str) -> str:
            sbd = message.digital_message(digital, msg.message_id, msg.message_id, digest, token, now)
            return self.jws_signer.sign(sbd)

        consumer = None if msg.sender_orgnr == self.operator else msg.sender_orgnr
        try:
            self.client.send(business_message, encrypted, msg.message_id, consumer_org=consumer)
        except AccessPointRejected as exc:
            if exc.status == 401:
                raise VendorUnavailable(f"the access point refuses our token: {exc.reason}") from exc
            return SendResult(
                SendStatus.REJECTED, f"refused by the DPI access point (HTTP {exc.status}): {exc.reason}"
            )
        except AccessPointUnavailable as exc:
            raise VendorUnavailable(str(exc)) from exc
        except Exception as exc:  # Maskinporten could not give a token: try again later
            if type(exc).__name__.startswith("Maskinporten"):
                raise VendorUnavailable(f"no Maskinporten token: {exc}") from exc
            raise
        return SendResult(SendStatus.ACCEPTED)

    def _postbox_certificate(self, msg: DigitalPostMessage) -> x509.Certificate | None:
        if msg.postbox_certificate:
            try:
                return x509.load_der_x509_certificate(msg.postbox_certificate)
            except ValueError:
                log.warning("message %s: KRR's postbox certificate is not DER X.509", msg.message_id)
                return None
        if self.certificate_dir is None:
            return None
        with self._lock:
            if msg.vendor_orgnr not in self._certificates:
                path = self.certificate_dir / f"postbox-{msg.vendor_orgnr}.pem"
                try:
                    self._certificates[msg.vendor_orgnr] = x509.load_pem_x509_certificate(path.read_bytes())
                except (OSError, ValueError) as exc:
                    log.warning("no postbox certificate for vendor %s at %s: %s", msg.vendor_orgnr, path, exc)
                    return None  # not cached: it may appear
            return self._certificates[msg.vendor_orgnr]

    # -- receipts -------------------------------------------------------------------------------------
    def pull_receipts(self, max_count: int = 100) -> list[VendorReceipt]:
        try:
            items = self.client.receipts(max_count)
        except (AccessPointUnavailable, AccessPointRejected) as exc:
            raise VendorUnavailable(f"receipts: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__.startswith("Maskinporten"):
                raise VendorUnavailable(f"receipts: no Maskinporten token: {exc}") from exc
            raise
        out = []
        for item in items:
            r = item.receipt
            if r is None or r.kind not in KINDS:
                if item.message_id not in self._reported:
                    self._reported.add(item.message_id)
                    log.error(
                        "receipt %s not applied, left at the access point for the operator: %s; JWS %s",
                        item.message_id or "(no id)",
                        item.error or f"unknown kind {r.kind if r else ''}",
                        item.forretningsmelding[:4000],
                    )
                continue
            out.append(
                VendorReceipt(
                    receipt_id=r.message_id,
                    message_id=r.conversation_id,
                    conversation_id=r.conversation_id,
                    kind=KINDS[r.kind],
                    timestamp=_parse_time(r.timestamp, self.clock),
                    feiltype=r.feiltype,
                    detail=r.detaljer,
                    vendor_orgnr=r.sender_orgnr,
                )
            )
        return out

    def failed_in_transport(self, message_id: str) -> str | None:
        """FEILET in the access point's statuses of the message: its description (or a default)."""
        try:
            statuses = self.client.statuses(message_id)
        except AccessPointRejected as exc:
            if exc.status == 404:  # not known there (yet): nothing failed
                return None
            raise VendorUnavailable(f"statuses of {message_id}: {exc}") from exc
        except AccessPointUnavailable as exc:
            raise VendorUnavailable(f"statuses of {message_id}: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__.startswith("Maskinporten"):
                raise VendorUnavailable(f"statuses: no Maskinporten token: {exc}") from exc
            raise
        for s in statuses:
            if s.status == "FEILET":
                return s.beskrivelse or "FEILET"
        return None

    def acknowledge(self, receipt: VendorReceipt) -> None:
        try:
            self.client.mark_read(receipt.receipt_id)
        except (AccessPointUnavailable, AccessPointRejected) as exc:
            raise VendorUnavailable(f"acknowledging receipt {receipt.receipt_id}: {exc}") from exc


def _document(d: Document) -> asice.PackageDocument:
    return asice.PackageDocument(d.filename, d.name or d.filename, d.mime_type, d.data)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _sha256_b64(data: bytes | bytearray) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _parse_time(value: str, clock: Callable[[], datetime]) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        return clock()
