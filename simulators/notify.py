"""Notification simulators: an SMTP catcher (aiosmtpd, in a thread of the simulator process) and an
SMS gateway (``POST /sms`` on the simulator's HTTP port, the request shape of ``clients/sms.py``).

What they caught: ``GET /_sim/outbox`` (HTML) and ``GET /_sim/outbox.json``.
Failure injection (JSON bodies):
- ``POST /_sim/smtp {"refuse": N, "reject_recipients": [...]}``: the next N messages are refused at
  DATA with ``451`` (temporary), then accepted again; the listed addresses get ``550`` (permanent);
- ``POST /_sim/sms {"fail": N, "status": 503, "hold": S}``: the next N gateway requests answer that
  status (``"fail": -1``: every request until changed), each after holding it ``S`` seconds (a
  gateway that hangs, then fails: nothing is accepted; ``held`` counts them);
- ``POST /_sim/outbox/clear``: forget what was caught and zero the counters.
The state is one process-wide object (``STATE``), shared by the SMTP thread and the HTTP threads.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

log = logging.getLogger("innbyggerpost.simulators.notify")


@dataclass
class CaughtEmail:
    id: int
    received_at: str
    mail_from: str
    rcpt_to: list[str]
    from_header: str
    to: str
    subject: str
    message_id: str
    body: str


@dataclass
class CaughtSms:
    id: int
    received_at: str
    to: str
    sender: str
    text: str
    reference: str
    authorization: str  # "bearer", "basic:<user>" or "none"


@dataclass
class NotifySimState:
    emails: list[CaughtEmail] = field(default_factory=list)
    sms: list[CaughtSms] = field(default_factory=list)
    smtp_refuse_remaining: int = 0
    smtp_reject_recipients: set[str] = field(default_factory=set)  # answered 550 at RCPT
    smtp_refused: int = 0
    sms_fail_remaining: int = 0
    sms_fail_status: int = 503
    sms_requests: int = 0
    sms_failed: int = 0
    sms_hold_seconds: float = 0.0
    sms_held: int = 0
    smtp_port: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.emails.clear()
            self.sms.clear()
            self.smtp_refuse_remaining = self.smtp_refused = 0
            self.smtp_reject_recipients.clear()
            self.sms_fail_remaining = self.sms_requests = self.sms_failed = self.sms_held = 0
            self.sms_hold_seconds = 0.0

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "emails": [asdict(e) for e in self.emails],
                "sms": [asdict(s) for s in self.sms],
                "smtp": {
                    "port": self.smtp_port,
                    "refused": self.smtp_refused,
                    "refuse_remaining": self.smtp_refuse_remaining,
                },
                "sms_gateway": {
                    "requests": self.sms_requests,
                    "failed": self.sms_failed,
                    "fail_remaining": self.sms_fail_remaining,
                    "fail_status": self.sms_fail_status,
                    "held": self.sms_held,
                },
            }


STATE = NotifySimState()


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- SMTP ----------------------------------------------------------------------------------------
class _Handler:
    def __init__(self, state: NotifySimState) -> None:
        self.state = state

    async def handle_RCPT(  # noqa: N802 - aiosmtpd API
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.state.lock:
            if address.lower() in self.state.smtp_reject_recipients:
                return "550 5.1.1 Simulated: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        with self.state.lock:
            if self.state.smtp_refuse_remaining > 0:
                self.state.smtp_refuse_remaining -= 1
                self.state.smtp_refused += 1
                return "451 4.3.0 Simulated temporary failure, try again later"
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        part = msg.get_body(preferencelist=("plain", "html")) if msg.is_multipart() else msg
        body = (part.get_content() if part is not None else "").replace("\r\n", "\n")
        with self.state.lock:
            self.state.emails.append(
                CaughtEmail(
                    id=len(self.state.emails) + 1,
                    received_at=_now(),
                    mail_from=str(envelope.mail_from),
                    rcpt_to=[str(r) for r in envelope.rcpt_tos],
                    from_header=str(msg.get("From", "")),
                    to=str(msg.get("To", "")),
                    subject=str(msg.get("Subject", "")),
                    message_id=str(msg.get("Message-ID", "")),
                    body=str(body),
                )
            )
        return "250 OK"


_controller: Any = None


def start_smtp_catcher(host: str, port: int, state: NotifySimState = STATE, **options: Any) -> Any:
    """Start the SMTP catcher in a background thread (aiosmtpd's Controller); returns the controller.
    ``options`` go to the Controller (e.g. ``tls_context``, ``require_starttls``, ``authenticator``)."""
    global _controller
    from aiosmtpd.controller import Controller

    controller = Controller(_Handler(state), hostname=host, port=port, ready_timeout=10, **options)
    controller.start()
    state.smtp_port = port
    _controller = controller
    log.info("SMTP catcher on %s:%d", host, port)
    return controller


def stop_smtp_catcher() -> None:
    global _controller
    if _controller is not None:
        _controller.stop()
        _controller = None


# -- HTTP: SMS gateway, control, outbox page ----------------------------------------------------
def _json(start_response: Callable[..., Any], payload: Any, status: str = "200 OK") -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _read_json(environ: dict[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return json.loads(environ["wsgi.input"].read(length) or b"{}")


def _authorization(environ: dict[str, Any]) -> str:
    raw = environ.get("HTTP_AUTHORIZATION", "")
    if raw.lower().startswith("bearer "):
        return "bearer"
    if raw.lower().startswith("basic "):
        try:
            user = base64.b64decode(raw[6:]).decode().partition(":")[0]
        except ValueError:
            user = "?"
        return f"basic:{user}"
    return "none"


def _sms(state: NotifySimState, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    try:
        payload = _read_json(environ)
        to, text = str(payload["to"]), str(payload["text"])
    except (ValueError, KeyError, TypeError) as exc:
        return _json(start_response, {"error": f"bad request: {exc}"}, "400 Bad Request")
    hold = 0.0
    with state.lock:
        state.sms_requests += 1
        failing = state.sms_fail_remaining != 0
        if failing:
            if state.sms_fail_remaining > 0:
                state.sms_fail_remaining -= 1
            state.sms_failed += 1
            code = state.sms_fail_status
            hold = state.sms_hold_seconds
            state.sms_held += int(hold > 0)
    if failing:
        if hold > 0:
            time.sleep(hold)  # the gateway hangs (the caller's read timeout or death ends its wait)
        return _json(start_response, {"error": "simulated gateway failure"}, f"{code} Simulated")
    with state.lock:
        sms = CaughtSms(
            id=len(state.sms) + 1,
            received_at=_now(),
            to=to,
            sender=str(payload.get("from") or ""),
            text=text,
            reference=str(payload.get("reference") or ""),
            authorization=_authorization(environ),
        )
        state.sms.append(sms)
    return _json(start_response, {"id": sms.id, "status": "accepted"}, "202 Accepted")


def _page(state: NotifySimState) -> bytes:
    data = state.to_json()
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(m['received_at'])}</td><td>{e(m['from_header'])}</td><td>{e(m['to'])}</td>"
        f"<td>{e(m['subject'])}</td><td><pre>{e(m['body'])}</pre></td></tr>"
        for m in reversed(data["emails"])
    )
    texts = "".join(
        f"<tr><td>{e(s['received_at'])}</td><td>{e(s['sender'])}</td><td>{e(s['to'])}</td>"
        f"<td>{e(s['text'])}</td><td>{e(s['reference'])}</td></tr>"
        for s in reversed(data["sms"])
    )
    smtp, gw = data["smtp"], data["sms_gateway"]
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>innbyggerpost simulators: outbox</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left}}pre{{white-space:pre-wrap;margin:0}}</style>
</head><body>
<h1>Caught notifications</h1>
<p>SMTP catcher on port {e(str(smtp["port"]))}: {len(data["emails"])} e-mails, {smtp["refused"]} refused.
SMS gateway (<code>POST /sms</code>): {len(data["sms"])} texts, {gw["requests"]} requests, {gw["failed"]} failed.
JSON: <a href="/_sim/outbox.json">/_sim/outbox.json</a></p>
<h2>E-mail</h2>
<table id="emails"><tr><th>received</th><th>from</th><th>to</th><th>subject</th><th>body</th></tr>{rows}</table>
<h2>SMS</h2>
<table id="sms"><tr><th>received</th><th>from</th><th>to</th><th>text</th><th>reference</th></tr>{texts}</table>
</body></html>
"""
    return doc.encode()


def handles(path: str) -> bool:
    return path == "/sms" or path.startswith(("/_sim/outbox", "/_sim/smtp", "/_sim/sms"))


def make_notify_app(state: NotifySimState = STATE) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/sms" and method == "POST":
            return _sms(state, environ, start_response)
        if path == "/_sim/outbox.json":
            return _json(start_response, state.to_json())
        if path == "/_sim/outbox" and method == "GET":
            body = _page(state)
            start_response(
                "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == "/_sim/outbox/clear" and method == "POST":
            state.clear()
            return _json(start_response, {"cleared": True})
        try:
            if path == "/_sim/smtp" and method == "POST":
                payload = _read_json(environ)
                with state.lock:
                    state.smtp_refuse_remaining = int(payload.get("refuse", 0))
                    state.smtp_reject_recipients = {
                        str(a).lower() for a in payload.get("reject_recipients", [])
                    }
                return _json(start_response, state.to_json()["smtp"])
            if path == "/_sim/sms" and method == "POST":
                payload = _read_json(environ)
                with state.lock:
                    state.sms_fail_remaining = int(payload.get("fail", 0))
                    state.sms_fail_status = int(payload.get("status", 503))
                    state.sms_hold_seconds = float(payload.get("hold", 0))
                return _json(start_response, state.to_json()["sms_gateway"])
        except (ValueError, TypeError, AttributeError) as exc:
            return _json(start_response, {"error": str(exc)}, "400 Bad Request")
        return _json(start_response, {"error": f"nothing at {method} {path}"}, "404 Not Found")

    return app
