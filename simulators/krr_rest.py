"""KRR REST simulator (kontaktregisteret, SPEC-transports §2), from the same seed as the SOAP one.

Routes under the mount point (``/kontaktregisteret`` in ``simulators/app.py``):

- ``POST /rest/v2/personer`` ``{"personidentifikatorer": [1..1000 ids]}`` → ``{"personer": [...]}``,
  one per id, in the order asked;
- ``GET /rest/v2/printSertifikat`` → ``{"postkasseleverandoerAdresse", "x509Sertifikat"}``.

Every call needs ``Authorization: Bearer`` a token of the simulated Maskinporten (checked with
``simulators.bearer.verify_bearer`` and the public key of ``TestPki(dir).signing_key("maskinporten")``,
issuer ``<this host>/maskinporten/``) carrying at least one KRR scope; 401/403 with
``WWW-Authenticate`` otherwise. What a person's entry holds depends on the token's scopes, as the
real one: ``personidentifikator``, ``status`` and ``reservasjon`` always;
``krr:global/kontaktinformasjon.read`` adds ``kontaktinformasjon``, ``varslingsstatus`` and
``spraak``; ``krr:global/digitalpost.read`` adds ``digital_post`` {``postkasseadresse``,
``postkasseleverandoeradresse``} and ``sertifikat`` (base64 DER of ``TestPki.postbox(vendor)``; the
seed's ``"sertifikat": "none"`` leaves it out, ``"expired"`` gives an expired one). Fields the v2 API
has that we do not use (``oppdatert``, ``*_oppdatert``, ``*_duplisert``) are there too, so the
client's leniency is exercised.

Failure injection and counters are the SOAP simulator's ``KrrSimState`` (shared: ``/_sim/krr`` and
``/_sim/stats`` ``krr`` cover both protocols), plus ``reject_tokens`` (the next N calls answer 401).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from .bearer import BearerError, verify_bearer
from .krr import Http500, KrrSimState
from .maskinporten import issuer_of
from .pki import TestPki
from .seed import Seed, SeedPerson

MAX_IDS = 1000
MAX_BODY = 2 * 1024 * 1024
SCOPE_KONTAKT = "krr:global/kontaktinformasjon.read"
SCOPE_DIGITALPOST = "krr:global/digitalpost.read"
PRINT_VENDOR = "984661185"  # Posten Norge: the print vendor's address in KRR
UPDATED = "2025-01-01T12:00:00Z"

StartResponse = Callable[..., Any]


class _Answer(Exception):
    def __init__(self, status: str, payload: Any, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = headers or []


def _problem(status: str, detail: str) -> _Answer:
    code = int(status.split()[0])
    return _Answer(
        status, {"type": "about:blank", "title": status.split(" ", 1)[1], "status": code, "detail": detail}
    )


class KrrRestSimulatorApp:
    def __init__(
        self,
        seed: Seed,
        pki: TestPki,
        *,
        mount: str = "/kontaktregisteret",
        state: KrrSimState | None = None,
        maskinporten_mount: str = "/maskinporten",
    ) -> None:
        self.seed = seed
        self.pki = pki
        self.mount = mount.rstrip("/")
        self.state = state or KrrSimState()
        self.maskinporten_mount = maskinporten_mount
        self.token_key = pki.signing_key("maskinporten").public_key()
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}  # (kind:vendor) -> base64 DER

    # -- WSGI --------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")[len(self.mount) :]
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/rest/v2/personer":
                if method != "POST":
                    raise _problem("405 Method Not Allowed", "POST a JSON body")
                self.state._count_request()
                claims = self._authorise(environ)
                return _json(start_response, "200 OK", self._personer(environ, claims))
            if path == "/rest/v2/printSertifikat":
                if method != "GET":
                    raise _problem("405 Method Not Allowed", "GET")
                self._authorise(environ, SCOPE_DIGITALPOST)
                return _json(
                    start_response,
                    "200 OK",
                    {
                        "postkasseleverandoerAdresse": PRINT_VENDOR,
                        "x509Sertifikat": self._certificate(PRINT_VENDOR),
                    },
                )
            raise _problem("404 Not Found", f"nothing at {path}")
        except _Answer as answer:
            return _json(start_response, answer.status, answer.payload, answer.headers)
        except Http500:
            body = b"simulated HTTP 500\n"
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]

    # -- checks ------------------------------------------------------------------------------------
    def _authorise(self, environ: dict[str, Any], scope: str | None = None) -> dict[str, Any]:
        try:
            claims = verify_bearer(
                environ.get("HTTP_AUTHORIZATION"),
                self.token_key,
                [scope] if scope else (),
                issuer=issuer_of(environ, self.maskinporten_mount),
            )
        except BearerError as exc:
            self.state._count_refused()
            status = "401 Unauthorized" if exc.status == 401 else "403 Forbidden"
            raise _Answer(
                status,
                {"error": exc.error, "error_description": exc.description},
                [("WWW-Authenticate", exc.www_authenticate())],
            ) from None
        granted = set(str(claims.get("scope", "")).split())
        if not granted & {SCOPE_KONTAKT, SCOPE_DIGITALPOST}:
            self.state._count_refused()
            err = BearerError(
                403, "insufficient_scope", f"a KRR scope is required ({SCOPE_KONTAKT} or {SCOPE_DIGITALPOST})"
            )
            raise _Answer(
                "403 Forbidden",
                {"error": err.error, "error_description": err.description},
                [("WWW-Authenticate", err.www_authenticate())],
            )
        if self.state.take_token_rejection():
            err = BearerError(401, "invalid_token", "the token is no longer accepted (simulated)")
            raise _Answer(
                "401 Unauthorized",
                {"error": err.error, "error_description": err.description},
                [("WWW-Authenticate", err.www_authenticate())],
            )
        return claims

    def _personer(self, environ: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0 or length > MAX_BODY:
            raise _problem("400 Bad Request", 'a JSON body {"personidentifikatorer": [...]} is required')
        if not environ.get("CONTENT_TYPE", "").startswith("application/json"):
            raise _problem("415 Unsupported Media Type", "Content-Type must be application/json")
        try:
            body = json.loads(environ["wsgi.input"].read(length))
        except ValueError as exc:
            raise _problem("400 Bad Request", f"malformed JSON: {exc}") from None
        ids = body.get("personidentifikatorer") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise _problem("400 Bad Request", "personidentifikatorer must be a non-empty list of strings")
        consumer = (claims.get("consumer") or {}).get("ID", "")
        mode, slow = self.state._count_call(len(ids), str(consumer).removeprefix("0192:") or None)
        self.state.apply_mode(
            mode, slow, lambda: _problem("503 Service Unavailable", "Simulated KRR failure (mode=fault)")
        )
        if len(ids) > MAX_IDS:
            raise _problem(
                "400 Bad Request", f"at most {MAX_IDS} personidentifikatorer per request, got {len(ids)}"
            )
        bad = [i for i in ids if not (len(i) == 11 and i.isdigit())]
        if bad:
            raise _problem("400 Bad Request", f"invalid personidentifikator {bad[0]!r} (11 digits)")
        scopes = set(str(claims.get("scope", "")).split())
        return {"personer": [self._person(self.seed.person(pid), pid, scopes) for pid in ids]}

    # -- answers -----------------------------------------------------------------------------------
    def _person(self, p: SeedPerson, pid: str, scopes: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"personidentifikator": pid, "status": p.status}
        if p.status != "AKTIV":
            return out
        reservasjon = p.reservasjon or "NEI"
        out["reservasjon"] = reservasjon
        out["oppdatert"] = UPDATED  # v2 fields we do not use: the client must ignore them
        if SCOPE_KONTAKT in scopes:
            kan = reservasjon == "NEI" and bool(p.epost or p.mobil)
            out["varslingsstatus"] = p.varslingsstatus or ("KAN_VARSLES" if kan else "KAN_IKKE_VARSLES")
            out["spraak"] = "nb"
            out["spraak_oppdatert"] = UPDATED
            if reservasjon == "NEI" and (p.epost or p.mobil):
                kontakt: dict[str, Any] = {}
                if p.epost:
                    kontakt.update(
                        {
                            "epostadresse": p.epost,
                            "epostadresse_oppdatert": UPDATED,
                            "epostadresse_duplisert": "NEI",
                        }
                    )
                if p.mobil:
                    kontakt.update(
                        {
                            "mobiltelefonnummer": p.mobil,
                            "mobiltelefonnummer_oppdatert": UPDATED,
                            "mobiltelefonnummer_duplisert": "NEI",
                        }
                    )
                out["kontaktinformasjon"] = kontakt
        if SCOPE_DIGITALPOST in scopes and reservasjon == "NEI" and p.postkasseadresse and p.vendor:
            out["digital_post"] = {
                "postkasseadresse": p.postkasseadresse,
                "postkasseleverandoeradresse": p.vendor,
            }
            cert = self.certificate_of(p)
            if cert:
                out["sertifikat"] = cert
        return out

    def certificate_of(self, p: SeedPerson) -> str | None:
        """The base64 DER postbox certificate KRR gives for ``p`` (None: none), as the seed says."""
        if not p.vendor or (p.sertifikat or "").lower() == "none":
            return None
        return self._certificate(p.vendor, expired=(p.sertifikat or "").lower() == "expired")

    def _certificate(self, vendor: str, expired: bool = False) -> str:
        key = f"{'expired' if expired else 'valid'}:{vendor}"
        with self._lock:
            if key not in self._certs:
                pair = self.pki.postbox(vendor)
                cert = (
                    _expired_copy(self.pki, pair.certificate, pair.private_key)
                    if expired
                    else pair.certificate
                )
                self._certs[key] = base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")
            return self._certs[key]


def _expired_copy(pki: TestPki, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The postbox certificate's subject and key, issued by the test CA, expired a month ago."""
    ca = pki.ca()
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now - dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )


def _json(
    start_response: StartResponse, status: str, payload: Any, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    body = json.dumps(payload).encode()
    problem = not status.startswith("2") and isinstance(payload, dict) and "title" in payload
    ctype = "application/problem+json" if problem else "application/json"
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))), *(headers or [])])
    return [body]


def make_krr_rest_app(
    seed: Seed, pki: TestPki, state: KrrSimState | None = None, mount: str = "/kontaktregisteret"
) -> KrrRestSimulatorApp:
    return KrrRestSimulatorApp(seed, pki, mount=mount, state=state)
