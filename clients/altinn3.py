"""Altinn 3 Correspondence adapter (SPEC-transports §4; contract ``altinn3/altinn-correspondence-v1.json``).

``Altinn3Inbox.publish(letter)`` sends the Altinn copy of one letter and answers its correspondence id:

- a Maskinporten token with ``altinn:correspondence.write`` and ``altinn:serviceowner`` from a
  ``TokenProvider`` (``clients.maskinporten.MaskinportenClient``), renewed once on a 401;
- a letter with attachments goes in ONE multipart ``POST /correspondence/api/v1/correspondence/upload``
  (the fields flattened with dots and indices, one ``attachments`` part per file); a letter without
  goes as JSON to ``POST /correspondence/api/v1/correspondence`` (the multipart form of the contract
  requires ``Correspondence.Notification.NotificationTemplate``, the JSON form does not: a letter
  without notifications is sent without one, so that Altinn does not notify where Altinn 2 would not);
- ``idempotentKey`` = uuid5(owner's SystemUserCode + reference): a repeat (a retry after a lost answer,
  a second worker) is answered 409 by Altinn and resolved by a look-up of the correspondence by
  ``resourceId`` + ``sendersReference`` and recipient, never by a second letter;
- timeouts on every call, retries with exponential backoff and jitter on transport errors and 5xx,
  all within a time budget; a problem document (400/403/404/422) is a permanent refusal
  (``InboxRefused`` with its reason), anything else after the budget ``InboxUnavailable``.

The mapping (``to_fields``) is pure and unit-tested: HTML body -> Markdown (markdownify), Altinn 2
language codes -> ISO 639-1, ``VisibleDateTime`` -> ``requestedPublishTime``, ``DueDateTime`` (a due
date already past is left out: Altinn refuses it, error 1008), ``ReplyOptions`` -> ``replyOptions``
(https only: Altinn refuses others, error 1035), the notification -> Altinn's own ``notification``.
``AllowForwarding`` has no field in the contract file (``reference/README.md``): not sent.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from markdownify import markdownify

from clients.transport import retry_delay
from service.domain.ports import (
    AltinnLetter,
    CopyStatus,
    InboxRefused,
    InboxUnavailable,
    PublishedCopy,
)

log = logging.getLogger("innbyggerpost.altinn3")

SCOPES = ("altinn:correspondence.write", "altinn:serviceowner")
EVENTS_SCOPES = ("altinn:events.subscribe",)
API = "/correspondence/api/v1/correspondence"
LANGUAGES = {"1044": "nb", "2068": "nn", "1033": "en"}
#: namespace of the idempotent keys (uuid5 of "<SystemUserCode>/<ExternalShipmentReference>")
KEY_NAMESPACE = uuid.UUID("0c7ad8a6-5a5c-4d0e-9a43-3f1f2e6b9a16")


class TokenProvider(Protocol):
    """Maskinporten tokens (``clients.maskinporten.MaskinportenClient`` fits)."""

    def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str: ...

    def invalidate(self, token: str) -> None: ...


# -- the mapping (pure) ----------------------------------------------------------------------------
def idempotent_key(system_user_code: str, reference: str) -> str:
    return str(uuid.uuid5(KEY_NAMESPACE, f"{system_user_code}/{reference}"))


def recipient_urn(reportee: str) -> str:
    if len(reportee) == 9:
        return f"urn:altinn:organization:identifier-no:{reportee}"
    return f"urn:altinn:person:identifier-no:{reportee}"


def language(code: str | None) -> str:
    return LANGUAGES.get((code or "").strip(), "nb")


def looks_like_html(text: str) -> bool:
    return "<" in text and ">" in text


def to_markdown(text: str | None) -> str:
    """Altinn 2's HTML (or plain text) body as Markdown: headings, lists, links, emphasis kept."""
    if not text or not text.strip():
        return ""
    if not looks_like_html(text):
        return text.strip()
    md = markdownify(text, heading_style="ATX", bullets="-")  # script and style dropped with their text
    lines = [line.rstrip() for line in md.splitlines()]
    out: list[str] = []
    for line in lines:  # at most one blank line in a row
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def plain_title(text: str) -> str:
    """Altinn 3 wants a plain-text title (error 1002)."""
    if looks_like_html(text):
        text = markdownify(text, strip=["a", "b", "strong", "i", "em"]).replace("*", "")
    return " ".join(text.split())


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_fields(letter: AltinnLetter, now: datetime) -> dict[str, Any]:
    """The letter as ``InitializeCorrespondencesExt`` (JSON; camelCase), without attachments' data."""
    title = plain_title(letter.title)
    summary = to_markdown(letter.summary) or title
    body = to_markdown(letter.body) or summary
    corr: dict[str, Any] = {
        "resourceId": letter.resource_id,
        "sendersReference": letter.reference,
        "content": {
            "language": language(letter.language_code),
            "messageTitle": title,
            "messageSummary": summary,
            "messageBody": body,
        },
        "ignoreReservation": letter.ignore_reservation,
    }
    if letter.message_sender:
        corr["messageSender"] = letter.message_sender[:256]
    if letter.visible_date_time is not None and letter.visible_date_time > now:
        corr["requestedPublishTime"] = _iso(letter.visible_date_time)
    if letter.due_date_time is not None and letter.due_date_time > now:
        corr["dueDateTime"] = _iso(letter.due_date_time)
        if letter.confirmation_needed:  # Altinn requires a due date with it (error 1016)
            corr["isConfirmationNeeded"] = True
    replies = [
        {"linkURL": url, "linkText": text or url}
        for url, text in letter.reply_options
        if url.lower().startswith("https://") and len(url) <= 255
    ]
    if replies:
        corr["replyOptions"] = replies
    if letter.attachments:
        corr["content"]["attachments"] = [
            {
                "fileName": a.filename,
                "displayName": a.name or a.filename,
                "sendersReference": f"{letter.reference}/{i}",
                "dataLocationType": "NewCorrespondenceAttachment",
                "isEncrypted": False,
            }
            for i, a in enumerate(letter.attachments)
        ]
    n = letter.notice
    if n is not None:
        note: dict[str, Any] = {"notificationTemplate": "CustomMessage", "notificationChannel": n.channel}
        if n.channel != "Sms":
            note.update(
                emailSubject=n.email_subject[:128], emailBody=n.email_body[:1024], emailContentType="Plain"
            )
        if n.channel != "Email":
            note["smsBody"] = n.sms_body[:160]
        note["sendReminder"] = n.send_reminder
        if n.send_reminder:
            note["reminderNotificationChannel"] = n.reminder_channel or n.channel
            if note["reminderNotificationChannel"] != "Sms":
                note.update(
                    reminderEmailSubject=(n.reminder_email_subject or n.email_subject)[:128],
                    reminderEmailBody=(n.reminder_email_body or n.email_body)[:1024],
                    reminderEmailContentType="Plain",
                )
            if note["reminderNotificationChannel"] != "Email":
                note["reminderSmsBody"] = (n.reminder_sms_body or n.sms_body)[:160]
        if n.requested_send_time is not None and n.requested_send_time > now:
            note["requestedSendTime"] = _iso(n.requested_send_time)
        if n.email_address or n.mobile_number:
            custom: dict[str, Any] = {}
            if n.email_address:
                custom["emailAddress"] = n.email_address
            if n.mobile_number:
                custom["mobileNumber"] = n.mobile_number
            note["customRecipient"] = custom
        corr["notification"] = note
    return {
        "correspondence": corr,
        "recipients": [recipient_urn(letter.reportee)],
        "idempotentKey": idempotent_key(letter.system_user_code, letter.reference),
    }


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    """ASP.NET form binding names: ``A.B``, ``A[0].B``; booleans as ``true``/``false``."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k[:1].upper()}{k[1:]}" if prefix else f"{k[:1].upper()}{k[1:]}", v, out)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            out.extend((prefix, str(v)) for v in value)  # a list of scalars: the field repeated
        else:
            for i, v in enumerate(value):
                _flatten(f"{prefix}[{i}]", v, out)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif value is not None:
        out.append((prefix, str(value)))


def to_form(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """``InitializeCorrespondencesExt`` as the multipart form of ``.../correspondence/upload``."""
    out: list[tuple[str, str]] = []
    corr = dict(fields["correspondence"])
    if "notification" not in corr:  # the form requires it (see the module doc); only with attachments
        corr["notification"] = {"notificationTemplate": "GenericAltinnMessage"}
    _flatten("Correspondence", corr, out)
    out.extend(("Recipients", r) for r in fields["recipients"])
    out.append(("IdempotentKey", fields["idempotentKey"]))
    return out


# -- the adapter -----------------------------------------------------------------------------------
class _Retry(Exception):
    pass


class Altinn3Inbox:
    """``AltinnInbox`` on Altinn 3 Correspondence."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.2,
        time_budget: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.timeout = (connect_timeout, read_timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.time_budget = time_budget
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "innbyggerpost"
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Any, tokens: TokenProvider) -> Altinn3Inbox:
        return cls(
            settings.altinn3_url,
            tokens,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            attempts=settings.call_attempts,
            backoff=settings.call_backoff,
            time_budget=settings.altinn3_time_budget_seconds,
        )

    # -- the port --------------------------------------------------------------------------------
    def publish(self, letter: AltinnLetter) -> PublishedCopy:
        """One letter's copy, within ONE time budget for the send and any look-up after a 409."""
        deadline = self._clock() + self.time_budget
        fields = to_fields(letter, datetime.now(UTC))
        if letter.attachments:
            files = [
                ("attachments", (a.filename, a.data, a.mime_type or "application/octet-stream"))
                for a in letter.attachments
            ]
            resp = self._call(
                "POST", f"{API}/upload", data=to_form(fields), files=files, what="upload", deadline=deadline
            )
        else:
            resp = self._call("POST", API, json_body=fields, what="initialise", deadline=deadline)
        if resp.status_code == 409:  # 1034: this idempotent key was used: the letter is there
            found = self.lookup(letter, deadline)
            if found is None:
                raise InboxUnavailable(
                    "Altinn 3 answered 409 (idempotent key used) but the look-up found nothing"
                )
            log.info(
                "correspondence for %s already in Altinn 3 (%s)", letter.reference, found.correspondence_id
            )
            return found
        made = (resp.json().get("correspondences") or [{}])[0]
        return PublishedCopy(str(made["correspondenceId"]), str(made.get("status") or "Initialized"))

    def lookup(self, letter: AltinnLetter, deadline: float | None = None) -> PublishedCopy | None:
        """The correspondence of this letter (resource, sendersReference, recipient), if Altinn has it."""
        params = {"resourceId": letter.resource_id, "sendersReference": letter.reference, "role": "Sender"}
        ids = self._call("GET", API, params=params, what="look-up", deadline=deadline).json().get("ids") or []
        urn = recipient_urn(letter.reportee)
        for cid in ids:
            overview = self._call("GET", f"{API}/{cid}", what="look-up", deadline=deadline).json()
            if overview.get("recipient") in (urn, letter.reportee):
                return PublishedCopy(str(cid), str(overview.get("status") or ""), looked_up=True)
        return None

    def status(self, correspondence_id: str) -> CopyStatus:
        d = self._call("GET", f"{API}/{correspondence_id}/details", what="status").json()
        history = tuple(
            (str(h["status"]), _parse_time(h["statusChanged"]))
            for h in d.get("statusHistory") or []
            if h.get("status") and h.get("statusChanged")
        )
        return CopyStatus(correspondence_id, str(d.get("status") or ""), history)

    # -- Altinn Events ---------------------------------------------------------------------------
    def subscribe(
        self, end_point: str, resource_id: str | None = None, type_filter: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"endPoint": end_point}
        if resource_id:
            body["resourceFilter"] = f"urn:altinn:resource:{resource_id}"
        if type_filter:
            body["typeFilter"] = type_filter
        resp = self._call(
            "POST", "/events/api/v1/subscriptions", json_body=body, what="subscribe", scopes=EVENTS_SCOPES
        )
        return dict(resp.json())

    # -- HTTP ------------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: Any = None,
        files: Any = None,
        json_body: Any = None,
        what: str,
        scopes: Sequence[str] = SCOPES,
        deadline: float | None = None,
    ) -> requests.Response:
        """One logical call: 2xx or 409 returned; 401 renews the token once; a problem document
        (400/403/404/422) raises ``InboxRefused``; transport errors and 5xx are retried with backoff
        until ``attempts`` or the time budget is spent, then ``InboxUnavailable``."""
        if deadline is None:
            deadline = self._clock() + self.time_budget
        renewed = False
        attempt = 0
        last = ""
        while True:
            attempt += 1
            token = self.tokens.token(scopes)
            remaining = deadline - self._clock()
            timeout = (min(self.timeout[0], max(0.1, remaining)), min(self.timeout[1], max(0.1, remaining)))
            try:
                resp = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data,
                    files=files,
                    json=json_body,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=timeout,
                )
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                code = resp.status_code
                if 200 <= code < 300 or code == 409:
                    return resp
                if code == 401 and not renewed:
                    renewed = True
                    self.tokens.invalidate(token)
                    log.info("Altinn 3 %s: 401, token renewed", what)
                    attempt -= 1
                    continue
                if code < 500 and code != 429:
                    raise InboxRefused(f"Altinn 3 {what}: HTTP {code}: {_problem_text(resp)}")
                last = f"HTTP {code}: {_problem_text(resp)}"
            if attempt >= self.attempts or self._clock() >= deadline:
                raise InboxUnavailable(f"Altinn 3 {what} failed after {attempt} attempts: {last}")
            delay = min(
                retry_delay(attempt, self.backoff),
                max(0.0, deadline - self._clock()),
            )
            log.info("Altinn 3 %s failed (%s); retrying in %.2fs", what, last, delay)
            self._sleep(delay)


def _problem_text(resp: requests.Response) -> str:
    try:
        p = resp.json()
    except (ValueError, json.JSONDecodeError):
        return (resp.text or "").strip()[:300] or resp.reason or ""
    if not isinstance(p, dict):
        return str(p)[:300]
    parts = [str(p[k]) for k in ("errorCode", "title", "detail") if p.get(k)]
    errors = p.get("errors")
    if isinstance(errors, dict):
        parts += [f"{k}: {'; '.join(map(str, v if isinstance(v, list) else [v]))}" for k, v in errors.items()]
    return " - ".join(parts)[:1000]


def _parse_time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)
