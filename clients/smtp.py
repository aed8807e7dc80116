"""E-mail over SMTP (standard library ``smtplib``), behind ``service.domain.ports.EmailSender``.

One connection per message (notifications are few and far between per worker; a pooled connection
would only add stale-connection handling). STARTTLS and login are configurable; every socket
operation has the configured timeout; temporary failures (4xx replies, connection errors, timeouts)
are retried inside the call with backoff, then raised as ``ChannelUnavailable`` for the worker to
retry later; 5xx replies are ``ChannelRefused`` (permanent).
"""

from __future__ import annotations

import email.utils
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage as MimeMessage

from service.config import Settings
from service.domain.ports import ChannelRefused, ChannelUnavailable, EmailMessage

from .transport import call_with_retries


class _Temporary(Exception):
    pass


class SmtpEmailSender:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.2,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host, self.port = host, port
        self.sender = sender
        self.starttls = starttls
        self.username, self.password = username, password
        self.timeout = timeout
        self.attempts, self.backoff = max(1, attempts), backoff
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpEmailSender:
        s = settings
        return cls(
            s.smtp_host,
            s.smtp_port,
            sender=s.smtp_from,
            starttls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password,
            timeout=s.read_timeout,
            attempts=s.call_attempts,
            backoff=s.call_backoff,
        )

    def _mime(self, message: EmailMessage) -> MimeMessage:
        m = MimeMessage()
        m["From"] = message.from_address or self.sender
        m["To"] = message.to
        m["Subject"] = message.subject
        m["Date"] = email.utils.formatdate(usegmt=True)
        domain = (self.sender.rpartition("@")[2] or "innbyggerpost.invalid").strip(">")
        m["Message-ID"] = f"<{message.message_id or email.utils.make_msgid()}@{domain}>"
        m["Auto-Submitted"] = "auto-generated"
        m.set_content(message.body)
        return m

    def _send_once(self, mime: MimeMessage, envelope_from: str, to: str) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mime, from_addr=envelope_from, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= c < 500 for c in codes):
                raise _Temporary(f"recipient refused for now: {exc.recipients}") from exc
            raise ChannelRefused(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code} {exc.smtp_error!r}"
            if 400 <= exc.smtp_code < 500:
                raise _Temporary(text) from exc
            raise ChannelRefused(text) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, timeouts, refused connections
            raise _Temporary(f"SMTP {self.host}:{self.port}: {exc}") from exc

    def send_email(self, message: EmailMessage) -> None:
        mime = self._mime(message)
        # The envelope sender is always ours (bounces come to us); FromAddress is the visible From.
        try:
            call_with_retries(
                lambda: self._send_once(mime, self.sender, message.to),
                attempts=self.attempts,
                backoff=self.backoff,
                retry_on=(_Temporary,),
                what=f"SMTP send to {self.host}:{self.port}",
                sleep=self.sleep,
            )
        except _Temporary as exc:
            raise ChannelUnavailable(str(exc)) from exc
