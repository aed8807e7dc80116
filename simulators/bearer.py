"""Bearer tokens of the simulated Maskinporten: minted by its token endpoint, checked by every
simulated resource server (KRR, the DPI access point, Altinn 3) as the real ones check
Maskinporten's: an RS256 JWT signed with the issuer's key (the simulators share it through
``simulators.pki.TestPki.signing_key("maskinporten")``; its JWKS is published by the Maskinporten
simulator), not expired, from the expected issuer, carrying the scopes the resource needs.

Claims, as Maskinporten issues them (SPEC-transports §1): ``iss``, ``client_id``, ``consumer``
(``{"authority": "iso6523-actorid-upis", "ID": "0192:<orgnr>"}``), ``scope`` (space-separated),
``iat``, ``exp``, ``jti``; ``supplier`` as well when a client acts for another organisation
(``consumer_org``), and ``aud`` when the assertion asked for a ``resource``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

#: the key id of the simulated Maskinporten's signing key in its JWKS
KID = "maskinporten-sim-1"


class BearerError(Exception):
    """A refused bearer token: the HTTP status, the RFC 6750 error code and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def www_authenticate(self) -> str:
        return f'Bearer error="{self.error}", error_description="{self.description}"'


def mint_access_token(
    key: rsa.RSAPrivateKey,
    *,
    issuer: str,
    client_id: str,
    orgnr: str,
    scopes: Iterable[str],
    lifetime_seconds: int = 120,
    consumer_org: str | None = None,
    audience: str | None = None,
    now: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """An access token as Maskinporten's (``consumer_org`` set: the client's own organisation
    becomes the ``supplier`` and ``consumer_org`` the ``consumer``)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "client_id": client_id,
        "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{consumer_org or orgnr}"},
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + lifetime_seconds,
        "jti": str(uuid.uuid4()),
    }
    if consumer_org:
        claims["supplier"] = {"authority": "iso6523-actorid-upis", "ID": f"0192:{orgnr}"}
    if audience:
        claims["aud"] = audience
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
    return token, claims


def verify_bearer(
    authorization: str | None,
    public_key: rsa.RSAPublicKey,
    required_scopes: Iterable[str] = (),
    *,
    issuer: str | None = None,
    leeway_seconds: int = 10,
) -> dict[str, Any]:
    """The claims of the ``Authorization: Bearer`` token, or ``BearerError``: 401 for a missing,
    malformed, badly signed, expired or foreign token; 403 ``insufficient_scope`` when a scope in
    ``required_scopes`` is missing."""
    if not authorization or not authorization.startswith("Bearer "):
        raise BearerError(401, "invalid_request", "no bearer token")
    token = authorization[len("Bearer ") :].strip()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            issuer=issuer,
            leeway=leeway_seconds,
            options={"require": ["exp", "iat", "scope", "client_id"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise BearerError(401, "invalid_token", "the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise BearerError(401, "invalid_token", f"the token is not valid: {exc}") from None
    granted = set(str(claims.get("scope", "")).split())
    missing = [s for s in required_scopes if s not in granted]
    if missing:
        raise BearerError(403, "insufficient_scope", f"missing scope {' '.join(missing)}")
    return claims
