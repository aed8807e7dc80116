"""Inbox pieces without servers: the body sanitiser, ReplyOptions links, the security level, and the
Flask app in-process (Werkzeug's test client) on a migrated SQLite file: sessions, cookies, CSRF,
sign-out, sign-in mode binding, representation rights, the language switch and ``next=``."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from service.adapters.migrate import upgrade
from service.bootstrap import bootstrap
from service.config import Settings
from service.domain.security_level import SecurityLevel
from service.entrypoints.inbox import make_inbox_app
from service.entrypoints.inbox.identity import Reportee
from service.entrypoints.inbox.web import safe_next, sanitise_body
from service.service_layer import inbox as uc
from service.service_layer.inbox import reply_links

PID = "03038210008"  # seed.json: a demo person
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class _Built:
    settings: Settings
    uow_factory: Any


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Built]:
    tmp = tmp_path_factory.mktemp("inbox-units")
    url = f"sqlite:///{tmp}/inbox.db"
    upgrade(url)
    settings = replace(Settings(), database_url=url, secret_key_file=str(tmp / "secret.key"), demo_mode=True)
    yield _Built(settings, bootstrap(settings).uow_factory)


def _token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _sign_in(client: Any, pid: str = PID) -> None:
    token = _token(client.get("/inbox/login").text)
    r = client.post("/inbox/login", data={"csrf": token, "pid": pid})
    assert r.status_code == 303 and r.headers["Location"] == "/inbox/", r.text


def test_body_sanitiser_keeps_markup_drops_scripts() -> None:
    html = str(sanitise_body('<p onclick="x()">a <b>b</b></p><script>bad()</script><img src=x onerror=y()>'))
    assert "<b>b</b>" in html and "<script" not in html and "onclick" not in html and "onerror" not in html
    assert str(sanitise_body("a <unknown-tag>b</unknown-tag>")) == "a b"  # unknown tags dropped, text kept
    assert str(sanitise_body("plain & simple")) == '<div class="plain">plain &amp; simple</div>'


def test_body_sanitiser_drops_every_url_into_our_own_origin() -> None:
    """Issue 14: ``<img src="/inbox/letters/8">`` in a letter made the citizen's browser request
    another letter with her cookies. Images stay only as data: URLs, links only to other sites."""
    body = (
        '<p><img src="/inbox/letters/8"><img src="https://inbox.example/inbox/letters/9">'
        '<img src="//inbox.example/x"><img src="https://cdn.example/logo.png">'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo">'
        '<a href="/inbox/logout">a</a><a href="https://inbox.example/inbox/">b</a>'
        '<a href="https://etat.example/svar">c</a></p>'
    )
    html = str(sanitise_body(body, "inbox.example"))
    assert "/inbox/letters/8" not in html and "letters/9" not in html and "//inbox.example" not in html
    assert "cdn.example" not in html  # the CSP would block it anyway (img-src data:)
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in html
    assert "/inbox/logout" not in html and 'href="https://inbox.example' not in html
    assert 'href="https://etat.example/svar"' in html


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


def test_security_level_maps_to_idporten_acr() -> None:
    assert SecurityLevel(3).acr == "idporten-loa-substantial" and SecurityLevel(4).acr == "idporten-loa-high"
    assert SecurityLevel.from_acr("idporten-loa-high") is SecurityLevel.HIGH
    assert SecurityLevel.from_acr("Level4") is None and SecurityLevel.from_acr(None) is None
    assert SecurityLevel.HIGH.allows(SecurityLevel.SUBSTANTIAL)
    assert not SecurityLevel.SUBSTANTIAL.allows(SecurityLevel.HIGH)
    with pytest.raises(ValueError, match="3 or 4"):
        SecurityLevel.parse("2")


def test_next_is_kept_inside_the_inbox() -> None:
    assert safe_next("/inbox/letters/3?x=1") == "/inbox/letters/3?x=1"
    for bad in ("/inbox/\r\nSet-Cookie: x=1", "//evil.example/", "https://evil.example/", "/inbox//x", None):
        assert safe_next(bad) == "/inbox/", bad


def test_without_demo_mode_nobody_can_sign_in(db: _Built) -> None:
    app = make_inbox_app(replace(db.settings, demo_mode=False), db.uow_factory)
    client = app.test_client()
    r = client.get("/inbox/login")
    assert r.status_code == 503 and "signin-not-configured" in r.text and "demo-banner" not in r.text
    assert "signin-" + PID not in r.text
    r = client.post("/inbox/login", data={"csrf": _token(r.text), "pid": PID})
    assert r.status_code == 403
    r = client.get("/inbox/")
    assert r.status_code == 303 and r.headers["Location"] == "/inbox/login"


def test_demo_mode_lists_seed_persons_and_signs_in(db: _Built) -> None:
    client = make_inbox_app(db.settings, db.uow_factory).test_client()
    r = client.get("/inbox/login")
    assert r.status_code == 200 and "demo-banner" in r.text
    assert f'id="signin-{PID}"' in r.text and 'id="signin-org-910646192-02028110068"' in r.text
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/inbox" in cookie
    r = client.post("/inbox/login", data={"csrf": _token(r.text), "pid": "99999999999"})
    assert r.status_code == 403  # not a demo person
    _sign_in(client)
    assert client.get("/inbox/").status_code == 200


def _cookie_payload(set_cookie: str) -> dict[str, Any]:
    value = set_cookie.split(";")[0].split("=", 1)[1]
    payload = value.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def test_cookies_are_host_prefixed_over_https_and_never_carry_the_fodselsnummer(db: _Built) -> None:
    app = make_inbox_app(replace(db.settings, public_url="https://inbox.example"), db.uow_factory)
    client = app.test_client()
    r = client.get("/inbox/login", base_url="https://inbox.example")
    assert r.headers["Referrer-Policy"] == "same-origin"  # our forms send the Referer CSRFProtect wants
    token = _token(r.text)
    no_referer = client.post(
        "/inbox/login", data={"csrf": token, "pid": PID}, base_url="https://inbox.example"
    )
    assert no_referer.status_code == 403
    r = client.post(
        "/inbox/login",
        data={"csrf": token, "pid": PID},
        base_url="https://inbox.example",
        headers={"Referer": "https://inbox.example/inbox/login"},  # CSRFProtect's https check
    )
    assert r.status_code == 303, r.text
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-inbox_session=")
    assert "; Secure" in cookie and "; Path=/;" in cookie and "Domain" not in cookie
    data = _cookie_payload(cookie)
    assert PID not in json.dumps(data) and set(data) <= {"sid", "csrf_token", "_permanent"}, data
    assert client.get("/inbox/", base_url="https://inbox.example").status_code == 200
    r = client.post(
        "/inbox/lang",
        data={"csrf": _token(client.get("/inbox/", base_url="https://inbox.example").text), "to": "en"},
        base_url="https://inbox.example",
        headers={"Referer": "https://inbox.example/inbox/"},
    )
    lang = [c for c in r.headers.getlist("Set-Cookie") if "lang" in c]
    assert lang and lang[0].startswith("__Host-inbox_lang=en;") and "; Secure" in lang[0]


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(db: _Built) -> None:
    app = make_inbox_app(db.settings, db.uow_factory)
    client = app.test_client()
    _sign_in(client)
    copy = client.get_cookie("inbox_session", path="/inbox")
    assert copy is not None
    token = _token(client.get("/inbox/").text)
    assert client.post("/inbox/logout", data={"csrf": token}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("inbox_session", copy.value, path="/inbox")
    r = thief.get("/inbox/")
    assert r.status_code == 303 and r.headers["Location"] == "/inbox/login"


def test_a_session_is_bound_to_the_sign_in_mode(db: _Built) -> None:
    """A demo instance's cookie, same key file and database, is nothing to an ID-porten instance."""
    demo = make_inbox_app(db.settings, db.uow_factory)
    client = demo.test_client()
    _sign_in(client)
    value = client.get_cookie("inbox_session", path="/inbox").value  # type: ignore[union-attr]
    real_settings = replace(
        db.settings,
        demo_mode=False,
        idporten_url="http://127.0.0.1:9/idporten",
        idporten_client_id="inbox",
        idporten_client_secret="s",
    )
    real = make_inbox_app(real_settings, db.uow_factory).test_client()
    real.set_cookie("inbox_session", value, path="/inbox")
    r = real.get("/inbox/")
    assert r.status_code == 303 and r.headers["Location"] == "/inbox/login"
    # And by the stored session itself, whatever the cookie's signature: its mode is "demo".
    sid = _cookie_payload(f"x={value}")["sid"]
    assert uc.session(db.uow_factory, sid, "demo") is not None
    assert uc.session(db.uow_factory, sid, "idporten") is None


