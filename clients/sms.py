"""SMS through an HTTP SMS gateway, behind ``service.domain.ports.SmsGateway``.

The request shape (one, documented in README "Notifications"):

    POST <INNBYGGERPOST_SMS_GATEWAY_URL>
    Content-Type: application/json
    Authorization: Bearer <token>            (or Basic <username:password>, or none)
    {"to": "+4799000001", "from": "Innbygger", "text": "...", "reference": "<our message id>"}

Any 2xx answer means accepted. 408, 429 and 5xx answers, connection errors and timeouts are
temporary: retried inside the call with backoff, then ``ChannelUnavailable`` (the worker retries
later). Other 4xx answers are ``ChannelRefused`` (permanent). ``reference`` is the same on every
attempt, so a gateway that de-duplicates on it sends a retried message once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from service.config import Settings
from service.domain.ports import ChannelRefused, ChannelUnavailable, SmsMessage

from .transport import call_with_retries

TEMPORARY_STATUS = frozenset({408, 425, 429})


class _Temporary(Exception):
    pass


class HttpSmsGateway:
    def __init__(
        self,
        url: str,
        *,
        sender: str,
        token: str = "",
        username: str = "",
        password: str = "",
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.2,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.sender = sender
        self.timeout = (connect_timeout, read_timeout)
        self.attempts, self.backoff = max(1, attempts), backoff
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "innbyggerpost"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif username:
            self.session.auth = (username, password)
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpSmsGateway:
        s = settings
        return cls(
            s.sms_gateway_url,
            sender=s.sms_sender,
            token=s.sms_gateway_token,
            username=s.sms_gateway_username,
            password=s.sms_gateway_password,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            attempts=s.call_attempts,
            backoff=s.call_backoff,
        )

    def _post_once(self, payload: dict[str, str]) -> None:
        try:
            r = self.session.post(self.url, json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _Temporary(f"SMS gateway {self.url}: {exc}") from exc
        if 200 <= r.status_code < 300:
            return
        detail = f"SMS gateway answered HTTP {r.status_code}: {r.text[:200]}"
        if r.status_code >= 500 or r.status_code in TEMPORARY_STATUS:
            raise _Temporary(detail)
        raise ChannelRefused(detail)

    def send_sms(self, message: SmsMessage) -> None:
        payload = {
            "to": message.to,
            "from": message.sender or self.sender,
            "text": message.text,
            "reference": message.reference,
        }
        try:
            call_with_retries(
                lambda: self._post_once(payload),
                attempts=self.attempts,
                backoff=self.backoff,
                retry_on=(_Temporary,),
                what="SMS gateway send",
                sleep=self.sleep,
            )
        except _Temporary as exc:
            raise ChannelUnavailable(str(exc)) from exc
