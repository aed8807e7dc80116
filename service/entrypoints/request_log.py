"""One log line per HTTP request (WSGI middleware around the whole application).

The line carries method, path, the SOAP action (``SOAPAction`` header, or the ``action`` parameter
of a SOAP 1.2 content type), HTTP status, duration and response size, under the request's
correlation id (``X-Request-ID`` when the client sent one), which every other line logged while the
request runs (faults with their ``error_guid`` among them) carries too. Never the body.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from .. import logs

log = logging.getLogger("innbyggerpost.request")
_ACTION = re.compile(r'action="?([^";]+)"?')
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _action(environ: dict[str, Any]) -> str | None:
    action = environ.get("HTTP_SOAPACTION")
    if action:
        return action.strip('"')
    m = _ACTION.search(environ.get("CONTENT_TYPE", ""))
    return m.group(1) if m else None


class RequestLog:
    def __init__(self, app: WsgiApp, quiet_paths: tuple[str, ...] = ("/health", "/metrics")) -> None:
        self.app = app
        self.quiet_paths = quiet_paths  # probes: logged at DEBUG only

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[str] = []

        def _start(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(s)
            return start_response(s, headers, exc_info) if exc_info else start_response(s, headers)

        with logs.correlated(environ.get("HTTP_X_REQUEST_ID")) as cid:
            environ["innbyggerpost.correlation_id"] = cid
            body = b"".join(self.app(environ, _start))
            path = environ.get("PATH_INFO", "")
            level = logging.DEBUG if path in self.quiet_paths else logging.INFO
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "request",
                    extra={
                        "method": environ.get("REQUEST_METHOD"),
                        "path": path,
                        "soap_action": _action(environ),
                        "status": int(status[0].split(" ", 1)[0]) if status else None,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "bytes": len(body),
                        "client": environ.get("innbyggerpost.client") or environ.get("REMOTE_ADDR"),
                    },
                )
        return [body]
