"""KRR simulator: a SOAP 1.2 server speaking the oppslagstjeneste 16-02 contract (``wsdl/krr/``).

Design choice: a small lxml-based WSGI application rather than spyne. The simulator has to check
WS-Security signatures over the *raw* envelope (xmlsec needs the exact document the client signed),
answer with SOAP 1.2 ``Sender``/``Receiver`` faults of its own choosing, inject failures (plain HTTP
500, slow answers) and validate requests against the project's own XSD, which is the contract under
test. spyne would re-describe the contract in Python classes (a second source of truth) and, as noted
in docs/architecture.md, has no WS-Security and awkward SOAP 1.2 faults. Here the request body is
validated with ``lxml.etree.XMLSchema`` built from ``wsdl/krr/oppslagstjeneste-ws-16-02.xsd`` and so
is every response the simulator writes (a seed that breaks the contract gives a ``Receiver`` fault
naming the problem instead of a silently invalid answer).

Behaviour (``HentPersoner``), per requested ``personidentifikator`` from ``simulators.seed``:

- ``AKTIV``: ``reservasjon`` and ``status``; ``varslingsstatus`` (informasjonsbehov
  ``VarslingsStatus``: the seed's ``varslingsstatus`` if given, else ``KAN_VARSLES`` when not
  reserved and an e-mail or mobile is seeded);
  ``Kontaktinformasjon`` (``Kontaktinfo``) and ``SikkerDigitalPostAdresse`` (``SikkerDigitalPost``,
  only when both postbox address and vendor are seeded), as seeded.
- ``SLETTET`` / ``IKKE_REGISTRERT`` (and ids not in the seed: ``default_person``): only
  ``personidentifikator`` and ``status``.
- more than 1000 ids: SOAP 1.2 ``Sender`` fault, as the real service (the schema allows 1..1000).
- ``HentEndringer``: an empty change list (``fraEndringsNummer`` echoed). ``HentPrintSertifikat``:
  ``Sender`` fault (not simulated).

HTTP: ``POST`` on any path; ``GET ?wsdl`` serves the project's WSDL with the address set to the
requested URL, and ``GET ?xsd=<name>`` the two schema files it imports. Sender faults are answered
with HTTP 400 and Receiver faults with 500 (SOAP 1.2 HTTP binding), ``Content-Type:
application/soap+xml``.

WS-Security: with ``require_signature=True`` every request must carry ``wsse:Security`` with a
``wsu:Timestamp`` (not expired), a ``ds:Signature`` with ``rsa-sha256`` whose references cover the
envelope's own ``soap:Body`` and that ``Timestamp``, and a key: ``trusted_cert_pem`` when given (a
``BinarySecurityToken``, if present, must then be that certificate), otherwise the certificate in the
``BinarySecurityToken``. Anything else is a ``Sender`` fault. Without ``require_signature`` the
security header is ignored.

Test/demo control: ``KrrSimState`` (``app.state``) counts calls and injects failures; the lead's
``/_sim/krr`` endpoint exposes ``krr_state_json(state)`` and ``krr_control(state, payload)``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import xmlsec
from lxml import etree

from service import ns
from service.xml import safe_parser
from simulators.seed import Seed, SeedPerson, load_seed

WSDL_DIR = Path(__file__).resolve().parent.parent / "wsdl" / "krr"
WSDL_FILE = "oppslagstjeneste-ws-16-02.wsdl"
XSD_FILES = ("oppslagstjeneste-ws-16-02.xsd", "oppslagstjeneste-metadata-16-02.xsd")

NS_SOAP12 = ns.SOAP12_ENV
NS_OT = ns.KRR_OPPSLAGSTJENESTE
NS_M = ns.KRR_METADATA
NS_WSDL_SOAP12 = ns.WSDL_SOAP12
NS_XS = ns.XSD
NS_WSSE = ns.WSSE
NS_WSU = ns.WSU
NS_DS = ns.DS
RSA_SHA256 = ns.DS_RSA_SHA256

MAX_IDS = 1000
MAX_BODY_BYTES = 10 * 1024 * 1024
MODES = ("normal", "fault", "slow", "http500", "hold")
SOAP_CT = "application/soap+xml; charset=utf-8"

StartResponse = Callable[..., Any]


class KrrSimState:
    """Thread-safe counters and failure injection of one simulator instance.

    ``calls``: ``HentPersoner`` requests that passed envelope parsing and (when required) the
    signature check, counted *before* the failure mode is applied, so attempts of a retrying client
    are visible in every mode. ``batch_sizes``: ids per such call. ``paa_vegne_av``: the
    ``Oppslagstjenesten/PaaVegneAv`` header value per call (``None`` when absent).
    ``refused``: requests answered with a Sender fault for security/validation reasons.
    """

    def apply_mode(self, mode: str, slow_seconds: float, fault: Callable[[], Exception]) -> None:
        """Act out failure ``mode`` for one call (both protocols): ``hold`` until the mode changes
        (tests release it), at most ``slow_seconds``, then answer normally; ``fault``: raise
        ``fault()`` (the protocol's own error); ``http500``: ``Http500``; ``slow``: sleep first."""
        if mode == "hold":
            deadline = time.monotonic() + slow_seconds
            while self.mode == "hold" and time.monotonic() < deadline:
                time.sleep(0.01)
            return
        if mode == "fault":
            raise fault()
        if mode == "http500":
            raise Http500()
        if mode == "slow":
            time.sleep(slow_seconds)

    def __init__(self, mode: str = "normal", slow_seconds: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._mode = "normal"
        self._slow_seconds = slow_seconds
        self._calls = 0
        self._requests = 0
        self._refused = 0
        self._batch_sizes: list[int] = []
        self._paa_vegne_av: list[str | None] = []
        self._reject_tokens = 0  # KRR REST: answer this many next calls 401 (a token KRR no longer takes)
        self._tokens_rejected = 0
        self.set_mode(mode)

    # -- read side -----------------------------------------------------------------------------
    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def refused(self) -> int:
        with self._lock:
            return self._refused

    @property
    def batch_sizes(self) -> list[int]:
        with self._lock:
            return list(self._batch_sizes)

    @property
    def paa_vegne_av(self) -> list[str | None]:
        with self._lock:
            return list(self._paa_vegne_av)

    @property
    def mode(self) -> str:
        with self._lock:
            return self._mode

    @property
    def slow_seconds(self) -> float:
        with self._lock:
            return self._slow_seconds

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "mode": self._mode,
                "slow_seconds": self._slow_seconds,
                "calls": self._calls,
                "requests": self._requests,
                "refused": self._refused,
                "batch_sizes": list(self._batch_sizes),
                "paa_vegne_av": list(self._paa_vegne_av),
                "reject_tokens": self._reject_tokens,
                "tokens_rejected": self._tokens_rejected,
            }

    # -- write side ----------------------------------------------------------------------------
    def set_mode(self, mode: str, slow_seconds: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown KRR simulator mode {mode!r}; expected one of {', '.join(MODES)}")
        if slow_seconds is not None and slow_seconds < 0:
            raise ValueError("slow_seconds must be >= 0")
        with self._lock:
            self._mode = mode
            if slow_seconds is not None:
                self._slow_seconds = float(slow_seconds)

    def reset(self) -> None:
        """Zero the counters (mode and slow_seconds are kept)."""
        with self._lock:
            self._calls = 0
            self._requests = 0
            self._refused = 0
            self._batch_sizes.clear()
            self._paa_vegne_av.clear()
            self._tokens_rejected = 0

    def control(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{"reset": true, "mode": "slow", "slow_seconds": 2.5, "reject_tokens": 1}`` (all keys
        optional; ``reject_tokens``: the REST simulator answers that many next calls 401).

        Returns the new state (``to_json``). Raises ``ValueError`` on unknown keys or values.
        """
        unknown = set(payload) - {"reset", "mode", "slow_seconds", "reject_tokens"}
        if unknown:
            raise ValueError(f"unknown KRR simulator control keys: {', '.join(sorted(unknown))}")
        if payload.get("reset"):
            self.reset()
        slow = payload.get("slow_seconds")
        if slow is not None and not isinstance(slow, (int, float)):
            raise ValueError("slow_seconds must be a number")
        if "mode" in payload or slow is not None:
            self.set_mode(str(payload.get("mode", self.mode)), None if slow is None else float(slow))
        if "reject_tokens" in payload:
            with self._lock:
                self._reject_tokens = max(0, int(payload["reject_tokens"]))
        return self.to_json()

    def take_token_rejection(self) -> bool:
        """True (once per ``reject_tokens``) when this REST call is to be answered 401."""
        with self._lock:
            if self._reject_tokens > 0:
                self._reject_tokens -= 1
                self._tokens_rejected += 1
                return True
            return False

    # -- used by the app -----------------------------------------------------------------------
    def _count_request(self) -> None:
        with self._lock:
            self._requests += 1

    def _count_refused(self) -> None:
        with self._lock:
            self._refused += 1

    def _count_call(self, batch_size: int, paa_vegne_av: str | None) -> tuple[str, float]:
        with self._lock:
            self._calls += 1
            self._batch_sizes.append(batch_size)
            self._paa_vegne_av.append(paa_vegne_av)
            return self._mode, self._slow_seconds


def krr_state_json(state: KrrSimState) -> dict[str, Any]:
    """The simulator state as a JSON-serialisable dict (for ``GET /_sim/krr``)."""
    return state.to_json()


def krr_control(state: KrrSimState, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply a control payload (see ``KrrSimState.control``) and return the new state."""
    return state.control(payload)


class SoapFault(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code  # "Sender" | "Receiver"
        self.reason = reason


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _load_schema() -> etree.XMLSchema:
    doc = etree.parse(str(WSDL_DIR / XSD_FILES[0]), safe_parser())
    return etree.XMLSchema(doc)


def _fault_envelope(code: str, reason: str) -> bytes:
    env = etree.Element(_q(NS_SOAP12, "Envelope"), nsmap={"env": NS_SOAP12})
    etree.SubElement(env, _q(NS_SOAP12, "Header"))
    body = etree.SubElement(env, _q(NS_SOAP12, "Body"))
    fault = etree.SubElement(body, _q(NS_SOAP12, "Fault"))
    code_el = etree.SubElement(fault, _q(NS_SOAP12, "Code"))
    etree.SubElement(code_el, _q(NS_SOAP12, "Value")).text = f"env:{code}"
    reason_el = etree.SubElement(fault, _q(NS_SOAP12, "Reason"))
    text = etree.SubElement(reason_el, _q(NS_SOAP12, "Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _envelope(payload: etree._Element) -> bytes:
    env = etree.Element(_q(NS_SOAP12, "Envelope"), nsmap={"env": NS_SOAP12})
    etree.SubElement(env, _q(NS_SOAP12, "Header"))
    body = etree.SubElement(env, _q(NS_SOAP12, "Body"))
    body.append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _parse_xs_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


class SignatureChecker:
    """Verifies the WS-Security signature of a request envelope (see module docstring)."""

    clock_skew = dt.timedelta(minutes=5)

    def __init__(self, trusted_cert_pem: bytes | None) -> None:
        self.trusted_der: bytes | None = None
        if trusted_cert_pem is not None:
            from cryptography import x509
            from cryptography.hazmat.primitives.serialization import Encoding

            self.trusted_der = x509.load_pem_x509_certificate(trusted_cert_pem).public_bytes(Encoding.DER)

    def check(self, envelope: etree._Element) -> None:
        def refuse(why: str) -> SoapFault:
            return SoapFault("Sender", f"WS-Security: {why}")

        header = envelope.find(_q(NS_SOAP12, "Header"))
        body = envelope.find(_q(NS_SOAP12, "Body"))
        security = header.find(_q(NS_WSSE, "Security")) if header is not None else None
        if security is None or body is None:
            raise refuse("the request carries no wsse:Security header; a signed request is required")
        signatures = security.findall(_q(NS_DS, "Signature"))
        timestamps = security.findall(_q(NS_WSU, "Timestamp"))
        if len(signatures) != 1:
            raise refuse("exactly one ds:Signature is required in wsse:Security")
        if len(timestamps) != 1:
            raise refuse("exactly one wsu:Timestamp is required in wsse:Security")
        signature, timestamp = signatures[0], timestamps[0]

        method = signature.find(f"{_q(NS_DS, 'SignedInfo')}/{_q(NS_DS, 'SignatureMethod')}")
        if method is None or method.get("Algorithm") != RSA_SHA256:
            raise refuse("the signature method must be rsa-sha256")

        body_id, ts_id = body.get(_q(NS_WSU, "Id")), timestamp.get(_q(NS_WSU, "Id"))
        refs = {
            (r.get("URI") or "")
            for r in signature.iterfind(f"{_q(NS_DS, 'SignedInfo')}/{_q(NS_DS, 'Reference')}")
        }
        if not body_id or f"#{body_id}" not in refs:
            raise refuse("soap:Body is not signed")
        if not ts_id or f"#{ts_id}" not in refs:
            raise refuse("wsu:Timestamp is not signed")
        # Each referenced id must name exactly one element (no signature wrapping via duplicate ids).
        for ref in refs:
            if not ref.startswith("#"):
                raise refuse(f"unsupported reference {ref!r}")
            hits = envelope.xpath("//*[@wsu:Id=$id]", namespaces={"wsu": NS_WSU}, id=ref[1:])
            if len(hits) != 1:
                raise refuse(f"reference {ref} does not identify exactly one element")

        now = dt.datetime.now(dt.UTC)
        try:
            created = _parse_xs_datetime(timestamp.findtext(_q(NS_WSU, "Created")) or "")
            expires_text = timestamp.findtext(_q(NS_WSU, "Expires"))
            expires = _parse_xs_datetime(expires_text) if expires_text else None
        except ValueError as exc:
            raise refuse(f"malformed wsu:Timestamp ({exc})") from None
        if created > now + self.clock_skew:
            raise refuse("wsu:Timestamp Created lies in the future")
        if expires is not None and expires < now - self.clock_skew:
            raise refuse("wsu:Timestamp has expired")

        cert_der = self._token_der(security, signature)
        if self.trusted_der is not None:
            if cert_der is not None and cert_der != self.trusted_der:
                raise refuse("the signing certificate is not trusted")
            cert_der = self.trusted_der
        if cert_der is None:
            raise refuse("no wsse:BinarySecurityToken with the signing certificate")
        pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(cert_der) + b"-----END CERTIFICATE-----\n"

        try:
            key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem, None)
            ctx = xmlsec.SignatureContext()
            ctx.key = key
            ctx.register_id(body, "Id", NS_WSU)
            ctx.register_id(timestamp, "Id", NS_WSU)
            ctx.verify(signature)
        except xmlsec.Error as exc:
            raise refuse(f"signature verification failed ({exc})") from None

    @staticmethod
    def _token_der(security: etree._Element, signature: etree._Element) -> bytes | None:
        ref = signature.find(
            f"{_q(NS_DS, 'KeyInfo')}/{_q(NS_WSSE, 'SecurityTokenReference')}/{_q(NS_WSSE, 'Reference')}"
        )
        tokens = security.findall(_q(NS_WSSE, "BinarySecurityToken"))
        if ref is not None and (ref.get("URI") or "").startswith("#"):
            wanted = (ref.get("URI") or "")[1:]
            tokens = [t for t in tokens if t.get(_q(NS_WSU, "Id")) == wanted]
        if len(tokens) != 1:
            return None
        try:
            return base64.b64decode("".join((tokens[0].text or "").split()), validate=True)
        except ValueError:
            return None


class KrrSimulatorApp:
    """The WSGI application returned by ``make_krr_app``; ``state`` is its ``KrrSimState``."""

    def __init__(
        self,
        seed: Seed,
        require_signature: bool = False,
        trusted_cert_pem: bytes | None = None,
        state: KrrSimState | None = None,
    ) -> None:
        self.seed = seed
        self.require_signature = require_signature
        self.state = state or KrrSimState()
        self.schema = _load_schema()
        self.checker = SignatureChecker(trusted_cert_pem) if require_signature else None
        self._schema_lock = threading.Lock()  # lxml XMLSchema objects are not thread-safe
        # informasjonsbehov Sertifikat: the postbox certificate (base64 DER) of a seed person, or None;
        # simulators/app.py sets it to the KRR REST simulator's, so both protocols give the same one
        self.certificate_of: Callable[[SeedPerson], str | None] = lambda _p: None

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET":
            return self._get(environ, start_response)
        if method != "POST":
            return self._plain(start_response, "405 Method Not Allowed", b"POST a SOAP 1.2 envelope\n")
        self.state._count_request()
        try:
            status, body = self._post(environ)
        except SoapFault as fault:
            status = "400 Bad Request" if fault.code == "Sender" else "500 Internal Server Error"
            body = _fault_envelope(fault.code, fault.reason)
        except Http500:
            return self._plain(start_response, "500 Internal Server Error", b"simulated HTTP 500\n")
        start_response(status, [("Content-Type", SOAP_CT), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
        start_response(
            status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _base_url(self, environ: dict[str, Any]) -> str:
        scheme = environ.get("wsgi.url_scheme", "http")
        host = (
            environ.get("HTTP_HOST")
            or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"

    def _get(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        base = self._base_url(environ)
        if "wsdl" in query:
            doc = etree.parse(str(WSDL_DIR / WSDL_FILE), safe_parser())
            for addr in doc.iter(_q(NS_WSDL_SOAP12, "address")):
                addr.set("location", base)
            self._rewrite_locations(doc, base)
        elif query.get("xsd", [""])[0] in XSD_FILES:
            doc = etree.parse(str(WSDL_DIR / query["xsd"][0]), safe_parser())
            self._rewrite_locations(doc, base)
        else:
            return self._plain(start_response, "404 Not Found", b"GET ?wsdl or ?xsd=<name>; POST SOAP 1.2\n")
        body = etree.tostring(doc, xml_declaration=True, encoding="utf-8")
        start_response(
            "200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]

    @staticmethod
    def _rewrite_locations(doc: etree._ElementTree, base: str) -> None:
        for imp in doc.iter(_q(NS_XS, "import"), _q(NS_XS, "include")):
            loc = imp.get("schemaLocation")
            if loc in XSD_FILES:
                imp.set("schemaLocation", f"{base}?xsd={loc}")

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise SoapFault("Sender", f"request larger than {MAX_BODY_BYTES} bytes")
        if length <= 0:
            raise SoapFault("Sender", "empty request body; POST a SOAP 1.2 envelope")
        data: bytes = environ["wsgi.input"].read(length)
        return data

    # -- SOAP ----------------------------------------------------------------------------------
    def _post(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        raw = self._read_body(environ)
        try:
            doc = etree.fromstring(raw, safe_parser()).getroottree()
        except etree.XMLSyntaxError as exc:
            self.state._count_refused()
            raise SoapFault("Sender", f"malformed XML: {exc}") from None
        if doc.docinfo.doctype:
            self.state._count_refused()
            raise SoapFault("Sender", "DOCTYPE is not allowed")
        envelope = doc.getroot()
        if envelope.tag != _q(NS_SOAP12, "Envelope"):
            self.state._count_refused()
            raise SoapFault(
                "Sender", "not a SOAP 1.2 envelope (namespace http://www.w3.org/2003/05/soap-envelope)"
            )
        body = envelope.find(_q(NS_SOAP12, "Body"))
        payload = [c for c in body if isinstance(c.tag, str)] if body is not None else []
        if len(payload) != 1:
            self.state._count_refused()
            raise SoapFault("Sender", "soap:Body must contain exactly one element")
        if self.checker is not None:
            try:
                self.checker.check(envelope)
            except SoapFault:
                self.state._count_refused()
                raise
        request = payload[0]
        paa_vegne_av = self._header(envelope)

        if request.tag == _q(NS_OT, "HentPersonerForespoersel"):
            ids = [e.text or "" for e in request.iter(_q(NS_OT, "personidentifikator"))]
            mode, slow = self.state._count_call(len(ids), paa_vegne_av)
            self.state.apply_mode(
                mode, slow, lambda: SoapFault("Receiver", "Simulated KRR failure (mode=fault)")
            )
            if len(ids) > MAX_IDS:
                raise SoapFault(
                    "Sender", f"Too many personidentifikator: {len(ids)} (maximum {MAX_IDS} per request)"
                )
            self._validate(request, "request")
            return "200 OK", _envelope(self._hent_personer(request, ids))
        if request.tag == _q(NS_OT, "HentEndringerForespoersel"):
            self.state.apply_mode(
                self.state.mode,
                self.state.slow_seconds,
                lambda: SoapFault("Receiver", "Simulated KRR failure (mode=fault)"),
            )
            self._validate(request, "request")
            fra = request.get("fraEndringsNummer", "0")
            resp = etree.Element(_q(NS_OT, "HentEndringerRespons"), nsmap={"ns": NS_OT, "m": NS_M})
            resp.set("fraEndringsNummer", fra)
            resp.set("tilEndringsNummer", fra)
            resp.set("senesteEndringsNummer", fra)
            return "200 OK", _envelope(resp)
        if request.tag == _q(NS_OT, "HentPrintSertifikatForespoersel"):
            raise SoapFault("Sender", "HentPrintSertifikat is not offered by the KRR simulator")
        raise SoapFault("Sender", f"unknown operation element {request.tag}")

    def _header(self, envelope: etree._Element) -> str | None:
        header = envelope.find(_q(NS_SOAP12, "Header"))
        if header is None:
            return None
        el = header.find(_q(NS_OT, "Oppslagstjenesten"))
        if el is None:
            return None
        self._validate(el, "Oppslagstjenesten header")
        return el.findtext(_q(NS_OT, "PaaVegneAv"))

    def _validate(self, element: etree._Element, what: str) -> None:
        tree = etree.ElementTree(copy.deepcopy(element))
        with self._schema_lock:
            ok = self.schema.validate(tree)
            errors = "; ".join(f"line {e.line}: {e.message}" for e in list(self.schema.error_log)[:3])
        if not ok:
            if what == "response":
                raise SoapFault("Receiver", f"simulator seed gives an invalid response: {errors}")
            self.state._count_refused()
            raise SoapFault("Sender", f"{what} does not match the oppslagstjeneste 16-02 schema: {errors}")

    def _hent_personer(self, request: etree._Element, ids: list[str]) -> etree._Element:
        behov = {e.text for e in request.iter(_q(NS_OT, "informasjonsbehov"))}
        resp = etree.Element(_q(NS_OT, "HentPersonerRespons"), nsmap={"ns": NS_OT, "m": NS_M})
        for pid in ids:
            resp.append(self._person(self.seed.person(pid), pid, behov, self.certificate_of))
        self._validate(resp, "response")
        return resp

    @staticmethod
    def _person(
        p: SeedPerson,
        pid: str,
        behov: set[str | None],
        certificate_of: Callable[[SeedPerson], str | None] = lambda _p: None,
    ) -> etree._Element:
        def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
            el = etree.SubElement(parent, _q(NS_M, name))
            if text is not None:
                el.text = text
            return el

        person = etree.Element(_q(NS_M, "Person"))
        sub(person, "personidentifikator", pid)
        if p.status != "AKTIV":
            sub(person, "status", p.status)
            return person
        reservasjon = p.reservasjon or "NEI"
        sub(person, "reservasjon", reservasjon)
        sub(person, "status", p.status)
        if "VarslingsStatus" in behov:
            kan = reservasjon == "NEI" and bool(p.epost or p.mobil)
            status = p.varslingsstatus or ("KAN_VARSLES" if kan else "KAN_IKKE_VARSLES")
            sub(person, "varslingsstatus", status)
        if "Kontaktinfo" in behov and (p.mobil or p.epost):
            kontakt = sub(person, "Kontaktinformasjon")
            if p.mobil:
                sub(kontakt, "Mobiltelefonnummer", p.mobil)
            if p.epost:
                sub(kontakt, "Epostadresse", p.epost)
        if "SikkerDigitalPost" in behov and p.postkasseadresse and p.vendor:
            sdp = sub(person, "SikkerDigitalPostAdresse")
            sub(sdp, "postkasseadresse", p.postkasseadresse)
            sub(sdp, "postkasseleverandoerAdresse", p.vendor)
            cert = certificate_of(p) if "Sertifikat" in behov and reservasjon == "NEI" else None
            if cert:
                sub(person, "X509Sertifikat", cert)
        return person


class Http500(Exception):
    """The ``http500`` mode: answer a bare HTTP 500 (a proxy's error page, not KRR's)."""


def make_krr_app(
    seed: Seed | None = None,
    require_signature: bool = False,
    trusted_cert_pem: bytes | None = None,
    state: KrrSimState | None = None,
) -> KrrSimulatorApp:
    """A WSGI app serving the KRR contract for ``seed`` (default: ``load_seed()``); see module docs."""
    return KrrSimulatorApp(seed or load_seed(), require_signature, trusted_cert_pem, state)