@dataclass
class _Directory:
    rights: dict[str, list[Reportee]] = field(default_factory=dict)

    def reportees(self, pid: str) -> list[Reportee]:
        return list(self.rights.get(pid, []))

    def person_name(self, pid: str) -> str:
        return pid


def test_representation_rights_are_asked_on_every_request_not_frozen_at_sign_in(db: _Built) -> None:
    directory = _Directory({PID: [Reportee("910646192", "Org")]})
    client = make_inbox_app(db.settings, db.uow_factory, directory=directory).test_client()
    _sign_in(client)
    assert client.get("/inbox/?for=910646192").status_code == 200
    directory.rights[PID] = []  # the role is withdrawn in the register
    assert client.get("/inbox/?for=910646192").status_code == 404


def test_language_switch_is_a_post_and_crlf_in_next_is_harmless(db: _Built) -> None:
    client = make_inbox_app(db.settings, db.uow_factory).test_client()
    r = client.get("/inbox/lang?to=en&next=/inbox/%0d%0aSet-Cookie:%20x=1")
    assert r.status_code == 405 and not [c for c in r.headers.getlist("Set-Cookie") if "lang" in c]
    token = _token(client.get("/inbox/login").text)
    r = client.post("/inbox/lang", data={"to": "en", "next": "/inbox/login"})
    assert r.status_code == 403  # no CSRF token
    r = client.post("/inbox/lang", data={"csrf": token, "to": "en", "next": "/inbox/\r\nSet-Cookie: x=1"})
    assert r.status_code == 303 and r.headers["Location"] == "/inbox/"
    assert "Sign in" in client.get("/inbox/login").text


