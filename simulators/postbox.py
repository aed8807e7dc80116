"""Postbox vendor simulator (Digipost / e-Boks) for the project's postbox contract (wsdl/postbox/).

A small lxml-based WSGI app, not spyne: the contract is defined by hand-written XSDs that reuse the
SDP 1.0 and SBDH element names, which spyne cannot load; lxml validates every request body against
exactly those XSDs (``wsdl/postbox/postbox.xsd``) and the answers are validated too, so the simulator
can never drift from the contract the client is generated from.

Behaviour per recipient comes from the seed (``simulators.seed``):

* ``deliver``: accept; queue a ``levering`` kvittering (plus ``aapning`` when ``open``);
* ``reject``: SOAP fault with ``feil`` KLIENT, nothing queued;
* ``fail_then_deliver`` N: the first N sends of a message id get ``feil`` SERVER, then it is accepted;
* ``delay_seconds``: sleep that long before answering a send about the person (``delay_sends`` N:
  only the first N sends of each message id). ``arrivals`` counts sends per message id when they
  arrive, ``answers`` when they are answered: a send in between is in flight.

A recipient whose vendor is another organisation, without a postbox, or with another postbox address
gets ``feil`` KLIENT. The same InstanceIdentifier is accepted once; repeats are answered
``duplicate=true`` and deliver nothing. Receipts stay queued until ``BekreftKvittering``. A
notification without an address uses the seed's address; with none there, ``varslingfeilet`` is queued.

One ``PostboxSimState`` (thread-safe) may be shared by the apps of several vendors;
``postbox_state_json()`` gives the counters for ``/_sim/stats``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from lxml import etree

from clients.postbox import NS_DS, NS_POSTBOX, NS_SBDH, NS_SDP, NS_SOAP12
from service import ns
from service.xml import safe_parser
from simulators.seed import Seed, SeedPerson

log = logging.getLogger(__name__)

NS_WSDL = ns.WSDL
NS_WSDL_SOAP12 = ns.WSDL_SOAP12
NS_XSD = ns.XSD

SDP_STANDARD = "urn:no:difi:sdp:1.0"
AUTHORITY = "iso6523-actorid-upis"
SHA256 = ns.XMLENC_SHA256
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
MAX_BODY_BYTES = 64 * 1024 * 1024
CONTRACT_DIR = Path(__file__).resolve().parent.parent / "wsdl" / "postbox"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------------
# state


@dataclass
class SimReceipt:
    receipt_id: str
    message_id: str
    conversation_id: str
    recipient: str  # the sender's SBDH identifier the receipt goes back to
    kind: str  # levering | aapning | varslingfeilet | mottak | returpost | feil
    timestamp: datetime
    feiltype: str | None = None
    detail: str = ""
    channel: str | None = None  # varslingfeilet: EPOST | SMS


@dataclass
class _VendorState:
    sends: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    server_failures: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, int] = field(default_factory=dict)  # sends per message id, counted on arrival
    answers: dict[str, int] = field(default_factory=dict)  # sends per message id, counted when answered
    accepted_at: dict[str, datetime] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # sends per message id (fail_then_deliver)
    queue: OrderedDict[str, SimReceipt] = field(default_factory=OrderedDict)

    def to_json(self) -> dict[str, Any]:
        return {
            "sends": self.sends,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "server_failures": self.server_failures,
            "delivered": dict(self.delivered),
            "arrivals": dict(self.arrivals),
            "answers": dict(self.answers),
            "queued_receipts": len(self.queue),
        }


class PostboxSimState:
    """Counters, de-duplication and receipt queues of every simulated vendor; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._vendors: dict[str, _VendorState] = {}

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def vendor(self, orgnr: str) -> _VendorState:
        with self._lock:
            return self._vendors.setdefault(orgnr, _VendorState())

    def reset(self) -> None:
        """Forget all messages, counters and queued receipts (known vendors stay listed, at zero)."""
        with self._lock:
            for orgnr in self._vendors:
                self._vendors[orgnr] = _VendorState()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"vendors": {orgnr: v.to_json() for orgnr, v in sorted(self._vendors.items())}}

    def queue_receipt(self, vendor_orgnr: str, receipt: SimReceipt) -> None:
        """Queue a receipt by hand (tests, demos: e.g. a ``feil`` or ``returpost``)."""
        with self._lock:
            self.vendor(vendor_orgnr).queue[receipt.receipt_id] = receipt

    def queued(self, vendor_orgnr: str) -> list[SimReceipt]:
        with self._lock:
            return list(self.vendor(vendor_orgnr).queue.values())


