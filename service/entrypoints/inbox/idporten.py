"""ID-porten sign-in for the inbox: OpenID Connect authorization code flow with PKCE (S256), through
Authlib's Flask client.

``INNBYGGERPOST_IDPORTEN_URL`` is the issuer; the endpoints and keys come from its discovery document
(``/.well-known/openid-configuration``) and JWKS. The client authenticates with
``INNBYGGERPOST_IDPORTEN_CLIENT_SECRET`` (client_secret_basic) or, when no secret is set, with
``private_key_jwt`` signed by the enterprise certificate's key (``INNBYGGERPOST_CERTIFICATE_FILE``,
PKCS#12, and ``INNBYGGERPOST_CERTIFICATE_PASSWORD``).

Authlib keeps ``state``, ``nonce`` and the PKCE ``code_verifier`` in the (signed) session for the one
flow and checks on the callback: the state, the ID token's signature against the JWKS, ``iss``,
``aud``, ``exp``/``iat`` and ``nonce``. This module adds the ID-porten parts: ``acr`` must be one of
the two levels (3 ↔ ``idporten-loa-substantial``, 4 ↔ ``idporten-loa-high``) and the person is the
``pid`` claim (11 digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from ...config import Settings
from ...domain.security_level import SecurityLevel

_PID = re.compile(r"^\d{11}$")
CLIENT = "idporten"


class SignInFailed(Exception):
    pass


class IdPortenUnavailable(Exception):
    """ID-porten did not answer (discovery, keys or token endpoint): the citizen may try again."""


@dataclass(frozen=True)
class SignedIn:
    pid: str
    level: SecurityLevel


def _private_key_pem(settings: Settings) -> bytes:
    """The enterprise certificate's private key (PKCS#12 or PEM, clients/certificates.py)."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from clients.certificates import load_credentials

    credentials = load_credentials(settings.certificate_file, settings.certificate_password or None)
    return credentials.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


class IdPortenSignIn:
    label = "ID-porten"
    mode = "idporten"
    demo = False

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.issuer = settings.idporten_url.rstrip("/")
        self.client_id = settings.idporten_client_id
        self.redirect_uri = settings.public_url.rstrip("/") + "/inbox/login/callback"
        kwargs: dict[str, Any] = {
            "scope": "openid profile",
            "code_challenge_method": "S256",
            "default_timeout": (settings.connect_timeout, settings.read_timeout),
        }
        secret: str | bytes = settings.idporten_client_secret
        auth_methods: list[Any] = []
        if not secret:
            if not settings.certificate_file:
                raise ValueError(
                    "INNBYGGERPOST_IDPORTEN_URL is set but neither INNBYGGERPOST_IDPORTEN_CLIENT_SECRET nor "
                    "INNBYGGERPOST_CERTIFICATE_FILE (private_key_jwt)"
                )
            from authlib.oauth2.rfc7523 import PrivateKeyJWT

            secret = _private_key_pem(settings)
            kwargs["token_endpoint_auth_method"] = "private_key_jwt"
            auth_methods.append(PrivateKeyJWT())
        self.oauth = OAuth(app)
        self.client: Any = self.oauth.register(
            CLIENT,
            client_id=self.client_id,
            client_secret=secret,
            server_metadata_url=self.issuer + "/.well-known/openid-configuration",
            client_kwargs=kwargs,
            client_auth_methods=auth_methods or None,
        )

    def authorize(self, level: SecurityLevel, again: bool, locale: str) -> Response:
        """Redirect to ID-porten asking for ``level``; ``again`` forces a new authentication (a
        step-up from an existing sign-in)."""
        extra: dict[str, str] = {"acr_values": level.acr, "ui_locales": locale}
        if again:
            extra["prompt"] = "login"
        try:
            response: Response = self.client.authorize_redirect(self.redirect_uri, **extra)
        except (requests.RequestException, OAuthError, ValueError, KeyError) as exc:
            # the discovery document could not be read (timeouts: connect/read settings)
            raise IdPortenUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return response

    def finish(self) -> SignedIn:
        """The callback: Authlib checks state, exchanges the code with the PKCE verifier and checks
        the ID token (signature, iss, aud, exp, nonce); then acr and pid here."""
        try:
            token = self.client.authorize_access_token()
        except (OAuthError, JoseError, KeyError, ValueError, requests.RequestException) as exc:
            raise SignInFailed(f"{type(exc).__name__}: {exc}") from exc
        claims = token.get("userinfo") or {}
        if not claims:
            raise SignInFailed("no ID token in the token response")
        if claims.get("iss") != self.issuer or claims.get("aud") not in (self.client_id, [self.client_id]):
            raise SignInFailed("ID token issuer or audience is not ours")
        level = SecurityLevel.from_acr(claims.get("acr"))
        if level is None:
            raise SignInFailed(f"ID token acr {claims.get('acr')!r} is not an ID-porten level")
        pid = str(claims.get("pid") or "")
        if not _PID.match(pid):
            raise SignInFailed("ID token has no pid (fødselsnummer)")
        return SignedIn(pid, level)