def test_security_levels_registered_with_the_owners_services(db: _Built) -> None:
    """``innbyggerpost owner add ... --security-level 4503:2=4``: the level is stored with the
    service edition and read by ``uow.owners.security_level`` (the DPI sikkerhetsnivaa, too)."""
    from service.config import SettingsError
    from service.entrypoints.cli import _security_levels
    from service.service_layer.owners import add_owner

    levels = _security_levels(["4803:2=4", "4803:1=3"])
    assert levels == {("4803", 2): 4, ("4803", 1): 3}
    for bad in ("4803:2", "4803:2=5", "4803:2=high"):
        with pytest.raises(SettingsError, match="security-level"):
            _security_levels([bad])
    add_owner(
        db.uow_factory(),
        system_user_code="LEVELS",
        name="Levels",
        organisation_number="910646192",
        username="levels-user",
        password="pw",
        services=[("4803", 1)],
        security_levels=levels,
    )
    with db.uow_factory().for_reading() as uow:
        assert uow.owners.security_level("4803", 2) is SecurityLevel.HIGH
        assert uow.owners.security_level("4803", 1) is SecurityLevel.SUBSTANTIAL
        assert uow.owners.security_level("9999", 1) is SecurityLevel.SUBSTANTIAL  # not registered: 3
        assert int(uow.owners.security_level("4803", 2)) == 4


def test_idporten_not_answering_is_a_clear_503_not_a_traceback(db: _Built) -> None:
    settings = replace(
        db.settings,
        demo_mode=False,
        idporten_url="http://127.0.0.1:9/idporten",  # nothing listens on the discard port
        idporten_client_id="inbox",
        idporten_client_secret="s",
        connect_timeout=1.0,
        read_timeout=1.0,
    )
    client = make_inbox_app(settings, db.uow_factory).test_client()
    page = client.get("/inbox/login")
    assert page.status_code == 200 and 'id="signin-idporten"' in page.text
    r = client.post("/inbox/login", data={"csrf": _token(page.text), "level": "4"})
    assert r.status_code == 503 and 'id="signin-failed"' in r.text
