"""DPI access point simulator ("corner 2", reference/dpi/c2-api/openapi_spec.yaml) with the postbox
vendors (Digipost, e-Boks) behind it, mounted at ``/dpi`` by ``simulators/app.py``.

It checks what the real ones check, in this order:

1. the Maskinporten bearer token (``simulators.bearer.verify_bearer``, scope
   ``digitalpostinnbygger:send``): 401/403 with a problem document;
2. ``POST /messages/out``: multipart with ``forretningsmelding`` (the JWS: RS256, its ``x5c``
   issued by the test CA, the sender's organisation number in the certificate) and ``dokumentpakke``;
   the SBD against Digdir's JSON schemas (when they are at hand: the reference data,
   ``INNBYGGERPOST_REFERENCE_DIR``); ``maskinportentoken`` a valid token of the sender; the
   package fingerprint (SHA-256 of the CMS bytes); a known receiver (postbox vendor). Anything
   wrong: 400 with a problem document. A message id taken before: 409 (counted as a duplicate,
   nothing delivered again);
3. then the vendor, as the real ones do after the 201: decrypts the package with its key
   (``TestPki.postbox(vendor)``), verifies the XAdES signature (test CA) and the manifest (the
   documents present, the postbox address the business message's), finds the person by postbox
   address in the seed, and answers with receipts signed as JWS by its enterprise certificate
   (``TestPki.enterprise(vendor)``): a ``feil`` KLIENT for anything wrong.

Behaviour per person (seed ``behaviour``): ``deliver`` (leveringskvittering, plus
aapningskvittering with ``open``), ``reject`` (feil KLIENT), ``fail_then_deliver`` N (the first N
sends of a message id answered 503: the access point cannot take it now; then deliver), ``feilet``
(status FEILET, no receipt), ``returpost`` (leveringskvittering, then returpostkvittering),
``delay_seconds`` / ``delay_sends`` (answer slowly). A notification (``varsler``) to a person
without that address in the seed gets a varslingfeiletkvittering.

Statuses per message: OPPRETTET on arrival, SENDT once the vendor has it, FEILET when transport
failed. Receipts queue per sender organisation (and ``kanal``) until ``POST /messages/in/{id}/read``.
``/_sim/stats`` shows the counters per vendor (``dpi.vendors``: sends, accepted, duplicates,
rejected, server_failures, delivered per message id, arrivals, answers, queued_receipts).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from clients.dpi import asice, cms, message
from simulators.bearer import BearerError, verify_bearer
from simulators.pki import TestPki
from simulators.seed import Seed, SeedPerson

log = logging.getLogger(__name__)

SCOPE = "digitalpostinnbygger:send"
MAX_BODY_BYTES = 64 * 1024 * 1024
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Problem(Exception):
    """An application/problem+json answer (RFC 7807)."""

    def __init__(
        self, status: int, title: str, detail: str = "", headers: list[tuple[str, str]] | None = None
    ):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or []


@dataclass
class _Vendor:
    sends: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    server_failures: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)

    def to_json(self, queued: int) -> dict[str, Any]:
        return {
            "sends": self.sends,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "server_failures": self.server_failures,
            "delivered": dict(self.delivered),
            "arrivals": dict(self.arrivals),
            "answers": dict(self.answers),
            "queued_receipts": queued,
        }


@dataclass
class _Queued:
    receipt_id: str
    message_id: str
    vendor: str
    sender_orgnr: str
    kanal: str
    kind: str
    forretningsmelding: str


class DpiSimState:
    """Messages, statuses, counters and receipt queues; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.vendors: dict[str, _Vendor] = {}
        self.statuses: dict[str, list[dict[str, str]]] = {}
        self.taken: set[str] = set()
        self.queue: OrderedDict[str, _Queued] = OrderedDict()

    def vendor(self, orgnr: str) -> _Vendor:
        with self.lock:
            return self.vendors.setdefault(orgnr, _Vendor())

    def status(self, message_id: str, status: str, beskrivelse: str = "") -> None:
        with self.lock:
            entry = {"status": status, "timestamp": _now().isoformat(timespec="milliseconds")}
            if beskrivelse:
                entry["beskrivelse"] = beskrivelse
            self.statuses.setdefault(message_id, []).append(entry)

    def reset(self) -> None:
        with self.lock:
            for orgnr in self.vendors:
                self.vendors[orgnr] = _Vendor()
            self.statuses.clear()
            self.taken.clear()
            self.queue.clear()

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            queued: dict[str, int] = {}
            for q in self.queue.values():
                queued[q.vendor] = queued.get(q.vendor, 0) + 1
            return {
                "vendors": {o: v.to_json(queued.get(o, 0)) for o, v in sorted(self.vendors.items())},
                "queued_receipts": len(self.queue),
            }


