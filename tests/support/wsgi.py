"""A SOAP POST handed to a WSGI application in this process (no HTTP): the in-process tests and the
in-process bench tools build their requests here."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}


def exchange(
    app: Callable[..., Iterable[bytes]], path: str, body: bytes, content_type: str
) -> tuple[str, list[tuple[str, str]], bytes, dict[str, Any]]:
    """(status line, headers, answer body, the request's environ after the call) of ``body`` POSTed
    to ``path`` of ``app``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
    }
    got: list[tuple[str, list[tuple[str, str]]]] = []
    out = b"".join(app(environ, lambda s, h, e=None: got.append((s, h))))
    return got[0][0], got[0][1], out, environ


def post(
    app: Callable[..., Iterable[bytes]], path: str, body: bytes, soap_version: str = "1.1"
) -> tuple[str, bytes]:
    """(status line, answer body) of ``body`` POSTed to ``path`` of ``app``."""
    status, _headers, out, _environ = exchange(app, path, body, CONTENT_TYPES[soap_version])
    return status, out
