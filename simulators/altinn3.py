"""Altinn 3 Correspondence simulator (SPEC-transports §4), mounted at ``/altinn3`` by ``simulators/app.py``.

It speaks the published contract, ``altinn3/altinn-correspondence-v1.json`` (OpenAPI 3.1): every
request it receives and every answer it gives is validated against that file with openapi-core
(an invalid request is answered 400 with a problem document naming the violations; an answer of its
own that does not fit the contract is a bug and answered 500, so tests see it). It checks the bearer
token as Altinn does (a Maskinporten token signed by the simulated Maskinporten,
``simulators.bearer.verify_bearer``) with the scopes ``altinn:correspondence.write`` and
``altinn:serviceowner``, and keeps the correspondences in memory:

- ``POST /correspondence/api/v1/correspondence/upload`` (multipart, the letter and its files) and
  ``POST /correspondence/api/v1/correspondence`` (JSON, no files): a repeated ``idempotentKey``
  answers 409 (error 1034, no body: the contract declares none), a reserved recipient without
  ``ignoreReservation`` answers 422 (error 1030);
- ``GET /correspondence/api/v1/correspondence?resourceId=&sendersReference=`` (the sender's look-up)
  and ``GET /correspondence/api/v1/correspondence/{id}`` (overview with status) and ``.../details``
  (with the status history).

Altinn Events (not in the correspondence contract; the shape of Altinn's Events API, kept to what we
use): ``POST /events/api/v1/subscriptions`` ``{"endPoint", "resourceFilter", "typeFilter"?}`` answers
``201`` with the subscription (``id``, ``validated``); as Altinn Events does, it first sends the
endpoint a CloudEvent of type ``platform.events.validatesubscription`` and counts the subscription
validated when the endpoint answers 2xx. Events are CloudEvents 1.0 posted as
``application/cloudevents+json``: ``no.altinn.correspondence.correspondencepublished``,
``...correspondencereceiverread``, ``...correspondencereceiverconfirmed``,
``...correspondencepublishfailed``; ``resourceinstance`` is the correspondence id and ``source`` its
URL. Delivery is retried (5 tries, backoff) on a background thread.

Test and demo controls (``/altinn3/_sim/...``): ``GET /_sim/`` a small HTML page listing the
correspondences with Read / Confirm / Fail buttons; ``POST /_sim/correspondence/{id}/read|confirm|fail``;
``POST /_sim/fail`` ``{"status": 503|500|400|401, "count": n, "problem": {...}}`` answers the next
``n`` contract requests with that status (a 400 with the problem document given); ``GET
/_sim/state`` the correspondences and counters as JSON; ``POST /_sim/reset``.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request, Response

from .bearer import BearerError, verify_bearer

log = logging.getLogger("innbyggerpost.simulators.altinn3")

PREFIX = "/altinn3"
SERVER = "https://platform.tt02.altinn.no"  # the contract's server: requests are validated as sent there
SCOPES = ("altinn:correspondence.write", "altinn:serviceowner")
EVENTS_SCOPES = ("altinn:events.subscribe",)  # Altinn Events' scope for subscribing
CONTRACT_NAME = "altinn3/altinn-correspondence-v1.json"
EVENT_PREFIX = "no.altinn.correspondence."
VALIDATE_EVENT = "platform.events.validatesubscription"


def contract_path(reference_dir: str | os.PathLike[str] | None = None) -> Path:
    base = reference_dir or os.environ.get("INNBYGGERPOST_REFERENCE_DIR")
    root = Path(base) if base else Path(__file__).resolve().parents[1].parent / "shared" / "reference"
    return root / CONTRACT_NAME


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _form_loads(value: bytes, **parameters: str) -> Mapping[str, Any]:
    """multipart/form-data for the validator: text parts as ``str``, file parts as latin-1 ``str``
    (openapi-core's own loader hands bytes to the casters and the 3.1 schema validator, which then
    refuse ``"true"`` as a boolean and a file as a ``string``/``binary``)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": f'multipart/form-data; boundary="{parameters.get("boundary", "")}"',
        "CONTENT_LENGTH": str(len(value)),
        "wsgi.input": io.BytesIO(value),
    }
    _, form, files = parse_form_data(environ)
    items: list[tuple[str, Any]] = list(form.items(multi=True))
    items += [(k, f.read().decode("latin-1")) for k, f in files.items(multi=True)]
    return ImmutableMultiDict(items)