def _now() -> datetime:
    return datetime.now(UTC)


class DpiSimulator:
    """The WSGI app of the access point (paths relative to its mount point)."""

    def __init__(
        self,
        seed: Seed,
        pki: TestPki,
        state: DpiSimState | None = None,
        schema_dir: Path | None = None,
    ) -> None:
        self.seed = seed
        self.pki = pki
        self.state = state or DpiSimState()
        self.trusted = [pki.ca().certificate]
        self.token_key = pki.signing_key("maskinporten").public_key()
        directory = schema_dir or message.default_schema_dir()
        try:
            self.schemas: message.Schemas | None = message.Schemas(directory)
        except (FileNotFoundError, OSError, ValueError) as exc:
            log.warning(
                "DPI simulator: no JSON schemas at %s (%s); business messages not schema-checked",
                directory,
                exc,
            )
            self.schemas = None
        self._signers: dict[str, message.JwsSigner] = {}
        self._signers_lock = threading.Lock()
        for orgnr in seed.vendors:
            self.state.vendor(orgnr)  # listed in the stats from the start
            pki.postbox(orgnr)  # the vendors' encryption certificates exist before any letter

    # -- WSGI -------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path.startswith("/_sim/"):
                return self._control(path, method, environ, start_response)
            claims = self._authorise(environ)
            parts = [p for p in path.split("/") if p]
            if method == "POST" and parts == ["messages", "out"]:
                status = self._send(environ, claims)
                return _respond(start_response, status, b"", "text/plain")
            if (
                method == "GET"
                and len(parts) == 4
                and parts[:2] == ["messages", "out"]
                and parts[3] == "statuses"
            ):
                with self.state.lock:
                    found = list(self.state.statuses.get(parts[2], []))
                if not found:
                    raise Problem(404, "Not Found", f"no message {parts[2]}")
                return _json(start_response, 200, found)
            if method == "GET" and parts == ["messages", "in"]:
                return self._incoming(environ, claims, start_response)
            if (
                method == "POST"
                and len(parts) == 4
                and parts[:2] == ["messages", "in"]
                and parts[3] == "read"
            ):
                with self.state.lock:
                    q = self.state.queue.get(parts[2])
                    if q is None or q.sender_orgnr != _caller(claims):
                        raise Problem(404, "Not Found", f"no incoming message {parts[2]}")
                    del self.state.queue[parts[2]]
                return _respond(start_response, 200, b"", "text/plain")
            raise Problem(404, "Not Found", f"nothing at {method} {path}")
        except Problem as p:
            body = {"type": "about:blank", "title": p.title, "status": p.status}
            if p.detail:
                body["detail"] = p.detail
            return _json(start_response, p.status, body, "application/problem+json", p.headers)

    def _authorise(self, environ: dict[str, Any]) -> dict[str, Any]:
        try:
            return verify_bearer(environ.get("HTTP_AUTHORIZATION"), self.token_key, [SCOPE])
        except BearerError as exc:
            raise Problem(
                exc.status,
                "Unauthorized" if exc.status == 401 else "Forbidden",
                exc.description,
                [("WWW-Authenticate", exc.www_authenticate())],
            ) from None

    # -- POST /messages/out -------------------------------------------------------------------------
    def _send(self, environ: dict[str, Any], claims: dict[str, Any]) -> int:
        jws, package = _multipart(environ)
        try:
            payload, cert = message.verify_jws(jws, self.trusted)
        except message.MessageError as exc:
            raise Problem(400, "Bad Request", f"forretningsmelding: {exc}") from None
        if self.schemas is not None:
            errors = self.schemas.errors(payload)
            if errors:
                raise Problem(
                    400,
                    "Bad Request",
                    "forretningsmelding does not follow the schema: " + "; ".join(errors[:5]),
                )
        sbd = payload["standardBusinessDocument"]
        header = sbd["standardBusinessDocumentHeader"]
        ident = header.get("documentIdentification", {})
        if ident.get("type") != "digital":
            raise Problem(400, "Bad Request", f"document type {ident.get('type')!r} is not supported here")
        digital = sbd["digital"]
        message_id = str(ident.get("instanceIdentifier", ""))
        conversation_id = next(
            (
                s.get("instanceIdentifier", "")
                for s in header.get("businessScope", {}).get("scope", [])
                if s.get("type") == "ConversationId"
            ),
            message_id,
        )
        sender = message.orgnr_of(header["sender"][0]["identifier"]["value"])
        vendor_orgnr = message.orgnr_of(header["receiver"][0]["identifier"]["value"])
        avsender = message.orgnr_of(
            str(digital.get("avsender", {}).get("virksomhetsidentifikator", {}).get("value", ""))
        )
        if _cert_orgnr(cert) != sender:
            raise Problem(400, "Bad Request", f"the JWS certificate is not the sender {sender}'s")
        if sender != _caller(claims):
            raise Problem(
                403, "Forbidden", f"the token's client {_caller(claims)} is not the sender {sender}"
            )
        try:
            inner = verify_bearer(f"Bearer {digital.get('maskinportentoken', '')}", self.token_key, [SCOPE])
        except BearerError as exc:
            raise Problem(400, "Bad Request", f"maskinportentoken: {exc.description}") from None
        if _consumer(inner) != avsender or _caller(inner) != sender:
            raise Problem(
                400, "Bad Request", f"maskinportentoken is not for avsender {avsender} sent by {sender}"
            )
        digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
        if digital.get("dokumentpakkefingeravtrykk", {}).get("digestValue") != digest:
            raise Problem(400, "Bad Request", "dokumentpakkefingeravtrykk does not match the dokumentpakke")
        if vendor_orgnr not in self.seed.vendors:
            raise Problem(400, "Bad Request", f"unknown receiver 0192:{vendor_orgnr}")
        kanal = (parse_qs(environ.get("QUERY_STRING", "")).get("kanal") or [""])[0].lower()
        postbox_address = str(digital.get("mottaker", {}).get("postkasseadresse", ""))
        person = self.seed.person_at_postbox(postbox_address)
        behaviour = person.behaviour if person is not None else None

        state = self.state
        with state.lock:
            v = state.vendor(vendor_orgnr)
            v.sends += 1
            arrival = v.arrivals[message_id] = v.arrivals.get(message_id, 0) + 1
        try:
            if behaviour is not None and behaviour.delay_seconds > 0:
                if behaviour.delay_sends <= 0 or arrival <= behaviour.delay_sends:
                    time.sleep(behaviour.delay_seconds)
            with state.lock:
                if message_id in state.taken:
                    v.duplicates += 1
                    raise Problem(409, "Conflict", f"message {message_id} was received before")
                if (
                    behaviour is not None
                    and behaviour.on_send == "fail_then_deliver"
                    and arrival <= behaviour.failures
                ):
                    v.server_failures += 1
                    raise Problem(
                        503,
                        "Service Unavailable",
                        f"temporary failure {arrival}/{behaviour.failures} (simulated)",
                    )
                state.taken.add(message_id)
                v.accepted += 1
            state.status(message_id, "OPPRETTET")
            self._vendor_receives(
                vendor_orgnr,
                sender,
                kanal,
                message_id,
                conversation_id,
                postbox_address,
                person,
                digital,
                package,
            )
            return 201
        finally:
            with state.lock:
                v.answers[message_id] = v.answers.get(message_id, 0) + 1

    def _vendor_receives(
        self,
        vendor_orgnr: str,
        sender: str,
        kanal: str,
        message_id: str,
        conversation_id: str,
        postbox_address: str,
        person: SeedPerson | None,
        digital: dict[str, Any],
        package: bytes,
    ) -> None:
        """What the postbox vendor does with a message it got: check it, then receipts."""

        def receipt(kind: str, feiltype: str | None = None, detaljer: str = "") -> None:
            self.queue_receipt(
                vendor_orgnr, sender, kanal, message_id, conversation_id, kind, feiltype, detaljer
            )

        state = self.state
        behaviour = person.behaviour if person is not None else None
        if behaviour is not None and behaviour.on_send == "feilet":
            state.status(
                message_id, "FEILET", "the postbox vendor's access point could not be reached (simulated)"
            )
            return
        state.status(message_id, "SENDT")
        problem = self._check_package(vendor_orgnr, postbox_address, person, package)
        if problem is None and behaviour is not None and behaviour.on_send == "reject":
            problem = "the recipient's postbox refuses the message (simulated)"
        elif (
            problem is None
            and behaviour is not None
            and behaviour.on_send not in ("deliver", "fail_then_deliver", "returpost")
        ):
            problem = f"simulator seed has unknown on_send {behaviour.on_send!r}"
        if problem is not None:
            with state.lock:
                state.vendor(vendor_orgnr).rejected += 1
            receipt("feil", "KLIENT", problem)
            return
        assert person is not None
        with state.lock:
            d = state.vendor(vendor_orgnr).delivered
            d[message_id] = d.get(message_id, 0) + 1
        receipt("leveringskvittering")
        varsler = digital.get("varsler") or {}
        if "epostvarsel" in varsler and not (varsler["epostvarsel"].get("epostadresse") or person.epost):
            receipt("varslingfeiletkvittering")
        if "smsvarsel" in varsler and not (varsler["smsvarsel"].get("mobiltelefonnummer") or person.mobil):
            receipt("varslingfeiletkvittering")
        if person.behaviour.open:
            receipt("aapningskvittering")
        if person.behaviour.on_send == "returpost":
            receipt("returpostkvittering")

    def _check_package(
        self, vendor_orgnr: str, postbox_address: str, person: SeedPerson | None, package: bytes
    ) -> str | None:
        """Why the vendor refuses the package (None: fine)."""
        if person is None or person.vendor != vendor_orgnr:
            return f"no postbox {postbox_address!r} at vendor {vendor_orgnr}"
        try:
            plain = cms.decrypt(package, self.pki.postbox(vendor_orgnr).private_key)
            opened = asice.open_package(plain, self.trusted)
        except (cms.CmsError, asice.PackageError) as exc:
            return f"dokumentpakke: {exc}"
        if opened.postkasseadresse != postbox_address:
            return "manifest.xml: mottaker is not the business message's postkasseadresse"
        return None

    def queue_receipt(
        self,
        vendor_orgnr: str,
        sender_orgnr: str,
        kanal: str,
        message_id: str,
        conversation_id: str,
        kind: str,
        feiltype: str | None = None,
        detaljer: str = "",
        bad_signature: bool = False,
    ) -> str:
        receipt_id = str(uuid.uuid4())
        sbd = message.receipt_message(
            kind, receipt_id, conversation_id, vendor_orgnr, sender_orgnr, _now(), feiltype, detaljer
        )
        jws = self._signer(vendor_orgnr).sign(sbd)
        if bad_signature:  # for tests: a receipt whose signature does not verify
            head, body, sig = jws.split(".")
            jws = f"{head}.{body}.{sig[:-6]}AAAAAA"
        with self.state.lock:
            self.state.queue[receipt_id] = _Queued(
                receipt_id, message_id, vendor_orgnr, sender_orgnr, kanal, kind, jws
            )
        return receipt_id

    def _signer(self, vendor_orgnr: str) -> message.JwsSigner:
        with self._signers_lock:
            signer = self._signers.get(vendor_orgnr)
            if signer is None:
                pair = self.pki.enterprise(vendor_orgnr, self.seed.vendors.get(vendor_orgnr))
                signer = self._signers[vendor_orgnr] = message.JwsSigner(
                    pair.certificate, pair.private_key, pair.chain
                )
            return signer

    # -- GET /messages/in ---------------------------------------------------------------------------
    def _incoming(
        self, environ: dict[str, Any], claims: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            page_size = max(1, min(int((query.get("page_size") or ["100"])[0]), 1000))
        except ValueError:
            raise Problem(400, "Bad Request", "page_size must be a number") from None
        kanal = (query.get("kanal") or [""])[0].lower()
        orgnr = _caller(claims)
        with self.state.lock:
            items = [
                {"forretningsmelding": q.forretningsmelding}
                for q in self.state.queue.values()
                if q.sender_orgnr == orgnr and q.kanal == kanal
            ][:page_size]
        if not items:
            return _respond(start_response, 204, b"", "text/plain")
        return _json(start_response, 200, items)

    # -- test controls ------------------------------------------------------------------------------
    def _control(
        self, path: str, method: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if path == "/_sim/receipt" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                rid = self.queue_receipt(
                    body["vendor"], body["sender"], body.get("kanal", "").lower(), body["message_id"],
                    body.get("conversation_id", body["message_id"]), body["kind"], body.get("feiltype"),
                    body.get("detaljer", ""), bool(body.get("bad_signature")),
                )  # fmt: skip
            except (ValueError, KeyError, TypeError) as exc:
                raise Problem(400, "Bad Request", str(exc)) from None
            return _json(start_response, 200, {"receipt_id": rid})
        raise Problem(404, "Not Found", path)


def _consumer(claims: dict[str, Any]) -> str:
    """The organisation a token is for (``consumer``)."""
    consumer = claims.get("consumer") or {}
    return message.orgnr_of(str(consumer.get("ID", ""))) if isinstance(consumer, dict) else ""


def _caller(claims: dict[str, Any]) -> str:
    """The organisation whose system holds the token: the ``supplier`` acting for a consumer, else
    the consumer itself."""
    supplier = claims.get("supplier")
    if isinstance(supplier, dict) and supplier.get("ID"):
        return message.orgnr_of(str(supplier["ID"]))
    return _consumer(claims)


def _cert_orgnr(cert: Any) -> str:
    from cryptography.x509.oid import NameOID

    for attr in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        return str(attr.value)
    return ""


def _multipart(environ: dict[str, Any]) -> tuple[str, bytes]:
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/form-data"):
        raise Problem(400, "Bad Request", "expected multipart/form-data")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY_BYTES:
        raise Problem(413, "Payload Too Large", f"more than {MAX_BODY_BYTES} bytes")
    body = environ["wsgi.input"].read(length)
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts: dict[str, bytes] = {}
    if msg.is_multipart():
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                parts[name] = payload
    if "forretningsmelding" not in parts or "dokumentpakke" not in parts:
        raise Problem(400, "Bad Request", "multipart needs the parts forretningsmelding and dokumentpakke")
    return parts["forretningsmelding"].decode("ascii", "replace").strip(), parts["dokumentpakke"]


def _respond(
    start_response: Callable[..., Any],
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    reasons = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
               403: "Forbidden", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large",
               503: "Service Unavailable"}  # fmt: skip
    headers = [("Content-Length", str(len(body)))]
    if body:
        headers.insert(0, ("Content-Type", content_type))
    start_response(f"{status} {reasons.get(status, 'Status')}", headers + (extra or []))
    return [body]


def _json(
    start_response: Callable[..., Any],
    status: int,
    payload: Any,
    content_type: str = "application/json",
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    return _respond(start_response, status, json.dumps(payload).encode(), content_type, extra)
