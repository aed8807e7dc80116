"""Signed session cookies (HMAC-SHA256) with a per-session CSRF token.

The cookie holds ``{"pid", "rep": [[id, name], ...], "csrf", "iat"}`` as base64url JSON plus its
HMAC; it is HttpOnly, SameSite=Lax, ``Path=/inbox``, Secure behind HTTPS. A session without ``pid``
is anonymous (it carries the CSRF token of the sign-in form). Sessions expire after
``INNBYGGERPOST_INBOX_SESSION_SECONDS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from .identity import Identity, Reportee

COOKIE = "inbox_session"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    identity: Identity | None = None
    issued: float = field(default_factory=time.time)
    dirty: bool = False

    def check_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())


class SessionCodec:
    def __init__(self, key: bytes, max_age: int) -> None:
        self._key = key
        self.max_age = max_age

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def encode(self, s: Session) -> str:
        data: dict[str, object] = {"csrf": s.csrf, "iat": int(s.issued)}
        if s.identity is not None:
            data["pid"] = s.identity.pid
            data["name"] = s.identity.name
            data["rep"] = [[r.id, r.name] for r in s.identity.reportees]
        payload = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def decode(self, value: str | None) -> Session | None:
        if not value or "." not in value:
            return None
        payload, _, sig = value.partition(".")
        if not hmac.compare_digest(sig.encode(), self._sign(payload).encode()):
            return None
        try:
            data = json.loads(_unb64(payload))
            issued = float(data["iat"])
            if time.time() - issued > self.max_age:
                return None
            identity = None
            if data.get("pid"):
                identity = Identity(
                    str(data["pid"]),
                    str(data.get("name", "")),
                    tuple(Reportee(str(i), str(n)) for i, n in data.get("rep", [])),
                )
            return Session(csrf=str(data["csrf"]), identity=identity, issued=issued)
        except (ValueError, KeyError, TypeError):
            return None
