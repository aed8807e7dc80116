"""The DPI access point's sender API ("corner 2", reference/dpi/c2-api/openapi_spec.yaml) over HTTP.

- ``send``: ``POST /messages/out`` (multipart ``forretningsmelding`` application/jwt and
  ``dokumentpakke`` application/cms); 200/201 taken, 409 (already taken: a resend) taken too;
- ``statuses``: ``GET /messages/out/{id}/statuses``;
- ``receipts``: ``GET /messages/in`` (``avsenderidentifikator``, ``kanal``, ``page_size``; 204 when
  empty); every receipt's JWS is verified against its ``x5c`` chained to a trusted CA before it is
  handed on; one that does not verify is handed on as such (never applied). ``consumer_org``: the organisation a
letter is sent for when the operator sends on behalf of another (its Maskinporten token's consumer);
- ``mark_read``: ``POST /messages/in/{id}/read``.

Every call: a Maskinporten bearer token (scope ``digitalpostinnbygger:send``), connect/read timeouts,
retries with backoff on connection trouble, timeouts, 408/429/5xx, within a total time budget; a
401 invalidates the token and is retried once with a new one (the business message is signed again
around the new token); 400/403 with a problem document fail at once with its reason.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from cryptography import x509

from ..transport import retry_delay
from . import message

log = logging.getLogger(__name__)

SCOPE = "digitalpostinnbygger:send"


class TokenProvider(Protocol):
    """Maskinporten tokens (clients/maskinporten.MaskinportenClient fits)."""

    def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str: ...

    def invalidate(self, token: str) -> None: ...


class AccessPointRejected(Exception):
    """400/403 (or another 4xx): the access point refuses the request; retrying will not help."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"access point answered HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


class AccessPointUnavailable(Exception):
    """Unreachable, timed out, 5xx, or out of time budget after the bounded retries: try later."""


class _Retry(Exception):
    pass


@dataclass(frozen=True)
class Status:
    status: str  # OPPRETTET | SENDT | FEILET
    timestamp: str = ""
    beskrivelse: str = ""


@dataclass(frozen=True)
class IncomingReceipt:
    """One entry of ``GET /messages/in``: the verified receipt, or why it could not be verified."""

    message_id: str  # the receipt's id (for mark_read); "" when even that is unreadable
    forretningsmelding: str
    receipt: message.Receipt | None = None
    error: str | None = None


def problem_reason(response: requests.Response) -> str:
    """The ``title``/``detail`` of an application/problem+json answer, else the start of the body."""
    try:
        doc = response.json()
        if isinstance(doc, dict):
            parts = [str(doc[k]) for k in ("title", "detail") if doc.get(k)]
            if parts:
                return ": ".join(parts)
    except ValueError:
        pass
    return (response.text or response.reason or "").strip()[:300]


