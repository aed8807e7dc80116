"""Inbox pieces without processes: the session codec, the body sanitiser, ReplyOptions links, and the
inbox with demo mode off (no sign-in at all), called as a WSGI app in-process."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from service.config import Settings
from service.entrypoints.inbox import make_inbox_app
from service.entrypoints.inbox.identity import Identity, Reportee
from service.entrypoints.inbox.session import Session, SessionCodec
from service.entrypoints.inbox.web import sanitise_body
from service.service_layer.inbox import reply_links


def _call(app: Any, method: str, path: str, body: bytes = b"", cookie: str = "") -> tuple[str, dict, bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, headers

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_COOKIE": cookie,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    out = b"".join(app(environ, start_response))
    return seen["status"], dict(seen["headers"]), out


def test_session_codec_round_trip_tamper_and_expiry() -> None:
    codec = SessionCodec(b"k" * 32, max_age=60)
    who = Identity("03038210008", "Demo", (Reportee("03038210008", "Demo"), Reportee("910646192", "Org")))
    value = codec.encode(Session(identity=who))
    back = codec.decode(value)
    assert back is not None and back.identity == who
    payload, sig = value.split(".")
    assert codec.decode(payload + "x." + sig) is None
    assert SessionCodec(b"other-key" * 4, 60).decode(value) is None
    old = codec.encode(Session(identity=who, issued=time.time() - 120))
    assert codec.decode(old) is None
    assert codec.decode("garbage") is None and codec.decode(None) is None


def test_csrf_check_is_exact() -> None:
    s = Session()
    assert s.check_csrf(s.csrf)
    assert not s.check_csrf(None) and not s.check_csrf("") and not s.check_csrf(s.csrf + "x")


def test_body_sanitiser_keeps_markup_drops_scripts() -> None:
    html = str(sanitise_body('<p onclick="x()">a <b>b</b></p><script>bad()</script><img src=x onerror=y()>'))
    assert "<b>b</b>" in html and "<script" not in html and "onclick" not in html and "onerror" not in html
    assert str(sanitise_body("a <unknown-tag>b</unknown-tag>")) == "a b"  # unknown tags dropped, text kept
    assert str(sanitise_body("plain & simple")) == '<div class="plain">plain &amp; simple</div>'


def test_reply_links_as_stored_only_http() -> None:
    stored = {
        "ReplyOptions": {
            "ReplyOption": [
                {"URL": {"LinkText": "Svar", "LinkURL": "https://etat.example/svar"}},
                {"URL": {"LinkURL": "http://etat.example/uten-tekst"}},
                {"URL": {"LinkText": "x", "LinkURL": "javascript:alert(1)"}},
                {"Service": {"ServiceCode": "4503", "ServiceEdition": "1"}},
            ]
        }
    }
    links = [(r.text, r.url) for r in reply_links(stored)]
    assert links == [("Svar", "https://etat.example/svar"), ("http://etat.example/uten-tekst",) * 2]
    assert reply_links({}) == ()


def test_without_demo_mode_nobody_can_sign_in(tmp_path: Path) -> None:
    settings = replace(Settings(), demo_mode=False, secret_key_file=str(tmp_path / "secret.key"))
    app = make_inbox_app(settings, uow_factory=lambda: None)  # type: ignore[arg-type,return-value]
    status, headers, body = _call(app, "GET", "/inbox/login")
    assert status.startswith("503") and b"signin-not-configured" in body and b"demo-banner" not in body
    cookie = headers["Set-Cookie"].split(";")[0]
    token = body.split(b'name="csrf" value="')[1].split(b'"')[0].decode() if b'name="csrf"' in body else ""
    assert token == ""  # no sign-in form at all
    status, _h, _b = _call(app, "POST", "/inbox/login", b"pid=03038210008&csrf=x", cookie)
    assert status.startswith("403")
    status, headers, _b = _call(app, "GET", "/inbox/", cookie=cookie)
    assert status.startswith("303") and headers["Location"] == "/inbox/login"


def test_demo_mode_lists_seed_persons_and_organisations(tmp_path: Path) -> None:
    settings = replace(Settings(), demo_mode=True, secret_key_file=str(tmp_path / "secret.key"))
    app = make_inbox_app(settings, uow_factory=lambda: None)  # type: ignore[arg-type,return-value]
    status, headers, body = _call(app, "GET", "/inbox/login")
    assert status.startswith("200") and b"demo-banner" in body
    assert b'id="signin-03038210008"' in body and b'id="signin-org-910646192-02028110068"' in body
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/inbox" in cookie
    token = body.split(b'name="csrf" value="')[1].split(b'"')[0].decode()
    session = cookie.split(";")[0]
    status, _h, _b = _call(app, "POST", "/inbox/login", b"pid=99999999999&csrf=" + token.encode(), session)
    assert status.startswith("403")  # not a demo person
    status, headers, _b = _call(
        app, "POST", "/inbox/login", b"pid=03038210008&csrf=" + token.encode(), session
    )
    assert status.startswith("303") and headers["Location"] == "/inbox/"
