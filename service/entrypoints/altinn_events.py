"""The Altinn Events webhook (``POST /altinn3/events?secret=<INNBYGGERPOST_ALTINN3_EVENTS_SECRET>``):
CloudEvents from Altinn 3 about our correspondences.

What it checks, and why that is enough: Altinn Events signs nothing, so the webhook (1) requires the
shared secret that only the subscription's ``endPoint`` carries (compared in constant time; missing
or wrong: 401), (2) accepts only a bounded JSON CloudEvent (``specversion`` 1.0, a ``type``; 64 KiB),
(3) answers Altinn's subscription handshake (``platform.events.validatesubscription``) with 200, and
(4) never takes an event's word for a status: a ``no.altinn.correspondence.*`` event only wakes the
``inbox_status`` job of the correspondence it names (``resourceinstance``, a UUID), which then reads
the status from Altinn itself with our own token. A forged event costs one status read; a lost one
is caught by the polling (``INNBYGGERPOST_ALTINN3_POLL_SECONDS``).
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from ..service_layer.altinn_copy import wake
from ..service_layer.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("innbyggerpost.altinn_events")
MAX_BYTES = 64 * 1024
VALIDATE = "platform.events.validatesubscription"
PREFIX = "no.altinn.correspondence."


def _answer(start_response: Callable[..., Any], status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def make_events_app(secret: str, uow_factory: UnitOfWorkFactory) -> Callable[..., Iterable[bytes]]:
    from urllib.parse import parse_qs

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"error": "POST a CloudEvent"})
        given = (parse_qs(environ.get("QUERY_STRING", "")).get("secret") or [""])[0]
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return _answer(start_response, "401 Unauthorized", {"error": "wrong or missing secret"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BYTES:
            return _answer(start_response, "413 Content Too Large", {"error": f"at most {MAX_BYTES} bytes"})
        try:
            event = json.loads(environ["wsgi.input"].read(length) or b"null")
        except ValueError:
            event = None
        if (
            not isinstance(event, dict)
            or event.get("specversion") != "1.0"
            or not isinstance(event.get("type"), str)
        ):
            return _answer(start_response, "400 Bad Request", {"error": "not a CloudEvent 1.0"})
        kind = event["type"]
        if kind == VALIDATE:
            return _answer(start_response, "200 OK", {"validated": True})
        if not kind.startswith(PREFIX):
            return _answer(start_response, "200 OK", {"ignored": kind})
        cid = str(event.get("resourceinstance") or "")
        try:
            cid = str(uuid.UUID(cid))
        except ValueError:
            return _answer(
                start_response, "400 Bad Request", {"error": "resourceinstance is not a correspondence id"}
            )
        woken = wake(uow_factory, [cid], datetime.now(UTC))
        log.info("Altinn event %s for %s: %d status job(s) woken", kind, cid, woken)
        return _answer(start_response, "200 OK", {"woken": woken})

    return app
