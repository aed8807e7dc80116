"""The DPI business message ("forretningsmelding"): an SBD in JSON, signed as a compact JWS (RS256,
``x5c`` with the sender's certificate chain), and the receipts the access point hands back in the
same form. Field names are the contract's (reference/dpi/schemas, SPEC-transports §3).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

AUTHORITY = "iso6523-actorid-upis"
STANDARD = "urn:fdc:digdir.no:2020:innbyggerpost:xsd::innbyggerpost##urn:fdc:digdir.no:2020:innbyggerpost:schema:{type}::1.0"
PROCESS = "urn:fdc:digdir.no:2020:profile:egovernment:innbyggerpost:digital:ver1.0"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"
RECEIPT_TYPES = (
    "leveringskvittering",
    "aapningskvittering",
    "varslingfeiletkvittering",
    "mottakskvittering",
    "returpostkvittering",
    "feil",
)


class MessageError(Exception):
    """A business message or receipt whose JWS, certificate or content is not acceptable."""


def party(orgnr: str) -> dict[str, Any]:
    return {"identifier": {"value": f"0192:{orgnr}", "authority": AUTHORITY}}


def orgnr_of(identifier: str) -> str:
    return identifier.split(":", 1)[1] if identifier.startswith("0192:") else identifier


def sbd_header(
    doc_type: str, message_id: str, conversation_id: str, sender: str, receiver: str, created: datetime
) -> dict[str, Any]:
    return {
        "headerVersion": "1.0",
        "sender": [party(sender)],
        "receiver": [party(receiver)],
        "documentIdentification": {
            "standard": STANDARD.format(type=doc_type),
            "typeVersion": "1.0",
            "instanceIdentifier": message_id,
            "type": doc_type,
            "creationDateAndTime": created.isoformat(timespec="milliseconds"),
        },
        "businessScope": {
            "scope": [
                {"type": "ConversationId", "instanceIdentifier": conversation_id, "identifier": PROCESS}
            ]
        },
    }


@dataclass(frozen=True)
class Varsel:
    """One notification (``digital.varsler``): kind ``epost`` or ``sms``, the address (e-mail or
    mobile number), its text, the days after virkningstidspunkt it is sent on (0 = the same day)."""

    kind: str
    address: str
    text: str
    repetitions: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Digital:
    """What goes into ``digital`` besides the package fingerprint and the token."""

    sender_orgnr: str
    vendor_orgnr: str
    postkasseadresse: str
    title: str  # ikkesensitivtittel
    language: str = "no"
    sikkerhetsnivaa: int = 4
    virkningstidspunkt: datetime | None = None
    aapningskvittering: bool = False
    varsler: tuple[Varsel, ...] = field(default_factory=tuple)
    # the organisation whose enterprise certificate signs and whose system sends (SBD header sender);
    # None: the sender itself. Another organisation sends "on behalf of" the avsender (its
    # Maskinporten token then has the avsender as consumer and the operator as supplier).
    operator_orgnr: str | None = None


def digital_message(
    d: Digital,
    message_id: str,
    conversation_id: str,
    package_digest_b64: str,
    maskinportentoken: str,
    created: datetime,
) -> dict[str, Any]:
    """The SBD of type ``digital`` (valid against innbyggerpost_dpi_digital_1_0.schema.json)."""
    digital: dict[str, Any] = {
        "avsender": {"virksomhetsidentifikator": {"authority": AUTHORITY, "value": f"0192:{d.sender_orgnr}"}},
        "mottaker": {"postkasseadresse": d.postkasseadresse},
        "dokumentpakkefingeravtrykk": {"digestMethod": SHA256_URI, "digestValue": package_digest_b64},
        "maskinportentoken": maskinportentoken,
        "sikkerhetsnivaa": d.sikkerhetsnivaa,
    }
    if d.virkningstidspunkt is not None:
        digital["virkningstidspunkt"] = d.virkningstidspunkt.isoformat()
    digital["aapningskvittering"] = d.aapningskvittering
    digital["ikkesensitivtittel"] = d.title
    digital["spraak"] = d.language.lower()
    varsler: dict[str, Any] = {}
    for v in d.varsler:  # the contract has one of each; without an address the postbox's own choice
        key, address_field = (
            ("epostvarsel", "epostadresse") if v.kind == "epost" else ("smsvarsel", "mobiltelefonnummer")
        )
        if key not in varsler and v.address:
            varsler[key] = {
                address_field: v.address,
                "varslingstekst": v.text,
                "repetisjoner": sorted(set(v.repetitions)) or [0],
            }
    digital["varsler"] = varsler
    return {
        "standardBusinessDocument": {
            "standardBusinessDocumentHeader": sbd_header(
                "digital",
                message_id,
                conversation_id,
                d.operator_orgnr or d.sender_orgnr,
                d.vendor_orgnr,
                created,
            ),
            "digital": digital,
        }
    }


# -- JWS --------------------------------------------------------------------------------------------
class JwsSigner:
    """Signs SBDs as compact JWS with one certificate; key and header built once."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: rsa.RSAPrivateKey,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        self.certificate = certificate
        self._key = private_key
        self._headers = {
            "x5c": [
                base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
                for c in (certificate, *chain)
            ]
        }
        self._jws = jwt.PyJWS()

    def sign(self, payload: Mapping[str, Any]) -> str:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return self._jws.encode(body, self._key, algorithm="RS256", headers=self._headers)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 (InvalidSignature, ValueError, TypeError: not its issuer)
        return False
    return True


