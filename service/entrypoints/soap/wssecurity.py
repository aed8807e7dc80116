"""WS-Security UsernameToken (OASIS WSS 1.0 UsernameToken Profile) check for the WS endpoint.

spyne has no WS-Security; :func:`verify_username_token` reads ``wsse:Security/wsse:UsernameToken``
from the SOAP header of the envelope that :class:`~service.entrypoints.soap.guard.RequestGuard` left in
``environ["innbyggerpost.envelope"]`` and returns the authenticated user name, or raises
:class:`~service.entrypoints.soap.faults.AltinnFaultError` with ErrorID 989 (client fault) saying
what failed. The password is never part of a message or a log line.

Password types:

- ``PasswordText`` (also when ``Type`` is absent, as the profile says): checked by the
  ``check_password(username, password)`` callback, because passwords are stored as argon2 hashes.
  ``Nonce`` and ``Created`` are optional here (WCF clients over HTTPS send neither); when present,
  they get the same freshness and replay checks as for a digest.
- ``PasswordDigest`` = Base64(SHA-1(nonce bytes + Created + password)): needs the cleartext
  password, which an argon2 hash cannot give. Policy: a digest is accepted only for a system user for
  whom ``lookup_digest_secret(username)`` returns the cleartext secret (the service keeps it
  encrypted at rest, e.g. Fernet with a key from the environment, and only for users that need
  digest); otherwise the token is refused with a message saying to use PasswordText over HTTPS.
  ``Nonce`` and ``Created`` are required for a digest.

Freshness and replay: ``Created`` must lie within ``max_age_seconds`` of the server clock in either
direction (old tokens and tokens from the future beyond that skew are refused). A nonce is
remembered, per user, for ``2 * max_age_seconds`` after it is first accepted (long enough to cover
every ``Created`` that could still pass the window), and a second use is refused. The nonce is recorded
only after the password has been verified, so failed attempts cannot burn nonces of real clients.
A ``wsu:Timestamp`` in the same ``wsse:Security`` header is checked too when present (its ``Expires``
must not have passed, with the same skew).

:class:`NonceCache` is the replay-cache interface; :class:`InMemoryNonceCache` serves one process.
With several gunicorn workers or hosts use a shared implementation (database table with a unique
key, Redis ``SET NX EX``), or a replay sent to another worker will pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from lxml import etree

from ... import ns
from .faults import ERROR_SYSTEM_AUTHENTICATION_FAILED, NS_SOAP11_ENV, NS_SOAP12_ENV, AltinnFaultError

logger = logging.getLogger(__name__)

NS_WSSE = ns.WSSE
NS_WSU = ns.WSU
_UTP = ns.WSS_USERNAME_TOKEN_PROFILE
PASSWORD_TEXT = _UTP + "#PasswordText"
PASSWORD_DIGEST = _UTP + "#PasswordDigest"
_SOAP_MSG = ns.WSS_SOAP_MESSAGE_SECURITY
BASE64_ENCODING = _SOAP_MSG + "#Base64Binary"

AUTH_FAILED = "System authentication failed"

_NS = {"wsse": NS_WSSE, "wsu": NS_WSU, "s11": NS_SOAP11_ENV, "s12": NS_SOAP12_ENV}


class NonceCache(Protocol):
    """Replay cache for UsernameToken nonces."""

    def add_if_absent(self, key: str, expires_at: float) -> bool:
        """Atomically remember ``key`` until ``expires_at`` (epoch seconds).

        Returns True if the key was not known (or had expired), False if it is a replay.
        """
        ...


class InMemoryNonceCache:
    """Thread-safe in-process :class:`NonceCache` with expiry and a size bound.

    Entries expire in insertion order when the TTL is constant (as it is here), so purging walks from
    the oldest entry. When ``max_entries`` is reached after purging, the oldest entry is dropped
    (logged): only authenticated callers add entries, so this is a safety valve, not a normal path.
    """

    def __init__(self, max_entries: int = 1_000_000, clock: Callable[[], float] = time.time) -> None:
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def add_if_absent(self, key: str, expires_at: float) -> bool:
        now = self._clock()
        with self._lock:
            self._purge(now)
            known = self._entries.get(key)
            if known is not None and known > now:
                return False
            self._entries[key] = expires_at
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
                logger.warning("nonce cache full (%d entries): dropped the oldest nonce", self._max)
            return True

    def _purge(self, now: float) -> None:
        entries = self._entries
        while entries:
            key, expires_at = next(iter(entries.items()))
            if expires_at > now:
                break
            del entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _shown(value: str) -> str:
    """A client-supplied value as quoted in a fault or log line: at most 64 characters."""
    return value if len(value) <= 64 else value[:64] + "…"


def _fail(reason: str) -> AltinnFaultError:
    return AltinnFaultError(ERROR_SYSTEM_AUTHENTICATION_FAILED, f"{AUTH_FAILED}: {reason}", client=True)


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    return (el.text or "").strip()


def _parse_time(value: str, what: str) -> datetime:
    """xs:dateTime (``Z`` or offset, up to 7 fraction digits as .NET writes) → aware UTC datetime."""
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _fail(f"{what} is not a valid xs:dateTime") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _security_headers(root: etree._Element) -> list[etree._Element]:
    return root.xpath("(s11:Header|s12:Header)/wsse:Security", namespaces=_NS)  # type: ignore[return-value]


def verify_username_token(
    envelope: etree._Element | etree._ElementTree,
    *,
    check_password: Callable[[str, str], bool],
    nonce_cache: NonceCache,
    require_nonce_created: bool = False,
    max_age_seconds: float,
    lookup_digest_secret: Callable[[str], str | None] | None = None,
    user_exists: Callable[[str], bool] | None = None,
    now: datetime | None = None,
    check_digest: Callable[[str, Callable[[str], bool]], bool] | None = None,
) -> str:
    """Verify the UsernameToken in ``envelope``'s SOAP header; return the user name.

    :param envelope: the parsed request (root ``Envelope`` element or its tree), SOAP 1.1 or 1.2.
    :param check_password: ``(username, password) -> bool`` for PasswordText (argon2 verify).
    :param nonce_cache: replay cache (:class:`NonceCache`).
    :param max_age_seconds: allowed distance of ``Created`` from ``now``, both directions
        (``Settings.wsse_max_age_seconds``).
    :param lookup_digest_secret: ``username -> cleartext secret | None`` for PasswordDigest; without
        it (or when it returns None) PasswordDigest is refused for that user.
    :param user_exists: ``username -> bool``; when given, an unknown user is reported as such before
        any password check, else unknown user and wrong password give the same message.
    :param now: the current time (aware), for tests; default ``datetime.now(UTC)``.
    :param check_digest: ``(username, matches) -> bool`` for PasswordDigest, used instead of
        ``lookup_digest_secret`` when given: ``matches(cleartext secret)`` compares the digest, and the
        callback counts the attempt (the login throttle) and says whether it succeeded.
    :raises AltinnFaultError: ErrorID 989, client fault, message ``System authentication failed: …``.
    """
    root = envelope.getroot() if isinstance(envelope, etree._ElementTree) else envelope
    current = (now or datetime.now(UTC)).astimezone(UTC)
    max_age = timedelta(seconds=max_age_seconds)

    token: etree._Element | None = None
    security: etree._Element | None = None
    for sec in _security_headers(root):
        tokens = sec.findall(f"{{{NS_WSSE}}}UsernameToken")
        if len(tokens) > 1:
            raise _fail("more than one wsse:UsernameToken in the wsse:Security header")
        if tokens:
            if token is not None:
                raise _fail("more than one wsse:Security header with a wsse:UsernameToken")
            token, security = tokens[0], sec
    if token is None or security is None:
        if not _security_headers(root):
            raise _fail("the SOAP header has no wsse:Security element (WS-Security UsernameToken required)")
        raise _fail("the wsse:Security header has no wsse:UsernameToken")

    _check_timestamp(security, current, max_age)

    username = _text(token.find(f"{{{NS_WSSE}}}Username"))
    if not username:
        raise _fail("wsse:Username is missing or empty")
    password_el = token.find(f"{{{NS_WSSE}}}Password")
    if password_el is None:
        raise _fail(f"wsse:Password is missing for user {_shown(username)!r}")
    password = password_el.text or ""
    password_type = (password_el.get("Type") or PASSWORD_TEXT).strip()
    nonce_el = token.find(f"{{{NS_WSSE}}}Nonce")
    created_text = _text(token.find(f"{{{NS_WSU}}}Created"))
    if created_text is None:  # some clients put Created in the wsse namespace
        created_text = _text(token.find(f"{{{NS_WSSE}}}Created"))

    is_digest = password_type == PASSWORD_DIGEST or password_type.endswith("#PasswordDigest")
    is_text = password_type == PASSWORD_TEXT or password_type.endswith("#PasswordText")
    if not (is_digest or is_text):
        raise _fail(f"unsupported wsse:Password Type {password_type!r}")

    if user_exists is not None and not user_exists(username):
        raise _fail(f"unknown system user {_shown(username)!r}")

    created: datetime | None = None
    if created_text is not None:
        created = _parse_time(created_text, "wsu:Created")
        if created < current - max_age:
            raise _fail(f"wsu:Created {created_text} is older than {max_age_seconds:g} seconds")
        if created > current + max_age:
            raise _fail(f"wsu:Created {created_text} is more than {max_age_seconds:g} seconds in the future")

    nonce_b64: str | None = None
    nonce_bytes = b""
    if nonce_el is not None:
        encoding = (nonce_el.get("EncodingType") or BASE64_ENCODING).strip()
        if encoding != BASE64_ENCODING and not encoding.endswith("#Base64Binary"):
            raise _fail(f"unsupported wsse:Nonce EncodingType {encoding!r} (Base64Binary expected)")
        nonce_b64 = "".join((nonce_el.text or "").split())
        try:
            nonce_bytes = base64.b64decode(nonce_b64, validate=True)
        except (binascii.Error, ValueError):
            raise _fail("wsse:Nonce is not valid base64") from None
        if not nonce_bytes:
            raise _fail("wsse:Nonce is empty")

    if require_nonce_created and (nonce_b64 is None or created_text is None):
        raise _fail("wsse:Nonce and wsu:Created are required on every UsernameToken (replay protection)")

    if is_digest:
        if nonce_b64 is None:
            raise _fail("PasswordDigest requires a wsse:Nonce")
        if created_text is None:
            raise _fail("PasswordDigest requires a wsu:Created")
        given = "".join(password.split()).encode("ascii", "replace")
        salt = nonce_bytes + created_text.encode("utf-8")

        def matches(secret: str) -> bool:
            expected = base64.b64encode(hashlib.sha1(salt + secret.encode("utf-8")).digest())
            return hmac.compare_digest(expected, given)

        if check_digest is not None:
            ok = check_digest(username, matches)
        else:
            secret = lookup_digest_secret(username) if lookup_digest_secret is not None else None
            ok = secret is not None and matches(secret)
        if not ok:
            # One answer for a wrong digest, an unknown user and a user without digest: it must not
            # tell which user names exist.
            raise _fail(
                f"wrong password digest for system user {_shown(username)!r}, or PasswordDigest is not "
                "enabled for it (use PasswordText over HTTPS)"
            )
    else:
        if not check_password(username, password):
            if user_exists is None:
                raise _fail(f"unknown system user {_shown(username)!r} or wrong password")
            raise _fail(f"wrong password for system user {_shown(username)!r}")

    if nonce_b64 is not None:
        # Keep the nonce as long as a token carrying it could still pass the Created window. Keyed on
        # the decoded bytes: the same nonce re-spelt in another base64 form is the same nonce.
        expires = time.time() + 2 * max_age_seconds
        if not nonce_cache.add_if_absent(f"{username}\x00{nonce_bytes.hex()}", expires):
            raise _fail(
                f"the wsse:Nonce was already used (replayed request) for system user {_shown(username)!r}"
            )
    return username


def _check_timestamp(security: etree._Element, current: datetime, max_age: timedelta) -> None:
    timestamp = security.find(f"{{{NS_WSU}}}Timestamp")
    if timestamp is None:
        return
    expires_text = _text(timestamp.find(f"{{{NS_WSU}}}Expires"))
    if expires_text:
        expires = _parse_time(expires_text, "wsu:Timestamp/wsu:Expires")
        if expires < current - max_age:
            raise _fail(f"the wsu:Timestamp expired at {expires_text}")
    created_text = _text(timestamp.find(f"{{{NS_WSU}}}Created"))
    if created_text:
        created = _parse_time(created_text, "wsu:Timestamp/wsu:Created")
        if created > current + max_age:
            raise _fail(f"wsu:Timestamp/wsu:Created {created_text} is in the future")
