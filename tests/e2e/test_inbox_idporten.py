"""ID-porten sign-in for the inbox against a real OpenID provider (node's oidc-provider, started here;
tests/support/oidc.py): the code flow with PKCE in headless Chromium, security levels 3 and 4 (a
weaker sign-in sees a level-4 letter listed and is asked to sign in again), state and nonce checks,
sign-out revoking the session, and no fødselsnummer in any cookie of ours.

The stack runs with demo mode off; DEMO's service 4503:3 is registered at security level 4
(cli.DEMO_SECURITY_LEVELS), 4503:1 at the default 3.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support import altinn as a
from tests.support import inbox as ib
from tests.support.browser import chromium
from tests.support.harness import Stack, wait_until
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, Provider, require_provider, sign_in_at_provider

PID = a.NO_POSTBOX
JWT_CLIENT_ID = "innbyggerpost-inbox-private-key-jwt"
ORGNR = "910646192"
SUBSTANTIAL, HIGH = "idporten-loa-substantial", "idporten-loa-high"
IN_PROCESS_URL = "http://localhost"


@pytest.fixture(scope="module")
def idp(
    stack_with: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Provider]]:
    require_provider()
    provider = Provider()
    stack = stack_with(
        DEMO_MODE="0",
        IDPORTEN_URL=provider.issuer,
        IDPORTEN_CLIENT_ID=CLIENT_ID,
        IDPORTEN_CLIENT_SECRET=CLIENT_SECRET,
    )
    redirect_uris = [stack.url + "/inbox/login/callback", IN_PROCESS_URL + "/inbox/login/callback"]
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris}
    # A second client that authenticates with private_key_jwt: the enterprise certificate's public key.
    from joserfc.jwk import RSAKey

    from simulators.pki import TestPki

    public = RSAKey.import_key(TestPki(stack.workdir / "pki").enterprise(ORGNR).private_key.public_key())
    jwt_client = {
        "client_id": JWT_CLIENT_ID,
        "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "RS256",
        "jwks": {"keys": [public.as_dict(private=False)]},
    }
    provider.start([client, jwt_client], stack.workdir / "oidc-provider.log")
    try:
        yield stack, provider
    finally:
        provider.stop()


def _start(s: requests.Session, url: str, level: str = "3", next_url: str = "") -> str:
    """Our sign-in page's button: the POST that redirects to the provider; returns that URL."""
    page = s.get(url + "/inbox/login", timeout=10)
    assert page.status_code == 200 and 'id="signin-idporten"' in page.text and "demo-banner" not in page.text
    data = {"csrf": ib.csrf_of(page.text), "level": level}
    if next_url:
        data["next"] = next_url
    r = s.post(url + "/inbox/login", data=data, timeout=10, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    return str(r.headers["Location"])


def _our_cookies(s: requests.Session) -> list[str]:
    return [c.value for c in s.cookies if c.name.startswith("inbox_")]


def _decoded(value: str) -> str:
    payload = value.split(".")[0]
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8", "replace")
    except ValueError:
        return value


def test_sign_in_through_idporten_in_the_browser_with_levels_3_and_4(
    idp: tuple[Stack, Provider], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    stack, provider = idp
    ref3, id3 = ib.send(stack.basic_url, PID, edition=1)
    ref4, id4 = ib.send(stack.basic_url, PID, edition=3)  # 4503:3 is level 4

    def at_provider(acr_button: str, wanted: str) -> None:
        wait_until(lambda: driver.current_url.startswith(provider.issuer + "/interaction/"), 15, "ID-porten")
        assert driver.find_element(By.ID, "requested-acr").text == wanted
        driver.find_element(By.ID, "pid").send_keys(PID)
        driver.find_element(By.ID, acr_button).click()

    with chromium(tmp_path) as driver:
        driver.get(stack.url + "/inbox/")
        assert driver.current_url.endswith("/inbox/login") and not driver.find_elements(By.ID, "demo-banner")
        driver.find_element(By.ID, "signin-idporten").click()
        at_provider("minid", SUBSTANTIAL)
        wait_until(lambda: driver.current_url == stack.url + "/inbox/", 15, "the inbox after sign-in")
        assert PID in driver.find_element(By.ID, "signed-in").text
        cookies = {c["name"]: c["value"] for c in driver.get_cookies() if c["name"].startswith("inbox_")}
        assert cookies and all(PID not in v and PID not in _decoded(v) for v in cookies.values())

        # Level 3: both letters listed, the level-4 one marked; the level-3 one opens.
        rows = {
            int(r.get_attribute("data-letter-id")): r
            for r in driver.find_elements(By.CSS_SELECTOR, "tr.letter")
        }
        assert {id3, id4} <= set(rows)
        assert rows[id4].find_elements(By.CSS_SELECTOR, ".badge.level")
        assert not rows[id3].find_elements(By.CSS_SELECTOR, ".badge.level")
        rows[id3].find_element(By.CSS_SELECTOR, ".title .open").click()
        wait_until(lambda: driver.find_elements(By.ID, "letter-body"), 10, "the level-3 letter")

        # The level-4 letter: listed, titled, but opening it asks for a new sign-in at level 4.
        driver.get(stack.url + "/inbox/")
        driver.find_element(By.CSS_SELECTOR, f'tr[data-letter-id="{id4}"] .title .open').click()
        wait_until(lambda: driver.find_elements(By.ID, "needs-level"), 10, "the step-up page")
        assert not driver.find_elements(By.ID, "letter-body") and not driver.find_elements(
            By.ID, "attachments"
        )
        assert ib.status_types(ib.statuses_v3(stack.basic_url, ref4, 3)[0]) == ["Created"]
        with stack.engine.connect() as c:
            att = c.exec_driver_sql(f"SELECT min(id) FROM attachments WHERE correspondence_id={id4}").scalar()
        jar = requests.Session()
        for c in driver.get_cookies():
            jar.cookies.set(c["name"], c["value"], path=c.get("path", "/"))
        assert jar.get(f"{stack.url}/inbox/letters/{id4}/attachments/{att}", timeout=10).status_code == 404

        # Signing in again at level 3 (MinID) does not help; at level 4 (BankID) it opens.
        driver.find_element(By.ID, "sign-in-again").click()
        at_provider("minid", HIGH)
        wait_until(lambda: driver.find_elements(By.ID, "needs-level"), 15, "the step-up page again")
        driver.find_element(By.ID, "sign-in-again").click()
        at_provider("bankid", HIGH)
        wait_until(lambda: driver.current_url == f"{stack.url}/inbox/letters/{id4}", 15, "back at the letter")
        driver.find_element(By.ID, "open-letter").click()
        wait_until(lambda: driver.find_elements(By.ID, "letter-body"), 10, "the level-4 letter")
        assert driver.find_elements(By.CSS_SELECTOR, "#attachments a")

        # Sign-out: the inbox is gone, also for a copy of the cookie taken before.
        driver.find_element(By.ID, "sign-out").click()
        wait_until(lambda: driver.current_url.endswith("/inbox/login"), 10, "the sign-in page after sign-out")
        r = jar.get(f"{stack.url}/inbox/", timeout=10, allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"].endswith("/inbox/login")
    assert ib.status_types(ib.statuses_v3(stack.basic_url, ref3)[0]) == ["Created", "Read"]
    assert ib.status_types(ib.statuses_v3(stack.basic_url, ref4, 3)[0]) == ["Created", "Read"]


def test_the_authorization_request_uses_pkce_s256_and_a_fresh_state_and_nonce(
    idp: tuple[Stack, Provider],
) -> None:
    stack, provider = idp
    first = parse_qs(urlsplit(_start(requests.Session(), stack.url)).query)
    second = parse_qs(urlsplit(_start(requests.Session(), stack.url, level="4")).query)
    assert first["code_challenge_method"] == ["S256"] and len(first["code_challenge"][0]) >= 43
    assert first["response_type"] == ["code"] and first["client_id"] == [CLIENT_ID]
    assert first["acr_values"] == [SUBSTANTIAL] and second["acr_values"] == [HIGH]
    for key in ("state", "nonce", "code_challenge"):
        assert first[key] != second[key], key
    assert first["redirect_uri"] == [stack.url + "/inbox/login/callback"]


def test_a_callback_is_accepted_once_and_only_in_the_session_that_started_it(
    idp: tuple[Stack, Provider],
) -> None:
    stack, _provider = idp
    citizen = requests.Session()
    callback = sign_in_at_provider(citizen, _start(citizen, stack.url), PID, SUBSTANTIAL)
    # Delivered to another browser (login CSRF: an attacker's code and state pushed to a victim).
    victim = requests.Session()
    _start(victim, stack.url)  # the victim has a flow of her own under way
    r = victim.get(callback, timeout=10, allow_redirects=False)
    assert r.status_code == 403 and 'id="signin-failed"' in r.text
    assert victim.get(stack.url + "/inbox/", timeout=10, allow_redirects=False).status_code == 303
    # A forged state in the citizen's own session.
    forged = callback.replace("state=", "state=x")
    assert citizen.get(forged, timeout=10, allow_redirects=False).status_code == 403
    # The genuine callback, once.
    r = citizen.get(callback, timeout=10, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/inbox/")
    assert citizen.get(stack.url + "/inbox/", timeout=10).status_code == 200
    replay = requests.Session()
    replay.cookies.update(citizen.cookies)
    token = ib.csrf_of(citizen.get(stack.url + "/inbox/", timeout=10).text)
    citizen.post(stack.url + "/inbox/logout", data={"csrf": token}, timeout=10)
    r = replay.get(callback, timeout=10, allow_redirects=False)  # the state was used up
    assert r.status_code == 403
    assert replay.get(stack.url + "/inbox/", timeout=10, allow_redirects=False).status_code == 303
    assert all(PID not in _decoded(v) for v in _our_cookies(citizen) + _our_cookies(replay))


def _in_process_app(tmp_path: Path, provider: Provider, **settings: Any) -> Any:
    from service.adapters.migrate import upgrade
    from service.bootstrap import bootstrap
    from service.config import Settings
    from service.entrypoints.inbox import make_inbox_app

    url = f"sqlite:///{tmp_path}/inbox.db"
    upgrade(url)
    values = {
        "database_url": url,
        "secret_key_file": str(tmp_path / "secret.key"),
        "public_url": IN_PROCESS_URL,
        "demo_mode": False,
        "idporten_url": provider.issuer,
        "idporten_client_id": CLIENT_ID,
        "idporten_client_secret": CLIENT_SECRET,
        **settings,
    }
    configured = replace(Settings(), **values)
    return make_inbox_app(configured, bootstrap(configured).uow_factory)


def _in_process_sign_in(app: Any, acr: str = SUBSTANTIAL) -> Any:
    client = app.test_client()
    page = client.get("/inbox/login")
    r = client.post("/inbox/login", data={"csrf": ib.csrf_of(page.text), "level": "3"})
    assert r.status_code == 302
    callback = urlsplit(sign_in_at_provider(requests.Session(), r.headers["Location"], PID, acr))
    return client.get(f"{callback.path}?{callback.query}")


def test_private_key_jwt_with_the_enterprise_certificate_when_no_secret_is_set(
    idp: tuple[Stack, Provider], tmp_path: Path
) -> None:
    from simulators.pki import TEST_P12_PASSWORD, TestPki

    stack, provider = idp
    p12 = TestPki(stack.workdir / "pki").p12_path(ORGNR)
    app = _in_process_app(
        tmp_path,
        provider,
        idporten_client_id=JWT_CLIENT_ID,
        idporten_client_secret="",
        certificate_file=str(p12),
        certificate_password=TEST_P12_PASSWORD,
    )
    r = _in_process_sign_in(app, HIGH)
    assert r.status_code == 303 and r.headers["Location"] == "/inbox/"
    # The same client with a key the provider does not know is refused at the token endpoint.
    other = TestPki(tmp_path / "other-pki")
    other.enterprise(ORGNR)
    (tmp_path / "stranger").mkdir()
    stranger = _in_process_app(
        tmp_path / "stranger",
        provider,
        idporten_client_id=JWT_CLIENT_ID,
        idporten_client_secret="",
        certificate_file=str(other.p12_path(ORGNR)),
        certificate_password=TEST_P12_PASSWORD,
    )
    assert _in_process_sign_in(stranger).status_code == 403


def test_an_id_token_with_another_nonce_is_refused(
    idp: tuple[Stack, Provider], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The inbox in-process (Werkzeug's test client) against the real provider: the nonce this
    session expects is changed after the authorization request, so the provider's genuine,
    correctly signed ID token carries a nonce the session did not send. Authlib refuses it; the
    untouched flow right after is accepted (the refusal is the nonce, not the set-up)."""
    _stack, provider = idp
    app = _in_process_app(tmp_path, provider)

    def flow(tamper: bool) -> Any:
        client = app.test_client()
        page = client.get("/inbox/login")
        r = client.post("/inbox/login", data={"csrf": ib.csrf_of(page.text), "level": "3"})
        assert r.status_code == 302
        authorize = r.headers["Location"]
        if tamper:
            with client.session_transaction("/inbox/") as sess:
                key = next(k for k in sess if k.startswith("_state_idporten_"))
                state = json.loads(json.dumps(sess[key]))
                assert state["data"]["nonce"] == parse_qs(urlsplit(authorize).query)["nonce"][0]
                state["data"]["nonce"] = "not-the-nonce-that-was-sent"
                sess[key] = state
        callback = urlsplit(sign_in_at_provider(requests.Session(), authorize, PID, SUBSTANTIAL))
        return client.get(f"{callback.path}?{callback.query}")

    with caplog.at_level("WARNING", logger="service.entrypoints.inbox.web"):
        refused = flow(tamper=True)
    assert refused.status_code == 403 and 'id="signin-failed"' in refused.text
    assert "nonce" in caplog.text.lower(), caplog.text
    accepted = flow(tamper=False)
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/inbox/"
