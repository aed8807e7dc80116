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
from collections.abc import Callable, Iterable, Iterator
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
            result = self.app(environ, _start)
            if environ.get(STREAMED):
                # A large download (the inbox's attachments): passed on piece by piece, never joined;
                # the line is logged when the body is done.
                return _Streamed(result, lambda size: self._log(environ, cid, status, started, size))
            body = b"".join(result)
            self._log(environ, cid, status, started, len(body))
        return [body]

    def _log(self, environ: dict[str, Any], cid: str, status: list[str], started: float, size: int) -> None:
        path = environ.get("PATH_INFO", "")
        level = logging.DEBUG if path in self.quiet_paths else logging.INFO
        if log.isEnabledFor(level):
            with logs.correlated(cid):
                log.log(
                    level,
                    "request",
                    extra={
                        "method": environ.get("REQUEST_METHOD"),
                        "path": path,
                        "soap_action": _action(environ),
                        "status": int(status[0].split(" ", 1)[0]) if status else None,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "bytes": size,
                        "client": environ.get("innbyggerpost.client") or environ.get("REMOTE_ADDR"),
                    },
                )


# Set in the WSGI environ by an application whose answer must be streamed, not joined.
STREAMED = "innbyggerpost.streamed_response"


class _Streamed:
    """The application's iterable passed through, its size counted; ``close`` logs the line."""

    def __init__(self, inner: Iterable[bytes], done: Callable[[int], None]) -> None:
        self.inner, self.done, self.size = inner, done, 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.inner:
            self.size += len(piece)
            yield piece

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.done(self.size)