def verify_jws(
    token: str | bytes,
    trusted: Sequence[x509.Certificate] | None,
) -> tuple[dict[str, Any], x509.Certificate]:
    """Verify a compact JWS signed RS256 by the certificate in its ``x5c``. With ``trusted`` (CA
    certificates), that certificate must chain to one of them through the rest of ``x5c``; ``None``
    skips the chain check (golden vectors whose test CA has expired). Returns (payload, certificate)."""
    try:
        header = jwt.get_unverified_header(token)
        x5c = header.get("x5c")
        if header.get("alg") != "RS256" or not isinstance(x5c, list) or not x5c:
            raise MessageError("JWS must be RS256 with an x5c certificate chain")
        chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise MessageError(f"unreadable JWS: {exc}") from exc
    leaf = chain[0]
    if trusted is not None:
        current, ok = leaf, False
        for _ in range(len(chain) + 1):
            if any(_issued_by(current, ca) for ca in trusted):
                ok = True
                break
            parent = next((c for c in chain[1:] if _issued_by(current, c) and c != current), None)
            if parent is None:
                break
            current = parent
        if not ok:
            raise MessageError(
                f"JWS certificate {leaf.subject.rfc4514_string()} does not chain to a trusted CA"
            )
    try:
        body = jwt.PyJWS().decode(token, leaf.public_key(), algorithms=["RS256"])  # type: ignore[arg-type]
        payload = json.loads(body)
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise MessageError(f"JWS does not verify: {exc}") from exc
    if not isinstance(payload, dict) or "standardBusinessDocument" not in payload:
        raise MessageError("JWS payload is not a standardBusinessDocument")
    return payload, leaf


# -- receipts ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    """One receipt from the access point, read from its verified JWS."""

    message_id: str  # the receipt's own id (acknowledged with POST /messages/in/{id}/read)
    conversation_id: str  # our message's conversation id (= our message id)
    kind: str  # leveringskvittering | aapningskvittering | ... | feil
    timestamp: str
    sender_orgnr: str  # the postbox vendor
    feiltype: str | None = None
    detaljer: str = ""