class Contract:
    """The OpenAPI file, loaded once; ``check_request`` / ``check_response`` return the violations."""

    def __init__(self, path: Path) -> None:
        from openapi_core import Config, OpenAPI

        self.path = path
        self.openapi = OpenAPI.from_file_path(
            str(path), config=Config(extra_media_type_deserializers={"multipart/form-data": _form_loads})
        )

    def check_request(self, req: Request, path: str) -> list[str]:
        result = self.openapi.unmarshal_request(_OpenApiRequest(req, path))
        return _messages(result.errors)

    def check_response(self, req: Request, path: str, resp: Response) -> list[str]:
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse

        result = self.openapi.unmarshal_response(_OpenApiRequest(req, path), WerkzeugOpenAPIResponse(resp))
        return _messages(result.errors)


def _messages(errors: Iterable[Exception]) -> list[str]:
    out = []
    for e in errors:
        cause = e.__cause__
        details = [str(getattr(x, "message", x)) for x in getattr(cause, "schema_errors", None) or ()]
        out.append(f"{type(e).__name__}: " + ("; ".join(details) if details else str(cause or e)))
    return out


class _OpenApiRequest:
    """openapi-core's request protocol for a request made to ``/altinn3/...``, seen at the contract's
    server."""

    def __init__(self, req: Request, path: str) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers

        self.req = req
        self.host_url = SERVER
        self.path = path
        self.method = req.method.lower()
        self.parameters = RequestParameters(
            path={}, query=req.args, header=Headers(req.headers), cookie=req.cookies
        )
        self.content_type = req.headers.get("Content-Type") or ""
        self.body = req.get_data(cache=True)


@dataclass
class Attachment:
    id: str
    file_name: str
    display_name: str
    senders_reference: str
    data: bytes


@dataclass
class Correspondence:
    id: str
    owner: str  # the sender's organisation (token consumer)
    resource_id: str
    senders_reference: str
    recipient: str
    content: dict[str, Any]
    fields: dict[str, Any]  # the rest of BaseCorrespondenceExt as given (camelCase)
    idempotent_key: str | None
    created: datetime
    attachments: list[Attachment] = field(default_factory=list)
    history: list[tuple[str, str, datetime]] = field(default_factory=list)  # (status, text, time)

    @property
    def status(self) -> str:
        return self.history[-1][0]

    def set_status(self, status: str, text: str = "") -> None:
        self.history.append((status, text or status, _now()))

    def first(self, status: str) -> datetime | None:
        return next((t for s, _x, t in self.history if s == status), None)

    def overview(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resourceId": self.resource_id,
            "sendersReference": self.senders_reference,
            "recipient": self.recipient,
            "correspondenceId": self.id,
            "created": _iso(self.created),
            "status": self.status,
            "statusText": self.history[-1][1],
            "statusChanged": _iso(self.history[-1][2]),
            "content": {
                **{k: v for k, v in self.content.items() if v is not None},
                "attachments": [
                    {
                        "id": a.id,
                        "fileName": a.file_name,
                        "displayName": a.display_name,
                        "sendersReference": a.senders_reference,
                        "dataLocationType": "AltinnCorrespondenceAttachment",
                        "status": "Published",
                        "statusChanged": _iso(self.created),
                        "created": _iso(self.created),
                    }
                    for a in self.attachments
                ],
            },
            **{k: v for k, v in self.fields.items() if v is not None},
        }
        published = self.first("Published")
        if published:
            out["published"] = _iso(published)
        read = self.first("Read")
        if read:
            out["read"] = _iso(read)
        return out

    def details(self) -> dict[str, Any]:
        out = self.overview()
        out.pop("read", None)
        out["statusHistory"] = [
            {"status": s, "statusText": x, "statusChanged": _iso(t)} for s, x, t in self.history
        ]
        return out


