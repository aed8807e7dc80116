"""Maskinporten: access tokens for KRR, the DPI access point and Altinn 3 (SPEC-transports §1).

The JWT bearer grant of RFC 7523: ``POST <issuer>token`` with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``. The assertion is signed
RS256 with the enterprise certificate's key and carries either ``x5c`` (the certificate, leaf first)
or, when the client is registered with a key, ``kid``; its claims are ``aud`` (the issuer), ``iss``
(the client id), ``scope``, ``iat``, ``exp`` (at most 120 s later), a fresh ``jti`` and, when asked,
``consumer_org`` and ``resource``. Nothing else: Maskinporten refuses unknown claims.

Tokens are cached per (scope set, ``consumer_org``) and shared by every thread of the process: a
cached token is handed out until ``renew_before_seconds`` before it expires (half-way through its
life when it lives less than twice that); then the next caller
asks for a new one while the others wait for that one request (one request in flight per key), so
a mass mailing costs a handful of tokens, not one a letter. A resource server that answers 401
makes its caller ``invalidate(token)`` and ask again, once.

Failures: network errors, timeouts and 5xx are retried with backoff within ``time_budget_seconds``
(a new assertion every attempt: each ``jti`` is used once), then :class:`MaskinportenUnavailable`.
A refusal (``invalid_grant``, ``invalid_scope``, ``invalid_client``, ``invalid_request``) is not
retried: :class:`MaskinportenRefused` with a message naming the setting to fix.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from clients.certificates import FILE_SETTING, Credentials
from clients.transport import retry_delay
from service import metrics

log = logging.getLogger(__name__)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
URL_SETTING = "INNBYGGERPOST_MASKINPORTEN_URL"
CLIENT_ID_SETTING = "INNBYGGERPOST_MASKINPORTEN_CLIENT_ID"
KID_SETTING = "INNBYGGERPOST_MASKINPORTEN_KID"
MAX_ASSERTION_LIFETIME = 120  # seconds, Maskinporten's limit on exp - iat

# the scopes of each resource (SPEC-transports §1)
KRR_SCOPES = ("krr:global/kontaktinformasjon.read", "krr:global/digitalpost.read")
DPI_SCOPES = ("digitalpostinnbygger:send",)
ALTINN3_SCOPES = ("altinn:correspondence.write", "altinn:serviceowner")


class MaskinportenError(Exception):
    """No token could be had."""


class MaskinportenUnavailable(MaskinportenError):
    """Maskinporten did not answer usefully (network, timeout, 5xx, garbage) within the budget."""


class MaskinportenRefused(MaskinportenError):
    """Maskinporten refused the grant: a configuration to fix, not worth retrying."""

    def __init__(self, error: str, description: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float  # clock time
    renew_at: float  # clock time: handed out until then
    scope: str


CacheKey = tuple[frozenset[str], str | None]


def cache_key(scopes: Sequence[str], consumer_org: str | None = None) -> CacheKey:
    """One token per scope *set* (order and repetition do not matter) and ``consumer_org``."""
    return frozenset(s for s in scopes if s), consumer_org or None


class MaskinportenClient:
    """Tokens from one Maskinporten for one client (see the module docstring)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        credentials: Credentials,
        *,
        kid: str | None = None,
        token_url: str | None = None,
        session: requests.Session | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.2,
        time_budget_seconds: float = 20.0,
        renew_before_seconds: float = 30.0,
        assertion_lifetime_seconds: int = 100,
        resource: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not issuer:
            raise ValueError(
                f"{URL_SETTING} is not set (Maskinporten's issuer, e.g. https://maskinporten.no/)"
            )
        if not client_id:
            raise ValueError(f"{CLIENT_ID_SETTING} is not set (the client registered in Maskinporten)")
        self.issuer = issuer
        self.client_id = client_id
        self.credentials = credentials
        self.kid = kid or None
        self.token_url = token_url or issuer.rstrip("/") + "/token"
        self.timeout = (connect_timeout, read_timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.time_budget = time_budget_seconds
        self.renew_before = renew_before_seconds
        self.assertion_lifetime = max(1, min(int(assertion_lifetime_seconds), MAX_ASSERTION_LIFETIME))
        self.resource = resource
        self._clock = clock
        self._sleep = sleep
        self._session = session or _session()
        self._lock = threading.Lock()
        self._cache: dict[CacheKey, _Cached] = {}
        self._inflight: dict[CacheKey, threading.Lock] = {}
        self.requests = 0  # token requests sent (tests, metrics)

    # -- the API ---------------------------------------------------------------------------------
    def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str:
        """A bearer token for ``scopes`` (for ``consumer_org`` when given), from the cache when it
        is fresh enough; else one request, shared with every thread asking for the same key."""
        key = cache_key(scopes, consumer_org)
        if not key[0]:
            raise ValueError("ask for at least one scope")
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh
        with self._lock:
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:  # one request per key in flight; the others wait here and then find it cached
            fresh = self._fresh(key)
            if fresh is not None:
                return fresh
            cached = self._request(key)
            with self._lock:
                self._cache[key] = cached
            return cached.token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (a resource server answered 401 to it); a token cached since stays."""
        with self._lock:
            for key, cached in list(self._cache.items()):
                if cached.token == token:
                    del self._cache[key]

    # -- internals -------------------------------------------------------------------------------
    def _fresh(self, key: CacheKey) -> str | None:
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self._clock() < cached.renew_at:
            return cached.token
        return None

    def assertion(self, scopes: Sequence[str], consumer_org: str | None = None) -> str:
        """A signed grant assertion (public for the tests)."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "aud": self.issuer,
            "iss": self.client_id,
            "scope": " ".join(sorted(set(scopes))),
            "iat": now,
            "exp": now + self.assertion_lifetime,
            "jti": str(uuid.uuid4()),
        }
        if consumer_org:
            claims["consumer_org"] = consumer_org
        if self.resource:
            claims["resource"] = self.resource
        headers: dict[str, Any] = {"alg": "RS256"}
        if self.kid:
            headers["kid"] = self.kid
        else:
            headers["x5c"] = self.credentials.x5c()
        return jwt.encode(claims, self.credentials.private_key, algorithm="RS256", headers=headers)

    def _request(self, key: CacheKey) -> _Cached:
        scopes, consumer_org = key
        started = time.monotonic()
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                cached = self._request_once(sorted(scopes), consumer_org)
                metrics.MASKINPORTEN_TOKENS.labels("issued").inc()
                return cached
            except MaskinportenRefused:
                metrics.MASKINPORTEN_TOKENS.labels("refused").inc()
                raise
            except MaskinportenUnavailable:
                metrics.MASKINPORTEN_TOKENS.labels("unavailable").inc()
                raise
            except _Retryable as exc:
                metrics.MASKINPORTEN_TOKENS.labels("unavailable").inc()
                last = str(exc)
                delay = retry_delay(attempt, self.backoff)
                spent = time.monotonic() - started
                if attempt >= self.attempts or spent + delay >= self.time_budget:
                    break
                log.info(
                    "Maskinporten token request failed (attempt %d/%d): %s; retrying in %.2fs",
                    attempt,
                    self.attempts,
                    exc,
                    delay,
                )
                self._sleep(delay)
        raise MaskinportenUnavailable(f"Maskinporten at {self.token_url} gave no token: {last}")

    def _request_once(self, scopes: list[str], consumer_org: str | None) -> _Cached:
        with self._lock:
            self.requests += 1
        form = {"grant_type": GRANT_TYPE, "assertion": self.assertion(scopes, consumer_org)}
        try:
            response = self._session.post(
                self.token_url, data=form, timeout=self.timeout, headers={"Accept": "application/json"}
            )
        except requests.Timeout as exc:
            raise _Retryable(f"timeout ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            raise _Retryable(f"connection failed: {exc}") from exc
        except requests.RequestException as exc:
            raise MaskinportenUnavailable(f"Maskinporten call failed: {exc}") from exc
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            if isinstance(body, dict) and body.get("error"):
                raise self._refusal(str(body["error"]), str(body.get("error_description", "")), scopes)
            raise MaskinportenUnavailable(
                f"Maskinporten at {self.token_url} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise MaskinportenUnavailable(
                f"Maskinporten answered 200 without an access_token: {response.text[:200]}"
            )
        try:
            expires_in = float(body.get("expires_in", 120))
        except (TypeError, ValueError):
            expires_in = 120.0
        token = body["access_token"]
        log.info(
            "Maskinporten token for %s%s, expires in %ds",
            " ".join(scopes),
            f" (consumer_org {consumer_org})" if consumer_org else "",
            int(expires_in),
        )
        now = self._clock()
        # renewed renew_before seconds before it expires, or half-way through a short-lived token
        renew_at = now + max(expires_in - self.renew_before, expires_in / 2)
        return _Cached(token, now + expires_in, renew_at, str(body.get("scope", " ".join(scopes))))

    def _refusal(self, error: str, description: str, scopes: list[str]) -> MaskinportenRefused:
        said = f"Maskinporten refused the token request ({error}: {description or 'no description'})"
        if error == "invalid_scope":
            fix = (
                f"the client {CLIENT_ID_SETTING}={self.client_id!r} has not been granted the scopes "
                f"{' '.join(scopes)!r}: add them to the client in Digdir's self-service (or fix "
                f"{CLIENT_ID_SETTING} if it names the wrong client)"
            )
        elif error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            how = (
                f"the key registered as {KID_SETTING}={self.kid!r}"
                if self.kid
                else f"the certificate in {FILE_SETTING}"
            )
            fix = (
                f"check {CLIENT_ID_SETTING}={self.client_id!r} (a client registered at {URL_SETTING}="
                f"{self.issuer!r}), that it is registered with {how}, and this host's clock"
            )
        else:
            fix = f"check {URL_SETTING}={self.issuer!r} and {CLIENT_ID_SETTING}={self.client_id!r}"
        return MaskinportenRefused(error, description, f"{said}: {fix}")


class _Retryable(Exception):
    pass


def _session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = "innbyggerpost"
    return s