def read_receipt(payload: Mapping[str, Any]) -> Receipt:
    """The receipt in a verified SBD; MessageError when it is not one we know."""
    try:
        sbd = payload["standardBusinessDocument"]
        header = sbd["standardBusinessDocumentHeader"]
        ident = header["documentIdentification"]
        kind = ident["type"]
        if kind not in RECEIPT_TYPES:
            raise MessageError(f"unknown receipt type {kind!r}")
        body = sbd[kind]
        conversation = next(
            s["instanceIdentifier"]
            for s in header["businessScope"]["scope"]
            if s.get("type") == "ConversationId"
        )
        return Receipt(
            message_id=ident["instanceIdentifier"],
            conversation_id=conversation,
            kind=kind,
            timestamp=body.get("tidspunkt") or ident.get("creationDateAndTime", ""),
            sender_orgnr=orgnr_of(header["sender"][0]["identifier"]["value"]),
            feiltype=body.get("feiltype"),
            detaljer=body.get("detaljer", ""),
        )
    except (KeyError, IndexError, TypeError, StopIteration) as exc:
        raise MessageError(f"receipt lacks {exc}") from exc


def receipt_message(
    kind: str,
    receipt_id: str,
    conversation_id: str,
    vendor_orgnr: str,
    sender_orgnr: str,
    when: datetime,
    feiltype: str | None = None,
    detaljer: str = "",
) -> dict[str, Any]:
    """A receipt SBD as a postbox vendor writes it (used by the access point simulator)."""
    body: dict[str, Any] = {
        "avsender": {"virksomhetsidentifikator": {"authority": AUTHORITY, "value": f"0192:{vendor_orgnr}"}},
        "mottaker": {"virksomhetsidentifikator": {"authority": AUTHORITY, "value": f"0192:{sender_orgnr}"}},
        "tidspunkt": when.isoformat(timespec="milliseconds"),
    }
    if kind == "feil":
        body["feiltype"] = feiltype or "KLIENT"
        if detaljer:
            body["detaljer"] = detaljer
    return {
        "standardBusinessDocument": {
            "standardBusinessDocumentHeader": sbd_header(
                kind, receipt_id, conversation_id, vendor_orgnr, sender_orgnr, when
            ),
            kind: body,
        }
    }


# -- JSON schemas -----------------------------------------------------------------------------------
def default_schema_dir() -> Path:
    """Digdir's DPI JSON schemas in the published reference data (``INNBYGGERPOST_REFERENCE_DIR``,
    default ``../shared/reference`` beside the checkout; never copied into the tree)."""
    reference = os.environ.get("INNBYGGERPOST_REFERENCE_DIR")
    base = Path(reference) if reference else Path(__file__).resolve().parents[3] / "shared" / "reference"
    return base / "dpi" / "schemas"


class Schemas:
    """Validates SBDs against Digdir's schemas, their ``https://docs.digdir.no/schemas/...`` ids
    resolved from local files (``referencing`` registry; nothing is fetched)."""

    def __init__(self, directory: Path) -> None:
        import jsonschema
        from referencing import Registry, Resource

        resources = []
        self._by_type: dict[str, Any] = {}
        for path in sorted(directory.rglob("*.schema.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            resources.append((doc["$id"], Resource.from_contents(doc)))
        registry: Registry[Any] = Registry().with_resources(resources)
        for _uri, resource in resources:
            contents = resource.contents
            props = contents.get("properties", {})
            sbd_ref = props.get("standardBusinessDocument", {}).get("$ref")
            if not sbd_ref:
                continue
            sbd_def = contents.get("definitions", {}).get("standardBusinessDocument", {})
            for name in sbd_def.get("properties", {}):
                if name != "standardBusinessDocumentHeader":
                    self._by_type[name] = jsonschema.Draft7Validator(contents, registry=registry)
        if not self._by_type:
            raise FileNotFoundError(f"no DPI schemas in {directory}")

    def errors(self, document: Mapping[str, Any]) -> list[str]:
        """Empty when ``document`` is valid for its type; else the messages (path: reason)."""
        try:
            doc_type = document["standardBusinessDocument"]["standardBusinessDocumentHeader"][
                "documentIdentification"
            ]["type"]
        except (KeyError, TypeError):
            return ["standardBusinessDocumentHeader.documentIdentification.type is missing"]
        validator = self._by_type.get(doc_type)
        if validator is None:
            return [f"no schema for document type {doc_type!r}"]
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(document)
        ]