DEFAULT_STATE = PostboxSimState()


def postbox_state_json(state: PostboxSimState | None = None) -> dict[str, Any]:
    """JSON-able counters per vendor, for ``/_sim/stats``."""
    return (state or DEFAULT_STATE).to_json()


def reset_postbox_state(state: PostboxSimState | None = None) -> None:
    (state or DEFAULT_STATE).reset()


# ------------------------------------------------------------------------------------------------
# contract files


_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


def contract_schema() -> etree.XMLSchema:
    """``wsdl/postbox/postbox.xsd`` (with sdp.xsd, sbdh.xsd, xmldsig-subset.xsd), compiled once."""
    global _schema
    with _schema_lock:
        if _schema is None:
            _schema = etree.XMLSchema(etree.parse(str(CONTRACT_DIR / "postbox.xsd"), safe_parser()))
        return _schema


def _contract_file(name: str, base_url: str) -> bytes | None:
    """A contract file with schemaLocation / soap address pointing back at this endpoint."""
    path = CONTRACT_DIR / name
    if "/" in name or not path.is_file() or path.suffix not in (".wsdl", ".xsd"):
        return None
    doc = etree.parse(str(path), safe_parser())
    for el in doc.iter(_q(NS_XSD, "import"), _q(NS_XSD, "include")):
        loc = el.get("schemaLocation")
        if loc:
            el.set("schemaLocation", f"{base_url}?xsd={loc}")
    for el in doc.iter(_q(NS_WSDL_SOAP12, "address")):
        el.set("location", base_url)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


# ------------------------------------------------------------------------------------------------
# SOAP helpers