@dataclass
class Subscription:
    id: int
    end_point: str
    resource_filter: str | None
    type_filter: str | None
    owner: str
    created: datetime
    validated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endPoint": self.end_point,
            "resourceFilter": self.resource_filter,
            "typeFilter": self.type_filter,
            "consumer": f"/org/{self.owner}",
            "createdBy": f"/org/{self.owner}",
            "created": _iso(self.created),
            "validated": self.validated,
        }


class Altinn3State:
    """Everything the simulator keeps (one lock; the server is threaded)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.lock = threading.RLock()
        self.reserved = set(reserved)  # persons reserved in KRR (the seed)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.correspondences: dict[str, Correspondence] = {}
            self.by_key: dict[str, list[str]] = {}
            self.subscriptions: dict[int, Subscription] = {}
            self.faults: list[dict[str, Any]] = []
            self.counters: dict[str, int] = {}
            self.invalid_requests: list[str] = []
            self.invalid_responses: list[str] = []
            self.events_sent: list[dict[str, Any]] = []

    def count(self, name: str) -> None:
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "correspondences": [
                    c.details() | {"idempotentKey": c.idempotent_key} for c in self.correspondences.values()
                ],
                "subscriptions": [s.to_json() for s in self.subscriptions.values()],
                "counters": dict(self.counters),
                "invalid_requests": list(self.invalid_requests),
                "invalid_responses": list(self.invalid_responses),
                "events_sent": list(self.events_sent),
                "faults_pending": len(self.faults),
            }


def _problem(status: int, title: str, detail: str = "", code: str | None = None) -> Response:
    body: dict[str, Any] = {"type": "https://tools.ietf.org/html/rfc9110", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if code:
        body["errorCode"] = code
    return Response(
        json.dumps(body), status=status, content_type="application/json"
    )  # as the contract declares it


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


class EventPusher:
    """Posts CloudEvents to subscribers on one background thread, retrying with backoff."""

    def __init__(self, state: Altinn3State) -> None:
        self.state = state
        self._queue: list[tuple[str, dict[str, Any], int]] = []
        self._cond = threading.Condition()
        self._session = requests.Session()
        self._session.trust_env = False
        threading.Thread(target=self._run, name="altinn3-events", daemon=True).start()

    def push(self, end_point: str, event: dict[str, Any]) -> None:
        with self._cond:
            self._queue.append((end_point, event, 0))
            self._cond.notify()

    def post(self, end_point: str, event: dict[str, Any]) -> bool:
        try:
            r = self._session.post(
                end_point,
                data=json.dumps(event),
                headers={"Content-Type": "application/cloudevents+json"},
                timeout=(2, 5),
            )
            return 200 <= r.status_code < 300
        except requests.RequestException as exc:
            log.info("event to %s failed: %s", end_point, exc)
            return False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                end_point, event, tries = self._queue.pop(0)
            ok = self.post(end_point, event)
            with self.state.lock:
                self.state.events_sent.append(
                    {"endPoint": end_point, "type": event["type"], "ok": ok, "try": tries + 1}
                )
            if not ok and tries < 4:
                time.sleep(min(5.0, 0.2 * 2**tries))
                with self._cond:
                    self._queue.append((end_point, event, tries + 1))


class Altinn3App:
    """The WSGI application behind ``/altinn3``."""

    def __init__(
        self,
        public_key: Any,
        contract: Contract,
        state: Altinn3State | None = None,
        issuer: str | None = None,
    ) -> None:
        self.public_key = public_key
        self.contract = contract
        self.state = state or Altinn3State()
        self.issuer = issuer
        self.events = EventPusher(self.state)

    # -- WSGI ----------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        req = Request(environ)
        path = req.path[len(PREFIX) :] if req.path.startswith(PREFIX) else req.path
        try:
            if path.startswith("/_sim/"):
                resp = self._sim(req, path)
            elif path.startswith("/events/api/v1/subscriptions"):
                resp = self._subscriptions(req, path)
            elif path.startswith("/correspondence/api/v1/"):
                resp = self._contract(req, path)
            else:
                resp = _problem(404, f"nothing at {path}")
        except Exception as exc:  # a bug of the simulator: visible, never a hung test
            log.exception("altinn3 simulator failed")
            resp = _problem(500, "simulator error", str(exc))
        return resp(environ, start_response)

    # -- the contract --------------------------------------------------------------------------------
    def _contract(self, req: Request, path: str) -> Response:
        st = self.state
        st.count("requests")
        # every request is checked against the contract (and a violation recorded); as Altinn's
        # middleware, the caller is answered first (401/403), then the request (400)
        violations = self.contract.check_request(req, path)
        if violations:
            with st.lock:
                st.invalid_requests.append(f"{req.method} {path}: {'; '.join(violations)}")
        try:
            claims = verify_bearer(
                req.headers.get("Authorization"), self.public_key, SCOPES, issuer=self.issuer
            )
        except BearerError as exc:
            st.count(f"refused_{exc.status}")
            resp = _problem(401, exc.description) if exc.status == 401 else _problem(403, exc.description)
            resp.headers["WWW-Authenticate"] = exc.www_authenticate()
            if exc.status == 403:  # the contract's 403 exists on the sends only
                return resp
            return self._answer(req, path, resp)
        if violations:
            return self._answer(
                req, path, _problem(400, "One or more validation errors occurred.", "; ".join(violations))
            )
        fault = self._take_fault()
        if fault is not None:
            # a 5xx stands for a gateway or outage in front of Altinn, not an answer of the contract
            return fault if fault.status_code >= 500 else self._answer(req, path, fault)
        owner = str(claims.get("consumer", {}).get("ID", "")).removeprefix("0192:")
        if req.method == "POST" and path == "/correspondence/api/v1/correspondence/upload":
            resp = self._initialise(owner, req, multipart=True)
        elif req.method == "POST" and path == "/correspondence/api/v1/correspondence":
            resp = self._initialise(owner, req, multipart=False)
        elif req.method == "GET" and path == "/correspondence/api/v1/correspondence":
            resp = self._search(owner, req)
        elif req.method == "GET" and path.startswith("/correspondence/api/v1/correspondence/"):
            rest = path[len("/correspondence/api/v1/correspondence/") :]
            cid, _, sub = rest.partition("/")
            with st.lock:
                c = st.correspondences.get(cid)
            if c is None or c.owner != owner or sub not in ("", "details"):
                resp = _problem(404, "The requested correspondence was not found", code="CORR-1001")
            else:
                resp = _json(c.details() if sub == "details" else c.overview())
        else:
            resp = _problem(404, "operation not simulated")
        return self._answer(req, path, resp)

    def _answer(self, req: Request, path: str, resp: Response) -> Response:
        violations = self.contract.check_response(req, path, resp)
        if violations:
            with self.state.lock:
                self.state.invalid_responses.append(
                    f"{req.method} {path} {resp.status_code}: {'; '.join(violations)}"
                )
            log.error("altinn3 simulator answer outside the contract: %s", violations)
            return _problem(500, "simulator answer outside the contract", "; ".join(violations))
        return resp

    def _take_fault(self) -> Response | None:
        with self.state.lock:
            if not self.state.faults:
                return None
            fault = self.state.faults[0]
            fault["count"] -= 1
            if fault["count"] <= 0:
                self.state.faults.pop(0)
        self.state.count(f"injected_{fault['status']}")
        status = int(fault["status"])
        if status == 400:
            problem = {"type": "https://tools.ietf.org/html/rfc9110", "title": "Bad request", "status": 400}
            problem.update(fault.get("problem") or {})
            return Response(
                json.dumps(problem), status=400, content_type="application/json"
            )  # as the contract declares it
        if status == 401:
            return _problem(401, "injected: token refused")
        # 5xx: not in the contract's answers for most operations, sent as a gateway would (plain text)
        return Response("injected failure", status=status, content_type="text/plain")

    def _initialise(self, owner: str, req: Request, multipart: bool) -> Response:
        st = self.state
        if multipart:
            f = req.form
            content = {
                "language": f.get("Correspondence.Content.Language"),
                "messageTitle": f.get("Correspondence.Content.MessageTitle"),
                "messageSummary": f.get("Correspondence.Content.MessageSummary"),
                "messageBody": f.get("Correspondence.Content.MessageBody"),
            }
            base = _flat_to_fields(f)
            recipients = f.getlist("Recipients") or [
                v for k, v in sorted(f.items(multi=True)) if k.startswith("Recipients[")
            ]
            key = f.get("IdempotentKey")
            files = req.files.getlist("attachments")
            metas = _indexed(f, "Correspondence.Content.Attachments")
            if len(metas) != len(files):
                return _problem(
                    400, "Mismatch between uploaded files and attachment metadata", code="CORR-1005"
                )
            attachments = []
            for meta, upload in zip(metas, files, strict=True):
                data = upload.read()
                if not data:
                    return _problem(400, "File must have content", code="CORR-2004")
                attachments.append(
                    Attachment(
                        str(uuid.uuid4()),
                        meta.get("FileName") or upload.filename or "",
                        meta.get("DisplayName") or "",
                        meta.get("SendersReference") or "",
                        data,
                    )
                )
        else:
            body = req.get_json()
            corr = dict(body["correspondence"])
            content = dict(corr.pop("content", None) or {})
            content.pop("attachments", None)
            base = corr
            recipients = body["recipients"]
            key = body.get("idempotentKey")
            attachments = []
        resource_id = base.pop("resourceId")
        senders_reference = base.pop("sendersReference")
        base.pop("published", None)
        for name, code in (("messageTitle", "1020"), ("messageBody", "1021"), ("messageSummary", "1022")):
            if not (content.get(name) or "").strip():
                return _problem(400, f"Message {name[7:].lower()} cannot be empty", code=f"CORR-{code}")
        if content.get("language") not in ("nb", "nn", "en"):
            return _problem(
                400,
                "Invalid language chosen. Supported languages is Norsk bokmål (nb), Nynorsk (nn) and English (en)",
                code="CORR-1023",
            )
        for opt in base.get("replyOptions") or []:
            if not str(opt.get("linkURL", "")).startswith("https://") or len(opt["linkURL"]) > 255:
                return _problem(
                    400,
                    "Reply options must be well-formed URIs and HTTPS with a max length of 255 characters",
                    code="CORR-1035",
                )
        if len(set(recipients)) != len(recipients):
            return _problem(400, "Recipients must be unique", code="CORR-1006")
        if base.get("isConfirmationNeeded") and not base.get("dueDateTime"):
            return _problem(400, "DueDateTime is required when confirmation is needed", code="CORR-1016")
        with st.lock:
            if key and key in st.by_key:
                st.count("conflicts")
                return Response(status=409)
            if not base.get("ignoreReservation"):
                for r in recipients:
                    if r.rsplit(":", 1)[-1] in st.reserved:
                        return _problem(
                            422,
                            f"Recipient {r} has reserved themselves from public correspondences. Can be overridden using the 'IgnoreReservation' flag",
                            code="CORR-1030",
                        )
            now = _now()
            publish_at = base.get("requestedPublishTime")
            made = []
            for r in recipients:
                c = Correspondence(
                    id=str(uuid.uuid4()),
                    owner=owner,
                    resource_id=resource_id,
                    senders_reference=senders_reference,
                    recipient=r,
                    content=content,
                    fields=base,
                    idempotent_key=key,
                    created=now,
                    attachments=attachments,
                )
                c.set_status("Initialized")
                if publish_at and datetime.fromisoformat(publish_at.replace("Z", "+00:00")) > now:
                    c.set_status("ReadyForPublish")
                else:
                    c.set_status("Published")
                st.correspondences[c.id] = c
                made.append(c)
            if key:
                st.by_key[key] = [c.id for c in made]
            st.count("created")
        for c in made:
            if c.status == "Published":
                self.emit(c, "correspondencepublished")
        answer: dict[str, Any] = {
            "correspondences": [
                {"correspondenceId": c.id, "status": c.status, "recipient": c.recipient}
                | (
                    {
                        "notifications": [
                            {"orderId": str(uuid.uuid4()), "isReminder": False, "status": "Success"}
                        ]
                    }
                    if base.get("notification")
                    else {}
                )
                for c in made
            ],
            "attachmentIds": [a.id for a in attachments],
        }
        return _json(answer)

    def _search(self, owner: str, req: Request) -> Response:
        resource = req.args.get("resourceId")
        ref = req.args.get("sendersReference")
        with self.state.lock:
            ids = [
                c.id
                for c in self.state.correspondences.values()
                if c.owner == owner
                and (resource is None or c.resource_id == resource)
                and (ref is None or c.senders_reference == ref)
            ]
        self.state.count("searches")
        return _json({"ids": ids})

    # -- events --------------------------------------------------------------------------------------
    def emit(self, c: Correspondence, kind: str) -> None:
        event_type = EVENT_PREFIX + kind
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": event_type,
            "time": _iso(_now()),
            "source": f"{SERVER}/correspondence/api/v1/correspondence/{c.id}",
            "resource": f"urn:altinn:resource:{c.resource_id}",
            "resourceinstance": c.id,
            "subject": c.recipient,
            "alternativesubject": c.recipient,
        }
        with self.state.lock:
            subs = [
                s
                for s in self.state.subscriptions.values()
                if s.validated
                and s.owner == c.owner
                and (not s.resource_filter or s.resource_filter == event["resource"])
                and (not s.type_filter or s.type_filter == event_type)
            ]
        for s in subs:
            self.events.push(s.end_point, event)

    def _subscriptions(self, req: Request, path: str) -> Response:
        try:
            claims = verify_bearer(
                req.headers.get("Authorization"), self.public_key, EVENTS_SCOPES, issuer=self.issuer
            )
        except BearerError as exc:
            resp = _problem(exc.status, exc.description)
            resp.headers["WWW-Authenticate"] = exc.www_authenticate()
            return resp
        owner = str(claims.get("consumer", {}).get("ID", "")).removeprefix("0192:")
        st = self.state
        if req.method == "GET":
            with st.lock:
                subs = [s.to_json() for s in st.subscriptions.values() if s.owner == owner]
            return _json({"count": len(subs), "subscriptions": subs})
        if req.method == "DELETE":
            last = path.rstrip("/").rsplit("/", 1)[-1]
            with st.lock:
                found = st.subscriptions.pop(int(last), None) if last.isdigit() else None
            return Response(status=200 if found else 404)
        if req.method != "POST":
            return _problem(405, "method not allowed")
        body = req.get_json(silent=True) or {}
        end_point = body.get("endPoint")
        if not isinstance(end_point, str) or not end_point.startswith(("http://", "https://")):
            return _problem(400, "endPoint is required (an http(s) URL)")
        resource_filter = body.get("resourceFilter")
        if resource_filter is not None and not str(resource_filter).startswith("urn:altinn:resource:"):
            return _problem(400, "resourceFilter must be urn:altinn:resource:<resourceId>")
        with st.lock:
            new_id = max(st.subscriptions, default=0) + 1
            sub = Subscription(new_id, end_point, resource_filter, body.get("typeFilter"), owner, _now())
            st.subscriptions[new_id] = sub
        validation = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": VALIDATE_EVENT,
            "time": _iso(_now()),
            "source": f"{SERVER}/events/api/v1/subscriptions/{new_id}",
        }
        sub.validated = self.events.post(end_point, validation)
        return _json(sub.to_json(), 201)

    # -- test and demo controls ----------------------------------------------------------------------
    def mark(self, cid: str, action: str) -> Correspondence | None:
        status, kind = {
            "read": ("Read", "correspondencereceiverread"),
            "confirm": ("Confirmed", "correspondencereceiverconfirmed"),
            "fail": ("Failed", "correspondencepublishfailed"),
        }[action]
        with self.state.lock:
            c = self.state.correspondences.get(cid)
            if c is None:
                return None
            if action == "confirm" and c.first("Read") is None:
                c.set_status("Read")
                self.emit(c, "correspondencereceiverread")
            c.set_status(status)
        self.emit(c, kind)
        return c

    def _sim(self, req: Request, path: str) -> Response:
        st = self.state
        if path in ("/_sim/", "/_sim") and req.method == "GET":
            return Response(self._page(), content_type="text/html; charset=utf-8")
        if path == "/_sim/state":
            return _json(st.to_json())
        if path == "/_sim/reset" and req.method == "POST":
            st.reset()
            return _json({"reset": True})
        if path == "/_sim/fail" and req.method == "POST":
            body = req.get_json(silent=True) or {}
            status = int(body.get("status", 503))
            with st.lock:
                st.faults.append(
                    {"status": status, "count": int(body.get("count", 1)), "problem": body.get("problem")}
                )
            return _json({"faults_pending": len(st.faults)})
        parts = path.strip("/").split("/")  # _sim, correspondence, id, action
        if (
            len(parts) == 4
            and parts[1] == "correspondence"
            and parts[3] in ("read", "confirm", "fail")
            and req.method == "POST"
        ):
            c = self.mark(parts[2], parts[3])
            if c is None:
                return _problem(404, "no such correspondence")
            if req.mimetype == "application/x-www-form-urlencoded":  # the page's buttons
                return Response(status=303, headers={"Location": f"{PREFIX}/_sim/"})
            return _json(c.details())
        return _problem(404, f"nothing at {path}")

    def _page(self) -> str:
        with self.state.lock:
            rows = list(self.state.correspondences.values())
        lines = []
        for c in reversed(rows):
            buttons = "".join(
                f'<form method="post" action="{PREFIX}/_sim/correspondence/{c.id}/{a}" style="display:inline">'
                f'<button type="submit">{label}</button></form>'
                for a, label in (("read", "Read"), ("confirm", "Confirm"), ("fail", "Fail"))
            )
            lines.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(x))}</td>"
                    for x in (
                        c.created.strftime("%Y-%m-%d %H:%M:%S"),
                        c.recipient,
                        c.resource_id,
                        c.senders_reference,
                        c.content.get("messageTitle"),
                        c.status,
                    )
                )
                + f"<td>{buttons}</td></tr>"
            )
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Altinn 3 Correspondence simulator</title></head>"
            "<body><h1>Altinn 3 Correspondence simulator</h1>"
            "<table border=1 cellpadding=4><tr><th>created</th><th>recipient</th><th>resource</th>"
            "<th>sendersReference</th><th>title</th><th>status</th><th></th></tr>"
            + "".join(lines)
            + "</table></body></html>"
        )


def _indexed(form: Any, prefix: str) -> list[dict[str, str]]:
    """``Prefix[0].Name=value`` fields as a list of dicts, in index order."""
    found: dict[int, dict[str, str]] = {}
    for k, v in form.items(multi=True):
        if k.startswith(prefix + "["):
            idx, _, name = k[len(prefix) + 1 :].partition("].")
            if idx.isdigit() and name:
                found.setdefault(int(idx), {})[name] = v
    return [found[i] for i in sorted(found)]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _flat_to_fields(form: Any) -> dict[str, Any]:
    """The ``Correspondence.*`` fields (other than content) of a multipart form as BaseCorrespondenceExt."""
    out: dict[str, Any] = {}
    notification: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for k, v in form.items(multi=True):
        if not k.startswith("Correspondence.") or k.startswith("Correspondence.Content."):
            continue
        name = k[len("Correspondence.") :]
        if name.startswith("Notification.CustomRecipient."):
            value: Any = _bool(v) if name.endswith("IsReserved") else v
            custom[_camel(name.rsplit(".", 1)[-1])] = value
        elif name.startswith("Notification."):
            n = name[len("Notification.") :]
            notification[_camel(n)] = _bool(v) if n == "SendReminder" else v
        elif "[" not in name:
            out[_camel(name)] = (
                _bool(v) if name in ("IgnoreReservation", "IsConfirmationNeeded", "IsConfidential") else v
            )
    if custom:
        notification["customRecipient"] = custom
    if notification:
        out["notification"] = notification
    replies = _indexed(form, "Correspondence.ReplyOptions")
    if replies:
        out["replyOptions"] = [{_camel(k): v for k, v in r.items()} for r in replies]
    refs = _indexed(form, "Correspondence.ExternalReferences")
    if refs:
        out["externalReferences"] = [{_camel(k): v for k, v in r.items()} for r in refs]
    return out


def make_altinn3_app(
    pki_dir: str | os.PathLike[str], reserved: Iterable[str] = (), reference_dir: str | None = None
) -> Altinn3App:
    """The simulator, trusting the simulated Maskinporten's key from the test PKI in ``pki_dir``."""
    from .pki import TestPki

    public_key = TestPki(pki_dir).signing_key("maskinporten").public_key()
    return Altinn3App(public_key, Contract(contract_path(reference_dir)), Altinn3State(reserved))
