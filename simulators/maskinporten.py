"""Maskinporten simulator: the JWT bearer grant token endpoint (SPEC-transports §1), its metadata
and its JWKS, for the clients registered in the seed (``maskinporten_clients``).

Routes, under the mount point (``/maskinporten`` in ``simulators/app.py``; the issuer is
``<base>/maskinporten/``):

- ``POST /token``: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``;
  answers ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}`` or 400
  ``{"error", "error_description"}`` (``invalid_request``, ``invalid_grant``, ``invalid_scope``).
- ``GET /.well-known/oauth-authorization-server``: issuer, token endpoint, JWKS URI.
- ``GET /jwk``: the JWKS of the token signing key (``TestPki(dir).signing_key("maskinporten")``,
  key id ``simulators.bearer.KID``), which every simulated resource server verifies tokens with.

What it checks, as Maskinporten does: the assertion's header is ``RS256`` with exactly one of
``x5c`` and ``kid``; its ``iss`` is a registered client; the signature verifies with the key of
the ``kid`` registered on the client, or with the ``x5c`` leaf certificate, which must be issued by
the test CA, be valid now and carry the client's organisation number (as an enterprise
certificate does), or equal the client's pinned certificate; ``aud`` is the issuer; ``iat``/``exp``
present, ``exp - iat`` at most 120 s, neither beyond the clock skew (10 s); ``jti`` present and never
seen before (replay); no claim outside ``aud iss scope iat exp jti resource consumer_org``; every
requested scope granted to the client; ``consumer_org`` only where the client may act for it.

A registered client in the seed::

    {"client_id": "innbyggerpost-demo", "orgnr": "910646192",
     "scopes": ["krr:global/kontaktinformasjon.read", ...],
     "consumer_orgs": ["*"],                    # optional: whom it may act for ("*": anyone)
     "kid": "key-1", "key": "client-key-1",     # optional: a registered key (TestPki signing key name)
     "jwk": {...},                              # or the registered public key as a JWK (with "kid")
     "token_lifetime_seconds": 120}             # optional

Test control: ``POST /_sim/maskinporten`` ``{"fail_next": N}`` answers the next N token requests
with HTTP 503, ``{"reset": true}`` zeroes the counters and forgets the seen ``jti``\\ s.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from .bearer import KID, mint_access_token
from .pki import TestPki

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ALLOWED_CLAIMS = frozenset({"aud", "iss", "scope", "iat", "exp", "jti", "resource", "consumer_org"})
MAX_LIFETIME = 120
CLOCK_SKEW = 10
MAX_BODY = 64 * 1024

StartResponse = Callable[..., Any]


class GrantError(Exception):
    def __init__(self, error: str, description: str, status: str = "400 Bad Request") -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class RegisteredClient:
    client_id: str
    orgnr: str
    scopes: frozenset[str]
    consumer_orgs: frozenset[str] = frozenset()
    keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)  # kid -> registered key
    certificate_der: bytes | None = None  # a pinned certificate (else any test-CA enterprise certificate)
    token_lifetime: int = 120


def load_clients(entries: Iterable[dict[str, Any]], pki: TestPki) -> dict[str, RegisteredClient]:
    clients: dict[str, RegisteredClient] = {}
    for e in entries:
        keys: dict[str, rsa.RSAPublicKey] = {}
        if e.get("key"):
            keys[str(e.get("kid") or e["key"])] = pki.signing_key(str(e["key"])).public_key()
        if e.get("jwk"):
            jwk = dict(e["jwk"])
            public = jwt.PyJWK(jwk, algorithm="RS256").key
            if not isinstance(public, rsa.RSAPublicKey):
                raise ValueError(f"maskinporten client {e['client_id']}: jwk must be an RSA key")
            keys[str(jwk.get("kid") or e.get("kid"))] = public
        pinned = None
        if e.get("certificate"):
            pinned = x509.load_pem_x509_certificate(Path(e["certificate"]).read_bytes()).public_bytes(
                Encoding.DER
            )
        if e.get("orgnr") and not keys and not pinned:
            pki.enterprise(str(e["orgnr"]))  # its test enterprise certificate (PKCS#12), made at first start
        clients[e["client_id"]] = RegisteredClient(
            client_id=str(e["client_id"]),
            orgnr=str(e.get("orgnr", "")),
            scopes=frozenset(e.get("scopes", [])),
            consumer_orgs=frozenset(e.get("consumer_orgs", [])),
            keys=keys,
            certificate_der=pinned,
            token_lifetime=int(e.get("token_lifetime_seconds", 120)),
        )
    return clients


class MaskinportenSimState:
    """Counters, the ``jti`` memory and failure injection (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens: dict[str, int] = {}  # client id -> tokens issued
        self.tokens_by_scope: dict[str, int] = {}  # the scope set (sorted, space-separated) -> tokens
        self.refused: dict[str, int] = {}  # error code -> requests refused
        self.requests = 0
        self._seen: dict[str, float] = {}  # jti -> forget after (clock)
        self._fail_next = 0

    def count_request(self) -> bool:
        """Count a token request; True when it is to fail with 503 (injected)."""
        with self._lock:
            self.requests += 1
            if self._fail_next > 0:
                self._fail_next -= 1
                return True
            return False

    def issued(self, client_id: str, scopes: Iterable[str] = ()) -> None:
        key = " ".join(sorted(scopes))
        with self._lock:
            self.tokens[client_id] = self.tokens.get(client_id, 0) + 1
            self.tokens_by_scope[key] = self.tokens_by_scope.get(key, 0) + 1

    def refuse(self, error: str) -> None:
        with self._lock:
            self.refused[error] = self.refused.get(error, 0) + 1

    def first_use(self, jti: str, until: float, now: float) -> bool:
        """Remember ``jti`` until ``until``; False when it was used before (a replay)."""
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            if jti in self._seen and self._seen[jti] > now:
                return False
            self._seen[jti] = until
            return True

    def control(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - {"reset", "fail_next"}
        if unknown:
            raise ValueError(f"unknown Maskinporten simulator control keys: {', '.join(sorted(unknown))}")
        with self._lock:
            if payload.get("reset"):
                self.tokens.clear()
                self.tokens_by_scope.clear()
                self.refused.clear()
                self.requests = 0
                self._seen.clear()
                self._fail_next = 0
            if "fail_next" in payload:
                self._fail_next = int(payload["fail_next"])
        return self.to_json()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "tokens": dict(self.tokens),
                "tokens_by_scope": dict(self.tokens_by_scope),
                "tokens_issued": sum(self.tokens.values()),
                "refused": dict(self.refused),
                "fail_next": self._fail_next,
            }


def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


def issuer_of(environ: dict[str, Any], mount: str = "/maskinporten") -> str:
    """``<scheme>://<host><mount>/`` of the request: the simulated Maskinporten's issuer."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT')}"
    )
    return f"{scheme}://{host}{mount}/"


class MaskinportenSimulatorApp:
    """WSGI app of the simulated Maskinporten, mounted at ``mount``."""

    def __init__(
        self,
        clients: dict[str, RegisteredClient],
        pki: TestPki,
        *,
        mount: str = "/maskinporten",
        state: MaskinportenSimState | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = clients
        self.pki = pki
        self.mount = mount.rstrip("/")
        self.state = state or MaskinportenSimState()
        self.clock = clock
        self.key = pki.signing_key("maskinporten")
        self.ca = pki.ca().certificate

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")[len(self.mount) :] or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        issuer = issuer_of(environ, self.mount)
        if method == "GET" and path == "/.well-known/oauth-authorization-server":
            return _json(
                start_response,
                {
                    "issuer": issuer,
                    "token_endpoint": issuer + "token",
                    "jwks_uri": issuer + "jwk",
                    "grant_types_supported": [GRANT_TYPE],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
                },
            )
        if method == "GET" and path == "/jwk":
            return _json(start_response, jwks(self.key))
        if path == "/token":
            if method != "POST":
                return _json(
                    start_response,
                    {"error": "invalid_request", "error_description": "POST"},
                    "405 Method Not Allowed",
                )
            if self.state.count_request():
                return _json(
                    start_response,
                    {"error": "server_error", "error_description": "simulated outage"},
                    "503 Service Unavailable",
                )
            try:
                return _json(start_response, self._token(environ, issuer))
            except GrantError as exc:
                self.state.refuse(exc.error)
                return _json(
                    start_response, {"error": exc.error, "error_description": exc.description}, exc.status
                )
        return _json(start_response, {"error": f"nothing at {path}"}, "404 Not Found")

    # -- the grant ---------------------------------------------------------------------------
    def _token(self, environ: dict[str, Any], issuer: str) -> dict[str, Any]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0 or length > MAX_BODY:
            raise GrantError("invalid_request", "a form-encoded body is required")
        content_type = environ.get("CONTENT_TYPE", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise GrantError("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        if form.get("grant_type", [""])[0] != GRANT_TYPE:
            raise GrantError("invalid_request", f"grant_type must be {GRANT_TYPE}")
        assertions = form.get("assertion", [])
        if len(assertions) != 1 or not assertions[0]:
            raise GrantError("invalid_request", "exactly one assertion is required")
        claims, client = self._verify(assertions[0], issuer)
        requested = [s for s in str(claims.get("scope", "")).split() if s]
        if not requested:
            raise GrantError("invalid_scope", "no scope requested")
        missing = [s for s in requested if s not in client.scopes]
        if missing:
            raise GrantError(
                "invalid_scope",
                f"Client {client.client_id} has not been granted scope(s) {' '.join(missing)}",
            )
        consumer_org = claims.get("consumer_org")
        if consumer_org is not None:
            consumer_org = str(consumer_org)
            if not (consumer_org.isdigit() and len(consumer_org) == 9):
                raise GrantError("invalid_grant", "consumer_org must be an organisation number (9 digits)")
            if (
                consumer_org != client.orgnr
                and "*" not in client.consumer_orgs
                and consumer_org not in client.consumer_orgs
            ):
                raise GrantError(
                    "invalid_grant", f"{consumer_org} has not delegated the scopes to {client.orgnr}"
                )
        token, _ = mint_access_token(
            self.key,
            issuer=issuer,
            client_id=client.client_id,
            orgnr=client.orgnr,
            scopes=requested,
            lifetime_seconds=client.token_lifetime,
            consumer_org=consumer_org if consumer_org != client.orgnr else None,
            audience=str(claims["resource"]) if claims.get("resource") else None,
            now=self.clock(),
        )
        self.state.issued(client.client_id, requested)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": client.token_lifetime,
            "scope": " ".join(requested),
        }

    def _verify(self, assertion: str, issuer: str) -> tuple[dict[str, Any], RegisteredClient]:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise GrantError("invalid_grant", f"the assertion is not a JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise GrantError("invalid_grant", "the assertion must be signed RS256")
        if ("x5c" in header) == ("kid" in header):
            raise GrantError("invalid_grant", "the assertion header must carry exactly one of x5c and kid")
        client = self.clients.get(str(unverified.get("iss", "")))
        if client is None:
            raise GrantError(
                "invalid_grant",
                f"Invalid assertion. Client authentication failed: unknown client {unverified.get('iss')!r}",
            )
        key = self._key(header, client)
        now = self.clock()
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["aud", "iss", "iat", "exp", "jti"], "verify_iat": True},
            )
        except jwt.ExpiredSignatureError:
            raise GrantError("invalid_grant", "the assertion has expired") from None
        except jwt.ImmatureSignatureError:
            raise GrantError("invalid_grant", "iat lies in the future (check the clock)") from None
        except jwt.InvalidAudienceError:
            raise GrantError("invalid_grant", f"aud must be the issuer {issuer}") from None
        except jwt.InvalidTokenError as exc:
            raise GrantError("invalid_grant", f"Invalid assertion: {exc}") from None
        unknown = sorted(set(claims) - ALLOWED_CLAIMS)
        if unknown:
            raise GrantError("invalid_grant", f"unknown claim(s) in the assertion: {', '.join(unknown)}")
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise GrantError("invalid_grant", "iat and exp must be numbers")
        if exp - iat > MAX_LIFETIME:
            raise GrantError(
                "invalid_grant", f"the assertion lives {int(exp - iat)} s; at most {MAX_LIFETIME} s"
            )
        if iat > now + CLOCK_SKEW:
            raise GrantError("invalid_grant", "iat lies in the future (check the clock)")
        if not self.state.first_use(str(claims["jti"]), exp + CLOCK_SKEW, now):
            raise GrantError("invalid_grant", "the assertion has been used before (jti replay)")
        return claims, client

    def _key(self, header: dict[str, Any], client: RegisteredClient) -> rsa.RSAPublicKey:
        if "kid" in header:
            key = client.keys.get(str(header["kid"]))
            if key is None:
                raise GrantError(
                    "invalid_grant",
                    f"no key with kid {header['kid']!r} is registered on client {client.client_id}",
                )
            return key
        chain = header["x5c"]
        if not isinstance(chain, list) or not chain:
            raise GrantError("invalid_grant", "x5c must be a non-empty list of certificates")
        try:
            leaf = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        except (ValueError, TypeError):
            raise GrantError("invalid_grant", "x5c[0] is not a base64 DER certificate") from None
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        if not (leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc):
            raise GrantError("invalid_grant", "the certificate in x5c is not valid now")
        der = leaf.public_bytes(Encoding.DER)
        if client.certificate_der is not None:
            if der != client.certificate_der:
                raise GrantError(
                    "invalid_grant",
                    f"the certificate in x5c is not the one registered on client {client.client_id}",
                )
        else:
            try:
                leaf.verify_directly_issued_by(self.ca)
            except Exception as exc:  # noqa: BLE001 - InvalidSignature, a wrong key type
                raise GrantError(
                    "invalid_grant",
                    f"the certificate in x5c is not issued by a trusted CA ({type(exc).__name__})",
                ) from None
            orgnrs = {str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)}
            orgnrs |= {
                str(a.value).removeprefix("NTRNO-")
                for a in leaf.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))
            }
            if client.orgnr not in orgnrs:
                raise GrantError(
                    "invalid_grant",
                    f"the certificate in x5c is not an enterprise certificate of {client.orgnr}",
                )
        public = leaf.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise GrantError("invalid_grant", "the certificate's key must be RSA")
        return public


def _json(start_response: StartResponse, payload: Any, status: str = "200 OK") -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


def make_maskinporten_app(
    clients: Iterable[dict[str, Any]],
    pki: TestPki,
    mount: str = "/maskinporten",
    state: MaskinportenSimState | None = None,
) -> MaskinportenSimulatorApp:
    return MaskinportenSimulatorApp(load_clients(clients, pki), pki, mount=mount, state=state)
