"""Just enough WSGI request/response handling for the inbox (no web framework needed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

MAX_FORM_BYTES = 64 * 1024


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "") or "/"
        self.query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        self.cookies: dict[str, str] = {}
        raw = environ.get("HTTP_COOKIE", "")
        if raw:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(raw)
            except Exception:  # noqa: BLE001 - a malformed cookie header is as good as none
                jar = SimpleCookie()
            self.cookies = {k: m.value for k, m in jar.items()}
        self._form: dict[str, str] | None = None

    @property
    def form(self) -> dict[str, str]:
        """The url-encoded POST body (bounded)."""
        if self._form is None:
            self._form = {}
            if self.method == "POST":
                try:
                    length = int(self.environ.get("CONTENT_LENGTH") or "0")
                except ValueError as exc:
                    raise BadRequest("bad Content-Length") from exc
                if length > MAX_FORM_BYTES:
                    raise BadRequest("form too large")
                body = self.environ["wsgi.input"].read(length) if length > 0 else b""
                ctype = self.environ.get("CONTENT_TYPE", "")
                if body and not ctype.startswith("application/x-www-form-urlencoded"):
                    raise BadRequest("form expected")
                parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                self._form = {k: v[0] for k, v in parsed.items()}
        return self._form

    @property
    def secure(self) -> bool:
        return self.environ.get("wsgi.url_scheme") == "https"


@dataclass
class Response:
    body: bytes = b""
    status: str = "200 OK"
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def set_cookie(
        self, name: str, value: str, *, path: str, max_age: int | None, secure: bool, http_only: bool = True
    ) -> None:
        parts = [f"{name}={value}", f"Path={path}", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if http_only:
            parts.append("HttpOnly")
        if secure:
            parts.append("Secure")
        self.headers.append(("Set-Cookie", "; ".join(parts)))

    def __call__(self, start_response: Any) -> Iterable[bytes]:
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        start_response(self.status, headers + self.headers)
        return [self.body]


def redirect(location: str) -> Response:
    return Response(b"", "303 See Other", "text/plain; charset=utf-8", [("Location", location)])