class _SoapFault(Exception):
    def __init__(self, feiltype: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.feiltype = feiltype
        self.detail = detail[:1000]
        self.status = status or (400 if feiltype == "KLIENT" else 500)


def _envelope(body_child: etree._Element) -> bytes:
    env = etree.Element(_q(NS_SOAP12, "Envelope"), nsmap={"env": NS_SOAP12})
    etree.SubElement(env, _q(NS_SOAP12, "Body")).append(body_child)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _feil_element(feiltype: str, detail: str) -> etree._Element:
    feil = etree.Element(_q(NS_SDP, "feil"), nsmap={"sdp": NS_SDP})
    etree.SubElement(feil, _q(NS_SDP, "tidspunkt")).text = _ts(_now())
    etree.SubElement(feil, _q(NS_SDP, "feiltype")).text = feiltype
    if detail:
        etree.SubElement(feil, _q(NS_SDP, "detaljer")).text = detail[:1000]
    return feil


def _fault_body(fault: _SoapFault) -> bytes:
    el = etree.Element(_q(NS_SOAP12, "Fault"), nsmap={"env": NS_SOAP12})
    code = etree.SubElement(el, _q(NS_SOAP12, "Code"))
    etree.SubElement(code, _q(NS_SOAP12, "Value")).text = (
        "env:Sender" if fault.feiltype == "KLIENT" else "env:Receiver"
    )
    reason = etree.SubElement(el, _q(NS_SOAP12, "Reason"))
    text = etree.SubElement(reason, _q(NS_SOAP12, "Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = f"feil {fault.feiltype}: {fault.detail}"
    etree.SubElement(el, _q(NS_SOAP12, "Detail")).append(_feil_element(fault.feiltype, fault.detail))
    return _envelope(el)


def _text(el: etree._Element, path: str) -> str:
    found = el.find(path, namespaces={"pb": NS_POSTBOX, "sdp": NS_SDP, "sbd": NS_SBDH, "ds": NS_DS})
    return (found.text or "").strip() if found is not None else ""


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _q(ns, name), **attrs)
    if text is not None:
        el.text = text
    return el


# ------------------------------------------------------------------------------------------------
# the app


class PostboxSimulator:
    """WSGI app of one vendor (``vendor_orgnr``)."""

    def __init__(
        self,
        seed: Seed,
        vendor_orgnr: str,
        state: PostboxSimState | None = None,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seed = seed
        self.vendor_orgnr = vendor_orgnr
        self.state = state or DEFAULT_STATE
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self.state.vendor(vendor_orgnr)  # appear in the stats from the start

    # -- WSGI ---------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "GET":
            return self._get(environ, start_response)
        if method != "POST":
            return self._respond(start_response, 405, b"method not allowed", "text/plain")
        try:
            body = self._read_body(environ)
            payload = self._dispatch(body)
            return self._respond(start_response, 200, _envelope(payload), CONTENT_TYPE)
        except _SoapFault as fault:
            return self._respond(start_response, fault.status, _fault_body(fault), CONTENT_TYPE)
        except Exception:  # never a stack trace or an HTML page to the client
            log.exception("postbox simulator %s: internal error", self.vendor_orgnr)
            return self._respond(
                start_response,
                500,
                _fault_body(_SoapFault("SERVER", "internal simulator error")),
                CONTENT_TYPE,
            )

    def _respond(
        self, start_response: Callable[..., Any], status: int, body: bytes, ctype: str
    ) -> list[bytes]:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(
            status, "Error"
        )
        start_response(f"{status} {reason}", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    def _get(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        base = _base_url(environ)
        name = "postbox.wsdl" if ("wsdl" in query or "singleWsdl" in query) else (query.get("xsd") or [""])[0]
        content = _contract_file(name, base) if name else None
        if content is None:
            return self._respond(start_response, 404, b"not found (try ?wsdl)", "text/plain")
        return self._respond(start_response, 200, content, "text/xml; charset=utf-8")

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        ctype = environ.get("CONTENT_TYPE", "")
        if "xml" not in ctype:
            raise _SoapFault(
                "KLIENT", f"unsupported content type {ctype!r}: SOAP 1.2 (application/soap+xml) expected"
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            raise _SoapFault("KLIENT", "empty request body (Content-Length required)")
        if length > self.max_body_bytes:
            raise _SoapFault(
                "KLIENT", f"request of {length} bytes exceeds the limit of {self.max_body_bytes}", 413
            )
        body: bytes = environ["wsgi.input"].read(length)
        return body

    # -- SOAP ---------------------------------------------------------------------------------------

    def _dispatch(self, body: bytes) -> etree._Element:
        try:
            doc = etree.fromstring(
                body, safe_parser(huge_tree=True)
            )  # a letter: one base64 text node up to MAX_BODY_BYTES
        except etree.XMLSyntaxError as exc:
            raise _SoapFault("KLIENT", f"malformed XML: {exc}") from exc
        if doc.getroottree().docinfo.doctype:
            raise _SoapFault("KLIENT", "DTDs are not allowed")
        if doc.tag != _q(NS_SOAP12, "Envelope"):
            raise _SoapFault("KLIENT", "not a SOAP 1.2 envelope")
        soap_body = doc.find(_q(NS_SOAP12, "Body"))
        request = None if soap_body is None else next(iter(soap_body.iterchildren(etree.Element)), None)
        if request is None:
            raise _SoapFault("KLIENT", "empty SOAP body")
        handlers = {
            _q(NS_POSTBOX, "SendDigitalPost"): self._send,
            _q(NS_POSTBOX, "HentKvitteringer"): self._pull,
            _q(NS_POSTBOX, "BekreftKvittering"): self._ack,
        }
        handler = handlers.get(request.tag)
        if handler is None:
            raise _SoapFault("KLIENT", f"unknown operation {request.tag}")
        schema = contract_schema()
        if not schema.validate(request):
            raise _SoapFault(
                "KLIENT", f"request does not match the postbox contract: {schema.error_log.last_error}"
            )
        response = handler(request)
        if not schema.validate(response):  # a simulator bug, not the caller's
            raise RuntimeError(f"simulator built an invalid answer: {schema.error_log.last_error}")
        return response

    # SendDigitalPost
    def _send(self, request: etree._Element) -> etree._Element:
        header = "sbd:StandardBusinessDocument/sbd:StandardBusinessDocumentHeader"
        message_id = _text(request, f"{header}/sbd:DocumentIdentification/sbd:InstanceIdentifier")
        conversation_id = ""
        for scope in request.iterfind(f"{header}/sbd:BusinessScope/sbd:Scope", namespaces={"sbd": NS_SBDH}):
            if _text(scope, "sbd:Type") == "ConversationId":
                conversation_id = _text(scope, "sbd:InstanceIdentifier")
        sender = _text(request, f"{header}/sbd:Sender/sbd:Identifier")
        pid = _text(
            request,
            "sbd:StandardBusinessDocument/sdp:digitalPost/sdp:mottaker/sdp:person/sdp:personidentifikator",
        )
        person = self.seed.person(pid)
        vendor = self.state.vendor(self.vendor_orgnr)
        with self.state.lock:  # counted on arrival: a test can see a send that is not answered yet
            vendor.arrivals[message_id] = arrival = vendor.arrivals.get(message_id, 0) + 1
        delay = person.behaviour.delay_seconds
        if delay > 0 and (person.behaviour.delay_sends <= 0 or arrival <= person.behaviour.delay_sends):
            self._sleep(delay)

        problem = self._check(request, person)  # pure: decoding and hashing need no lock
        with self.state.lock:
            vendor.answers[message_id] = vendor.answers.get(message_id, 0) + 1
            vendor.sends += 1
            if message_id in vendor.accepted_at:
                vendor.duplicates += 1
                return self._accepted(
                    message_id, conversation_id, vendor.accepted_at[message_id], duplicate=True
                )
            if problem:
                vendor.rejected += 1
                raise _SoapFault("KLIENT", problem)
            behaviour = person.behaviour
            if behaviour.on_send == "reject":
                vendor.rejected += 1
                raise _SoapFault("KLIENT", f"the postbox of {pid} refuses this letter (simulated rejection)")
            if behaviour.on_send == "fail_then_deliver":
                vendor.attempts[message_id] = vendor.attempts.get(message_id, 0) + 1
                if vendor.attempts[message_id] <= behaviour.failures:
                    vendor.server_failures += 1
                    raise _SoapFault(
                        "SERVER",
                        f"temporary failure {vendor.attempts[message_id]}/{behaviour.failures} (simulated), try again",
                    )
            elif behaviour.on_send != "deliver":
                vendor.server_failures += 1
                raise _SoapFault("SERVER", f"simulator seed has unknown on_send {behaviour.on_send!r}")
            now = _now()
            vendor.accepted += 1
            vendor.accepted_at[message_id] = now
            vendor.delivered[message_id] = vendor.delivered.get(message_id, 0) + 1
            for kind, channel, detail in self._receipts_for(request, person):
                receipt = SimReceipt(
                    receipt_id=str(uuid.uuid4()),
                    message_id=message_id,
                    conversation_id=conversation_id,
                    recipient=sender,
                    kind=kind,
                    timestamp=_now(),
                    channel=channel,
                    detail=detail,
                )
                vendor.queue[receipt.receipt_id] = receipt
            return self._accepted(message_id, conversation_id, now, duplicate=False)

    def _check(self, request: etree._Element, person: SeedPerson) -> str:
        """Why the message is refused with feil KLIENT ('' when it is fine)."""
        receiver = _text(
            request,
            "sbd:StandardBusinessDocument/sbd:StandardBusinessDocumentHeader/sbd:Receiver/sbd:Identifier",
        )
        if receiver.rpartition(":")[2] != self.vendor_orgnr:
            return f"SBDH Receiver {receiver!r} is not this postbox vendor ({self.vendor_orgnr})"
        doc_type = _text(
            request,
            "sbd:StandardBusinessDocument/sbd:StandardBusinessDocumentHeader/sbd:DocumentIdentification/sbd:Type",
        )
        if doc_type != "digitalPost":
            return f"SBDH DocumentIdentification/Type {doc_type!r}: digitalPost expected"
        post = request.find(f"{{{NS_SBDH}}}StandardBusinessDocument/{{{NS_SDP}}}digitalPost")
        if post is None:
            return "the Standard Business Document holds no digitalPost"
        pid = person.id
        has_postbox = (
            person.status == "AKTIV"
            and person.reservasjon == "NEI"
            and person.postkasseadresse
            and person.vendor
        )
        if not has_postbox:
            return f"recipient {pid} has no postbox"
        if person.vendor != self.vendor_orgnr:
            return f"recipient {pid} has no postbox with this vendor ({self.vendor_orgnr})"
        address = _text(post, "sdp:mottaker/sdp:person/sdp:postkasseadresse")
        if address != person.postkasseadresse:
            return f"postkasseadresse {address!r} does not belong to recipient {pid}"
        # document package: manifest names exactly the files sent, fingerprint matches
        package = request.find(f"{{{NS_POSTBOX}}}Dokumentpakke")
        assert package is not None  # schema-validated
        files: dict[str, bytes] = {}
        for doc in package.iterfind(f"{{{NS_POSTBOX}}}Dokument"):
            try:
                files[doc.get("href", "")] = base64.b64decode((doc.text or "").strip(), validate=True)
            except (binascii.Error, ValueError):
                return f"document {doc.get('href')!r} is not valid base64"
        manifest = package.find(f"{{{NS_SDP}}}manifest")
        assert manifest is not None
        hrefs = [
            el.get("href", "")
            for el in manifest
            if el.tag in (_q(NS_SDP, "hoveddokument"), _q(NS_SDP, "vedlegg"))
        ]
        if sorted(hrefs) != sorted(files) or len(set(hrefs)) != len(hrefs):
            return f"manifest names {hrefs}, the package holds {sorted(files)}"
        outer = hashlib.sha256()
        for href in hrefs:
            outer.update(hashlib.sha256(files[href]).digest())
        sent = _text(post, "sdp:dokumentpakkefingeravtrykk/ds:DigestValue")
        if base64.b64decode(sent or "") != outer.digest():
            return "dokumentpakkefingeravtrykk does not match the document package"
        if not files[hrefs[0]]:
            return "the primary document is empty"
        return ""

    def _receipts_for(self, request: etree._Element, person: SeedPerson) -> list[tuple[str, str | None, str]]:
        out: list[tuple[str, str | None, str]] = [("levering", None, "")]
        varsler = request.find(
            f"{{{NS_SBDH}}}StandardBusinessDocument/{{{NS_SDP}}}digitalPost/{{{NS_SDP}}}digitalPostInfo/{{{NS_SDP}}}varsler"
        )
        if varsler is not None:
            if varsler.find(f"{{{NS_SDP}}}epostVarsel") is not None:
                if not (_text(varsler, "sdp:epostVarsel/sdp:epostadresse") or person.epost):
                    out.append(("varslingfeilet", "EPOST", "no e-mail address for the recipient"))
            if varsler.find(f"{{{NS_SDP}}}smsVarsel") is not None:
                if not (_text(varsler, "sdp:smsVarsel/sdp:mobiltelefonnummer") or person.mobil):
                    out.append(("varslingfeilet", "SMS", "no mobile number for the recipient"))
        if person.behaviour.open:
            out.append(("aapning", None, ""))
        return out

    def _accepted(
        self, message_id: str, conversation_id: str, at: datetime, *, duplicate: bool
    ) -> etree._Element:
        el = etree.Element(_q(NS_POSTBOX, "SendDigitalPostResponse"), nsmap={"pb": NS_POSTBOX})
        _sub(el, NS_POSTBOX, "InstanceIdentifier", message_id)
        _sub(el, NS_POSTBOX, "ConversationId", conversation_id)
        _sub(el, NS_POSTBOX, "Mottatt", _ts(at))
        _sub(el, NS_POSTBOX, "duplicate", "true" if duplicate else "false")
        return el

    # HentKvitteringer
    def _pull(self, request: etree._Element) -> etree._Element:
        max_count = int(_text(request, "pb:MaksAntall"))
        with self.state.lock:
            queue = self.state.vendor(self.vendor_orgnr).queue
            items = list(queue.values())[:max_count]
            more = len(queue) > len(items)
        el = etree.Element(
            _q(NS_POSTBOX, "HentKvitteringerResponse"),
            nsmap={"pb": NS_POSTBOX, "sbd": NS_SBDH, "sdp": NS_SDP},
        )
        for receipt in items:
            item = _sub(el, NS_POSTBOX, "KoetKvittering")
            _sub(item, NS_POSTBOX, "KvitteringsId", receipt.receipt_id)
            item.append(self._receipt_sbd(receipt))
        _sub(el, NS_POSTBOX, "Flere", "true" if more else "false")
        return el

    def _receipt_sbd(self, r: SimReceipt) -> etree._Element:
        sbd = etree.Element(_q(NS_SBDH, "StandardBusinessDocument"))
        header = _sub(sbd, NS_SBDH, "StandardBusinessDocumentHeader")
        _sub(header, NS_SBDH, "HeaderVersion", "1.0")
        _sub(
            _sub(header, NS_SBDH, "Sender"),
            NS_SBDH,
            "Identifier",
            f"0192:{self.vendor_orgnr}",
            Authority=AUTHORITY,
        )
        _sub(
            _sub(header, NS_SBDH, "Receiver"),
            NS_SBDH,
            "Identifier",
            r.recipient or "0192:000000000",
            Authority=AUTHORITY,
        )
        ident = _sub(header, NS_SBDH, "DocumentIdentification")
        _sub(ident, NS_SBDH, "Standard", SDP_STANDARD)
        _sub(ident, NS_SBDH, "TypeVersion", "1.0")
        _sub(ident, NS_SBDH, "InstanceIdentifier", r.receipt_id)
        _sub(ident, NS_SBDH, "Type", "feil" if r.kind == "feil" else "kvittering")
        _sub(ident, NS_SBDH, "CreationDateAndTime", _ts(r.timestamp))
        scope = _sub(_sub(header, NS_SBDH, "BusinessScope"), NS_SBDH, "Scope")
        _sub(scope, NS_SBDH, "Type", "ConversationId")
        _sub(scope, NS_SBDH, "InstanceIdentifier", r.conversation_id)
        _sub(scope, NS_SBDH, "Identifier", SDP_STANDARD)
        corr = _sub(scope, NS_SBDH, "CorrelationInformation")
        _sub(corr, NS_SBDH, "RequestingDocumentInstanceIdentifier", r.message_id)
        if r.kind == "feil":
            feil = _feil_element(r.feiltype or "SERVER", r.detail)
            feil.find(_q(NS_SDP, "tidspunkt")).text = _ts(r.timestamp)  # type: ignore[union-attr]
            sbd.append(feil)
            return sbd
        kv = _sub(sbd, NS_SDP, "kvittering")
        _sub(kv, NS_SDP, "tidspunkt", _ts(r.timestamp))
        kind = _sub(kv, NS_SDP, r.kind)
        if r.kind == "varslingfeilet":
            _sub(kind, NS_SDP, "varslingskanal", r.channel or "EPOST")
            if r.detail:
                _sub(kind, NS_SDP, "beskrivelse", r.detail[:1000])
        return sbd

    # BekreftKvittering
    def _ack(self, request: etree._Element) -> etree._Element:
        receipt_id = _text(request, "pb:KvitteringsId")
        with self.state.lock:
            removed = self.state.vendor(self.vendor_orgnr).queue.pop(receipt_id, None) is not None
        el = etree.Element(_q(NS_POSTBOX, "BekreftKvitteringResponse"), nsmap={"pb": NS_POSTBOX})
        _sub(el, NS_POSTBOX, "Fjernet", "true" if removed else "false")
        return el


def _base_url(environ: Mapping[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_HOST")
        or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
    )
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"


def make_postbox_app(seed: Seed, vendor_orgnr: str, state: PostboxSimState | None = None) -> PostboxSimulator:
    """The WSGI app of one simulated vendor; apps given the same ``state`` share counters and queues."""
    return PostboxSimulator(seed, vendor_orgnr, state)


def make_postbox_router(
    seed: Seed,
    vendor_orgnrs: Iterable[str] | None = None,
    state: PostboxSimState | None = None,
    prefix: str = "/postbox/",
) -> WSGIApp:
    """One WSGI app serving ``<prefix><orgnr>`` for each vendor (default: every vendor in the seed)."""
    state = state or DEFAULT_STATE
    apps = {orgnr: make_postbox_app(seed, orgnr, state) for orgnr in (vendor_orgnrs or seed.vendors)}

    def router(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(prefix):
            orgnr = path[len(prefix) :].strip("/")
            app = apps.get(orgnr)
            if app is not None:
                environ = dict(environ)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix + orgnr
                environ["PATH_INFO"] = ""
                return app(environ, start_response)
        body = f"no simulated postbox vendor at {path}".encode()
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return router