def make_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "innbyggerpost"
    if not urllib.request.getproxies():
        session.trust_env = False  # as clients/transport.make_transport: no per-call proxy look-ups
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=2, pool_maxsize=max(16, pool_size), max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class AccessPointClient:
    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        trusted: Sequence[x509.Certificate],
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.2,
        budget_seconds: float | None = None,
        kanal: str | None = None,
        avsenderidentifikator: str | None = None,
        consumer_org: str | None = None,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.trusted = list(trusted)
        self.timeout = (connect_timeout, read_timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.budget = (
            budget_seconds if budget_seconds is not None else self.attempts * (connect_timeout + read_timeout)
        )
        self.kanal = kanal
        self.avsenderidentifikator = avsenderidentifikator
        self.consumer_org = consumer_org
        self.session = make_session(pool_size)
        self._sleep = sleep

    # -- the API ------------------------------------------------------------------------------------
    def send(
        self,
        forretningsmelding: Callable[[str], str],
        dokumentpakke: bytes | bytearray,
        message_id: str,
        consumer_org: str | None = None,
    ) -> None:
        """Send one letter; ``forretningsmelding(token)`` gives the signed business message carrying
        that token (signed again only when the token is renewed). Returns when taken (201/200, or
        409: this message id was taken before); raises AccessPointRejected / AccessPointUnavailable."""
        params = {"kanal": self.kanal} if self.kanal else None

        def request(token: str) -> dict[str, Any]:
            return {
                "params": params,
                "files": {
                    "forretningsmelding": (None, forretningsmelding(token).encode(), "application/jwt"),
                    "dokumentpakke": ("dokumentpakke.cms", dokumentpakke, "application/cms"),
                },
            }

        self._call(
            "POST",
            "/messages/out",
            request,
            what=f"send {message_id}",
            ok=(200, 201, 202, 409),
            consumer_org=consumer_org,
        )

    def statuses(self, message_id: str) -> list[Status]:
        response = self._call("GET", f"/messages/out/{message_id}/statuses", what=f"statuses of {message_id}")
        try:
            items = response.json()
            return [
                Status(str(i.get("status", "")), str(i.get("timestamp", "")), str(i.get("beskrivelse", "")))
                for i in items
                if isinstance(i, dict)
            ]
        except (ValueError, AttributeError, TypeError) as exc:
            raise AccessPointUnavailable(f"unreadable statuses of {message_id}: {exc}") from exc

    def receipts(self, page_size: int = 100) -> list[IncomingReceipt]:
        params: dict[str, Any] = {"page_size": str(max(1, min(page_size, 1000)))}
        if self.kanal:
            params["kanal"] = self.kanal
        if self.avsenderidentifikator:
            params["avsenderidentifikator"] = self.avsenderidentifikator
        response = self._call(
            "GET", "/messages/in", lambda _t: {"params": params}, what="receipts", ok=(200, 204)
        )
        if response.status_code == 204 or not response.content:
            return []
        try:
            items = response.json()
            if not isinstance(items, list):
                raise ValueError("not a list")
        except ValueError as exc:
            raise AccessPointUnavailable(f"unreadable receipt list: {exc}") from exc
        return [self._read(item) for item in items]

    def mark_read(self, receipt_id: str) -> None:
        self._call("POST", f"/messages/in/{receipt_id}/read", what=f"read {receipt_id}", ok=(200, 204, 404))

    # -- plumbing -----------------------------------------------------------------------------------
    def _read(self, item: Any) -> IncomingReceipt:
        jws = item.get("forretningsmelding", "") if isinstance(item, dict) else ""
        receipt_id = ""
        try:
            import jwt

            unverified = json.loads(jwt.PyJWS().decode(jws, options={"verify_signature": False}))
            receipt_id = unverified["standardBusinessDocument"]["standardBusinessDocumentHeader"][
                "documentIdentification"
            ]["instanceIdentifier"]
        except Exception:  # noqa: BLE001 (anything unreadable is reported below)
            pass
        try:
            payload, _cert = message.verify_jws(jws, self.trusted)
            return IncomingReceipt(receipt_id, jws, receipt=message.read_receipt(payload))
        except message.MessageError as exc:
            return IncomingReceipt(receipt_id, jws, error=str(exc))

    def _call(
        self,
        method: str,
        path: str,
        build: Callable[[str], dict[str, Any]] = lambda _t: {},
        *,
        what: str,
        ok: tuple[int, ...] = (200,),
        consumer_org: str | None = None,
    ) -> requests.Response:
        url = self.base_url + path
        deadline = time.monotonic() + self.budget
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.tokens.token([SCOPE], consumer_org or self.consumer_org)
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AccessPointUnavailable(f"{what}: time budget of {self.budget:g}s spent")
                timeout = (min(self.timeout[0], remaining), min(self.timeout[1], remaining))
                response = self.session.request(
                    method, url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, **build(token)
                )
                if response.status_code in ok:
                    return response
                if response.status_code == 401 and not renewed:
                    renewed = True
                    self.tokens.invalidate(token)
                    log.info(
                        "%s: access point answered 401 (%s); token renewed", what, problem_reason(response)
                    )
                    attempt -= 1  # the renewal is not one of the retries
                    continue
                if response.status_code >= 500 or response.status_code in (408, 429):
                    raise _Retry(f"HTTP {response.status_code}: {problem_reason(response)}")
                raise AccessPointRejected(response.status_code, problem_reason(response))
            except (requests.RequestException, _Retry) as exc:
                left = deadline - time.monotonic()
                delay = retry_delay(attempt, self.backoff)
                if attempt >= self.attempts or delay >= left:
                    raise AccessPointUnavailable(
                        f"access point {self.base_url}: {what} failed after {attempt} attempt(s): {exc}"
                    ) from exc
                log.info(
                    "%s failed (attempt %d/%d): %s; retrying in %.2fs",
                    what,
                    attempt,
                    self.attempts,
                    exc,
                    delay,
                )
                self._sleep(delay)
