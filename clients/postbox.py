"""Postbox vendor client (Digipost, e-Boks): zeep over the project's own transport contract.

The contract is ``wsdl/postbox/postbox.wsdl`` (SOAP 1.2, document/literal). It carries the real SDP 1.0
business messages (``digitalPost``, ``manifest``, ``kvittering``, ``feil``) inside a Standard Business
Document; the document package travels inline (real DPI uses an ASiC-E container over AS4: that
transport can be added as another ``PostboxVendor`` without touching the domain).

Error mapping of ``send``:

* accepted, also ``duplicate=true`` (the vendor has the message id already) -> ``SendStatus.ACCEPTED``;
* ``feil`` KLIENT (SOAP ``env:Sender`` fault) -> ``SendStatus.REJECTED``, no retry;
* ``feil`` SERVER, connection errors, timeouts, HTTP 5xx, unparsable answers -> retried up to
  ``settings.call_attempts`` times with backoff, then ``VendorUnavailable``. Resending is safe: the
  request (and its SBDH ``InstanceIdentifier``) is built once and the vendor de-duplicates on it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
import zeep.xsd.types.builtins
from lxml import etree

from clients.transport import call_with_retries, make_transport
from service import ns
from service.config import Settings, project_root
from service.domain.ports import (
    DigitalPostMessage,
    Document,
    SendResult,
    SendStatus,
    VendorReceipt,
    VendorUnavailable,
)
from service.xml import parse_bytes

log = logging.getLogger(__name__)

NS_POSTBOX = ns.POSTBOX
NS_SDP = ns.SDP
NS_SBDH = ns.SBDH
NS_DS = ns.DS
NS_SOAP12 = ns.SOAP12_ENV

BINDING = f"{{{NS_POSTBOX}}}PostboxBinding"
SDP_STANDARD = "urn:no:difi:sdp:1.0"
SDP_TYPE_VERSION = "1.0"
ICD_ORGNR = "0192"  # ISO 6523 ICD of the Norwegian organisation number (Enhetsregisteret)
AUTHORITY = "iso6523-actorid-upis"
SHA256 = ns.XMLENC_SHA256
KVITTERING_KINDS = ("mottak", "levering", "aapning", "varslingfeilet", "returpost")
_ZEEP_DATETIME = zeep.xsd.types.builtins.DateTime()


def wsdl_path() -> Path:
    return project_root() / "wsdl" / "postbox" / "postbox.wsdl"


class UnknownVendorError(LookupError):
    """No endpoint is configured for this postbox vendor organisation number (a configuration error)."""


class _Transient(Exception):
    """A retryable failure: feil SERVER, HTTP 5xx, garbage answer."""


class _HttpStatusError(Exception):
    """A non-2xx answer that is not a SOAP/XML message (a proxy's error page, say)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status


def _reject_non_soap_errors(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests response hook: zeep would read an XHTML error page as an "Unknown fault"."""
    ctype = response.headers.get("Content-Type", "")
    if response.status_code >= 300 and "xml" not in ctype.lower():
        raise _HttpStatusError(response.status_code, response.reason or "")


def party_identifier(orgnr: str) -> str:
    """``0192:<orgnr>``; an identifier that already has an ICD prefix is kept."""
    return orgnr if ":" in orgnr else f"{ICD_ORGNR}:{orgnr}"


def orgnr_of(identifier: str) -> str:
    return identifier.rpartition(":")[2].strip()


def package_fingerprint(documents: list[Document] | tuple[Document, ...]) -> bytes:
    """``dokumentpakkefingeravtrykk`` of this transport: SHA-256 over the files' SHA-256 digests.

    Files in manifest order (primary document first, then the attachments); see postbox.wsdl.
    """
    outer = hashlib.sha256()
    for doc in documents:
        outer.update(hashlib.sha256(doc.data).digest())
    return outer.digest()


def _iso(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def build_send_request(message: DigitalPostMessage, *, created: datetime | None = None) -> dict[str, Any]:
    """The ``SendDigitalPost`` request as zeep keyword arguments (SBD + digitalPost + document package)."""
    lang = (message.language or "no").lower()
    created = _iso(created or datetime.now(UTC))
    avsender = {"organisasjon": {"_value_1": party_identifier(message.sender_orgnr), "authority": AUTHORITY}}
    mottaker = {
        "person": {
            "personidentifikator": message.personidentifikator,
            "postkasseadresse": message.postkasseadresse,
        }
    }
    info: dict[str, Any] = {}
    if message.virkningstidspunkt is not None:
        info["virkningstidspunkt"] = _iso(message.virkningstidspunkt)
    info["sikkerhetsnivaa"] = str(message.sikkerhetsnivaa)
    info["ikkeSensitivTittel"] = {"_value_1": message.title, "lang": lang}
    varsler = _varsler(message, lang)
    if varsler:
        info["varsler"] = varsler
    documents = (message.primary, *message.attachments)
    digital_post = {
        "avsender": avsender,
        "mottaker": mottaker,
        "digitalPostInfo": info,
        "dokumentpakkefingeravtrykk": {
            "DigestMethod": {"Algorithm": SHA256},
            "DigestValue": package_fingerprint(documents),
        },
    }
    sbdh = {
        "HeaderVersion": "1.0",
        "Sender": {
            "Identifier": {"_value_1": party_identifier(message.sender_orgnr), "Authority": AUTHORITY}
        },
        "Receiver": {
            "Identifier": {"_value_1": party_identifier(message.vendor_orgnr), "Authority": AUTHORITY}
        },
        "DocumentIdentification": {
            "Standard": SDP_STANDARD,
            "TypeVersion": SDP_TYPE_VERSION,
            "InstanceIdentifier": message.message_id,
            "Type": "digitalPost",
            "CreationDateAndTime": created,
        },
        "BusinessScope": {
            "Scope": [
                {
                    "Type": "ConversationId",
                    "InstanceIdentifier": message.conversation_id,
                    "Identifier": SDP_STANDARD,
                }
            ]
        },
    }
    manifest = {
        "mottaker": mottaker,
        "avsender": avsender,
        "hoveddokument": _manifest_doc(message.primary, lang),
        "vedlegg": [_manifest_doc(doc, lang) for doc in message.attachments],
    }
    return {
        "StandardBusinessDocument": {"StandardBusinessDocumentHeader": sbdh, "digitalPost": digital_post},
        "Dokumentpakke": {
            "manifest": manifest,
            "Dokument": [
                {"_value_1": doc.data, "href": doc.filename, "mime": doc.mime_type} for doc in documents
            ],
        },
    }


SEND_ACTION = f"{NS_POSTBOX}/SendDigitalPost"
SEND_HEADERS = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{SEND_ACTION}"'}
_NSMAP = {"soap-env": NS_SOAP12, "pb": NS_POSTBOX, "sbd": NS_SBDH, "sdp": NS_SDP, "ds": NS_DS}


def render_send_envelope(message: DigitalPostMessage, *, created: datetime | None = None) -> etree._Element:
    """The ``SendDigitalPost`` SOAP 1.2 envelope, written with lxml: the same document zeep renders from
    ``build_send_request`` (tests/integration/test_postbox_contract.py compares them), at a fraction of
    zeep's CPU (rendering was a sixth of a delivery worker's CPU)."""
    lang = (message.language or "no").lower()
    created = _iso(created or datetime.now(UTC))
    envelope = etree.Element(f"{{{NS_SOAP12}}}Envelope", nsmap=_NSMAP)
    body = etree.SubElement(envelope, f"{{{NS_SOAP12}}}Body")
    send = etree.SubElement(body, f"{{{NS_POSTBOX}}}SendDigitalPost")
    sbd = etree.SubElement(send, f"{{{NS_SBDH}}}StandardBusinessDocument")
    header = _el(sbd, NS_SBDH, "StandardBusinessDocumentHeader")
    _el(header, NS_SBDH, "HeaderVersion", "1.0")
    for role, orgnr in (("Sender", message.sender_orgnr), ("Receiver", message.vendor_orgnr)):
        _el(_el(header, NS_SBDH, role), NS_SBDH, "Identifier", party_identifier(orgnr), Authority=AUTHORITY)
    ident = _el(header, NS_SBDH, "DocumentIdentification")
    _el(ident, NS_SBDH, "Standard", SDP_STANDARD)
    _el(ident, NS_SBDH, "TypeVersion", SDP_TYPE_VERSION)
    _el(ident, NS_SBDH, "InstanceIdentifier", message.message_id)
    _el(ident, NS_SBDH, "Type", "digitalPost")
    _el(ident, NS_SBDH, "CreationDateAndTime", _xsd_datetime(created))
    scope = _el(_el(header, NS_SBDH, "BusinessScope"), NS_SBDH, "Scope")
    _el(scope, NS_SBDH, "Type", "ConversationId")
    _el(scope, NS_SBDH, "InstanceIdentifier", message.conversation_id)
    _el(scope, NS_SBDH, "Identifier", SDP_STANDARD)

    post = _el(sbd, NS_SDP, "digitalPost")
    _parties(post, message, avsender_first=True)
    info = _el(post, NS_SDP, "digitalPostInfo")
    if message.virkningstidspunkt is not None:
        _el(info, NS_SDP, "virkningstidspunkt", _xsd_datetime(_iso(message.virkningstidspunkt)))
    _el(info, NS_SDP, "sikkerhetsnivaa", str(message.sikkerhetsnivaa))
    _el(info, NS_SDP, "ikkeSensitivTittel", message.title, lang=lang)
    varsler = _varsler(message, lang)
    if varsler:
        v = _el(info, NS_SDP, "varsler")
        for kind, address_field in (("epostVarsel", "epostadresse"), ("smsVarsel", "mobiltelefonnummer")):
            if kind in varsler:
                spec = varsler[kind]
                el = _el(v, NS_SDP, kind)
                _el(el, NS_SDP, address_field, spec[address_field])
                _el(el, NS_SDP, "varslingsTekst", spec["varslingsTekst"]["_value_1"], lang=lang)
                rep = _el(el, NS_SDP, "repetisjoner")
                for day in spec["repetisjoner"]["dagerEtter"]:
                    _el(rep, NS_SDP, "dagerEtter", str(day))
    documents = (message.primary, *message.attachments)
    fingerprint = _el(post, NS_SDP, "dokumentpakkefingeravtrykk")
    _el(fingerprint, NS_DS, "DigestMethod", Algorithm=SHA256)
    _el(fingerprint, NS_DS, "DigestValue", base64.b64encode(package_fingerprint(documents)).decode())

    package = _el(send, NS_POSTBOX, "Dokumentpakke")
    manifest = _el(package, NS_SDP, "manifest")
    _parties(manifest, message, avsender_first=False)
    for name, doc in (("hoveddokument", message.primary), *(("vedlegg", d) for d in message.attachments)):
        el = _el(manifest, NS_SDP, name, href=doc.filename, mime=doc.mime_type)
        if doc.name:
            _el(el, NS_SDP, "tittel", doc.name, lang=lang)
    for doc in documents:
        _el(
            package,
            NS_POSTBOX,
            "Dokument",
            base64.b64encode(doc.data).decode(),
            href=doc.filename,
            mime=doc.mime_type,
        )
    return envelope


def _el(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        el.text = text
    return el


def _parties(parent: etree._Element, message: DigitalPostMessage, *, avsender_first: bool) -> None:
    """``avsender`` and ``mottaker`` (digitalPost: avsender first; manifest: mottaker first)."""

    def avsender() -> None:
        org = _el(parent, NS_SDP, "avsender")
        _el(org, NS_SDP, "organisasjon", party_identifier(message.sender_orgnr), authority=AUTHORITY)

    def mottaker() -> None:
        person = _el(_el(parent, NS_SDP, "mottaker"), NS_SDP, "person")
        _el(person, NS_SDP, "personidentifikator", message.personidentifikator)
        _el(person, NS_SDP, "postkasseadresse", message.postkasseadresse)

    for part in (avsender, mottaker) if avsender_first else (mottaker, avsender):
        part()


def _xsd_datetime(value: datetime) -> str:
    """xsd:dateTime as zeep writes it (UTC as ``Z``, microseconds only when there are some)."""
    text: str = _ZEEP_DATETIME.xmlvalue(value)
    return text


def _manifest_doc(doc: Document, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"href": doc.filename, "mime": doc.mime_type}
    if doc.name:
        out["tittel"] = {"_value_1": doc.name, "lang": lang}
    return out


def _varsler(message: DigitalPostMessage, lang: str) -> dict[str, Any]:
    """SDP ``varsler``: at most one e-mail and one SMS notification.

    The address is ``Notification.address`` (as given in SdpOptions, else KRR's); without one it is
    sent empty and the vendor uses the address it knows for the citizen, or answers ``varslingfeilet``.
    """
    out: dict[str, Any] = {}
    for note in message.notifications:
        days = sorted(set(note.days_delayed or (0,)))[:10]
        repetisjoner = {"dagerEtter": days}
        text = {"_value_1": note.text, "lang": lang}
        kind = note.kind.lower()
        if kind in ("epost", "email", "e-post") and "epostVarsel" not in out:
            out["epostVarsel"] = {
                "epostadresse": note.address or "",
                "varslingsTekst": text,
                "repetisjoner": repetisjoner,
            }
        elif kind == "sms" and "smsVarsel" not in out:
            out["smsVarsel"] = {
                "mobiltelefonnummer": note.address or "",
                "varslingsTekst": text,
                "repetisjoner": repetisjoner,
            }
    # schema order: epostVarsel before smsVarsel
    return {k: out[k] for k in ("epostVarsel", "smsVarsel") if k in out}


def feil_from_fault(fault: zeep.exceptions.Fault) -> tuple[str | None, str]:
    """(feiltype, detaljer) from a SOAP fault's ``Detail/sdp:feil``; feiltype None when there is none."""
    detail = fault.detail
    feil = None
    if isinstance(detail, etree._Element):
        feil = detail if detail.tag == f"{{{NS_SDP}}}feil" else detail.find(f".//{{{NS_SDP}}}feil")
    if feil is None:
        return None, str(fault.message or "")
    feiltype = (feil.findtext(f"{{{NS_SDP}}}feiltype") or "").strip() or None
    detaljer = (feil.findtext(f"{{{NS_SDP}}}detaljer") or "").strip() or str(fault.message or "")
    return feiltype, detaljer


class PostboxClient:
    """``PostboxVendor`` over the project's postbox contract, one zeep service proxy per vendor orgnr."""

    def __init__(self, settings: Settings, *, wsdl: str | Path | None = None) -> None:
        self._settings = settings
        # Keep-alive connections for every delivery thread, plus receipt pulls and acknowledgements.
        pool_size = settings.worker_concurrency + 8
        self._transport = make_transport(settings.connect_timeout, settings.read_timeout, pool_size)
        self._transport.session.hooks["response"].append(_reject_non_soap_errors)
        self._client = zeep.Client(str(wsdl or wsdl_path()), transport=self._transport)
        self._endpoints = dict(settings.vendor_endpoints)
        self._services: dict[str, Any] = {
            orgnr: self._client.create_service(BINDING, url) for orgnr, url in self._endpoints.items()
        }

    @property
    def zeep_client(self) -> zeep.Client:
        return self._client

    def _service(self, vendor_orgnr: str) -> Any:
        service = self._services.get(vendor_orgnr)
        if service is None:
            configured = ", ".join(sorted(self._services)) or "none"
            raise UnknownVendorError(
                f"no endpoint configured for postbox vendor {vendor_orgnr!r} (configured: {configured}); "
                "set INNBYGGERPOST_VENDOR_ENDPOINTS"
            )
        return service

    def create_send_envelope(self, message: DigitalPostMessage) -> etree._Element:
        """The SOAP envelope ``send`` posts (lxml; for contract tests and debugging)."""
        self._service(message.vendor_orgnr)  # an unknown vendor fails here as in send
        return render_send_envelope(message)

    def create_send_envelope_with_zeep(
        self, message: DigitalPostMessage, *, created: datetime | None = None
    ) -> etree._Element:
        """The same envelope rendered by zeep from the WSDL (the reference for render_send_envelope)."""
        service = self._service(message.vendor_orgnr)
        return self._client.create_message(
            service, "SendDigitalPost", **build_send_request(message, created=created)
        )

    # -- PostboxVendor -----------------------------------------------------------------------------

    def send(self, message: DigitalPostMessage) -> SendResult:
        vendor = message.vendor_orgnr
        service = self._service(vendor)
        envelope = render_send_envelope(message)  # built once: every retry resends the same message id
        binding, address = service._binding, service._binding_options["address"]
        operation = binding.get("SendDigitalPost")

        def post() -> Any:  # zeep's own SoapBinding.send, with our envelope instead of zeep's rendering
            http = self._client.transport.post_xml(address, envelope, SEND_HEADERS)
            return binding.process_reply(self._client, operation, http)

        def attempt() -> SendResult:
            try:
                response = self._call(post, vendor)
            except zeep.exceptions.Fault as fault:
                feiltype, detail = feil_from_fault(fault)
                if feiltype == "KLIENT" or (feiltype is None and _is_sender_fault(fault)):
                    log.info(
                        "vendor %s rejected message %s: feil KLIENT: %s", vendor, message.message_id, detail
                    )
                    return SendResult(
                        SendStatus.REJECTED, f"feil KLIENT from postbox vendor {vendor}: {detail}"
                    )
                raise _Transient(
                    f"feil {feiltype or 'SERVER'} from postbox vendor {vendor}: {detail}"
                ) from fault
            duplicate = bool(getattr(response, "duplicate", False))
            return SendResult(
                SendStatus.ACCEPTED, "duplicate: already accepted by the vendor" if duplicate else ""
            )

        return self._with_retries(attempt, vendor, f"SendDigitalPost {message.message_id}")

    def pull_receipts(self, max_count: int = 100) -> list[VendorReceipt]:
        """The receipts of every configured vendor (the port's one queue)."""
        out: list[VendorReceipt] = []
        errors: list[str] = []
        for orgnr in self._endpoints:
            try:
                out += self.pull_vendor_receipts(orgnr, max_count)
            except VendorUnavailable as exc:
                errors.append(str(exc))
        if errors and not out:
            raise VendorUnavailable("; ".join(errors))
        return out

    def acknowledge(self, receipt: VendorReceipt) -> None:
        self.acknowledge_vendor_receipt(receipt.vendor_orgnr, receipt.receipt_id)

    def pull_vendor_receipts(self, vendor_orgnr: str, max_count: int = 100) -> list[VendorReceipt]:
        service = self._service(vendor_orgnr)
        count = max(1, min(int(max_count), 1000))

        def attempt() -> list[VendorReceipt]:
            # raw: zeep reads an empty complex element (<sdp:levering/>) as None, losing the kind
            with self._client.settings(raw_response=True):
                http = self._call(service.HentKvitteringer, vendor_orgnr, MaksAntall=count)
            return _parse_pull_response(http, vendor_orgnr)

        receipts: list[VendorReceipt] = self._with_retries(attempt, vendor_orgnr, "HentKvitteringer")
        return receipts

    def acknowledge_vendor_receipt(self, vendor_orgnr: str, receipt_id: str) -> None:
        service = self._service(vendor_orgnr)

        def attempt() -> None:
            try:
                self._call(service.BekreftKvittering, vendor_orgnr, KvitteringsId=receipt_id)
            except zeep.exceptions.Fault as fault:
                raise _Transient(
                    f"BekreftKvittering fault from postbox vendor {vendor_orgnr}: {fault.message}"
                ) from fault

        self._with_retries(attempt, vendor_orgnr, f"BekreftKvittering {receipt_id}")

    # -- plumbing ----------------------------------------------------------------------------------

    def _call(self, operation: Any, vendor: str, **kwargs: Any) -> Any:
        """One SOAP call; transport trouble becomes ``_Transient`` (retry) or ``VendorUnavailable``."""
        try:
            return operation(**kwargs)
        except (zeep.exceptions.TransportError, _HttpStatusError) as exc:
            status = (exc.status if isinstance(exc, _HttpStatusError) else exc.status_code) or 0
            if status >= 500 or status in (408, 429) or status == 0:
                raise _Transient(f"HTTP {status} from postbox vendor {vendor}: {str(exc)[:200]}") from exc
            raise VendorUnavailable(
                f"postbox vendor {vendor} at {self._endpoints.get(vendor)} answered HTTP {status}; "
                "check INNBYGGERPOST_VENDOR_ENDPOINTS"
            ) from exc
        except zeep.exceptions.Fault:
            raise
        except zeep.exceptions.XMLSyntaxError as exc:
            raise _Transient(f"unparsable answer from postbox vendor {vendor}: {exc}") from exc
        except zeep.exceptions.Error as exc:
            raise VendorUnavailable(f"unexpected answer from postbox vendor {vendor}: {exc}") from exc

    def _with_retries(self, fn: Any, vendor: str, what: str) -> Any:
        attempts = max(1, self._settings.call_attempts)
        try:
            return call_with_retries(
                fn,
                attempts=attempts,
                backoff=self._settings.call_backoff,
                retry_on=(requests.RequestException, _Transient),
                what=f"{what} to postbox vendor {vendor}",
            )
        except requests.Timeout as exc:
            raise VendorUnavailable(
                f"postbox vendor {vendor} at {self._endpoints.get(vendor)} timed out "
                f"(connect {self._settings.connect_timeout}s, read {self._settings.read_timeout}s) "
                f"on {what} after {attempts} attempt(s): {exc}"
            ) from exc
        except requests.RequestException as exc:
            raise VendorUnavailable(
                f"postbox vendor {vendor} at {self._endpoints.get(vendor)} unreachable on {what} "
                f"after {attempts} attempt(s): {exc}"
            ) from exc
        except _Transient as exc:
            raise VendorUnavailable(f"{exc} (on {what}, after {attempts} attempt(s))") from exc


def _is_sender_fault(fault: zeep.exceptions.Fault) -> bool:
    code = str(fault.code or "")
    return code.endswith("Sender") or code.endswith("Client")


def _parse_pull_response(http: Any, vendor: str) -> list[VendorReceipt]:
    """``HentKvitteringerResponse`` (raw HTTP response) -> receipts; faults and garbage -> ``_Transient``."""
    status = int(getattr(http, "status_code", 0))
    content: bytes = getattr(http, "content", b"") or b""
    try:
        # huge_tree: a batch of receipts may pass libxml2's default bounds; the HTTP client bounds the size.
        doc = parse_bytes(content, huge_tree=True)
    except etree.XMLSyntaxError as exc:
        raise _Transient(
            f"HentKvitteringer: HTTP {status}, unparsable answer from postbox vendor {vendor}"
        ) from exc
    fault = doc.find(f"{{{NS_SOAP12}}}Body/{{{NS_SOAP12}}}Fault")
    if fault is not None or status != 200:
        reason = fault.findtext(f".//{{{NS_SOAP12}}}Text") if fault is not None else ""
        raise _Transient(f"HentKvitteringer: HTTP {status} fault from postbox vendor {vendor}: {reason}")
    response = doc.find(f"{{{NS_SOAP12}}}Body/{{{NS_POSTBOX}}}HentKvitteringerResponse")
    if response is None:
        raise _Transient(f"HentKvitteringer: no HentKvitteringerResponse from postbox vendor {vendor}")
    return [_to_receipt(item, vendor) for item in response.iterfind(f"{{{NS_POSTBOX}}}KoetKvittering")]


def _to_receipt(item: etree._Element, vendor: str) -> VendorReceipt:
    ns = {"pb": NS_POSTBOX, "sbd": NS_SBDH, "sdp": NS_SDP}
    receipt_id = (item.findtext("pb:KvitteringsId", namespaces=ns) or "").strip()
    conversation_id = ""
    message_id = ""
    for scope in item.iterfind(
        "sbd:StandardBusinessDocument/sbd:StandardBusinessDocumentHeader/sbd:BusinessScope/sbd:Scope", ns
    ):
        if (scope.findtext("sbd:Type", namespaces=ns) or "").strip() == "ConversationId":
            conversation_id = (scope.findtext("sbd:InstanceIdentifier", namespaces=ns) or "").strip()
            message_id = (
                scope.findtext(
                    "sbd:CorrelationInformation/sbd:RequestingDocumentInstanceIdentifier", namespaces=ns
                )
                or ""
            ).strip()
    sbd = item.find("sbd:StandardBusinessDocument", ns)
    if not receipt_id or sbd is None:
        raise _Transient(f"HentKvitteringer: malformed receipt from postbox vendor {vendor}")
    feil = sbd.find("sdp:feil", ns)
    if feil is not None:
        return VendorReceipt(
            receipt_id=receipt_id,
            message_id=message_id,
            conversation_id=conversation_id,
            kind="feil",
            timestamp=_parse_dt(feil.findtext("sdp:tidspunkt", namespaces=ns)),
            feiltype=(feil.findtext("sdp:feiltype", namespaces=ns) or "").strip() or None,
            detail=(feil.findtext("sdp:detaljer", namespaces=ns) or "").strip(),
            vendor_orgnr=vendor,
        )
    kvittering = sbd.find("sdp:kvittering", ns)
    kind_el = None
    if kvittering is not None:
        kind_el = next((el for el in kvittering if etree.QName(el).localname in KVITTERING_KINDS), None)
    if kvittering is None or kind_el is None:
        raise _Transient(
            f"HentKvitteringer: receipt {receipt_id} from postbox vendor {vendor} holds no kvittering/feil"
        )
    kind = etree.QName(kind_el).localname
    detail = ""
    if kind == "varslingfeilet":
        channel = (kind_el.findtext("sdp:varslingskanal", namespaces=ns) or "").strip()
        text = (kind_el.findtext("sdp:beskrivelse", namespaces=ns) or "").strip()
        detail = f"{channel}: {text}" if text else channel
    return VendorReceipt(
        receipt_id=receipt_id,
        message_id=message_id,
        conversation_id=conversation_id,
        kind=kind,
        vendor_orgnr=vendor,
        timestamp=_parse_dt(kvittering.findtext("sdp:tidspunkt", namespaces=ns)),
        detail=detail,
    )


def _parse_dt(value: str | None) -> datetime:
    text = (value or "").strip()
    if not text:
        return datetime.now(UTC)
    try:
        return _iso(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return datetime.now(UTC)
