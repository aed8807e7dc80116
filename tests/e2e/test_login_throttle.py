"""Wrong passwords are throttled (issue 8): after the configured failures a system user is refused at
once, with the same fault as a wrong password, and other owners are not affected."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import zeep.exceptions
from zeep import Client
from zeep.transports import Transport

from tests.support import altinn as a
from tests.support.harness import Stack
from tests.support.reference import BASIC_WSDL, altinn_reference


@pytest.fixture(scope="module")
def throttled(stack_with: Any) -> Stack:
    return stack_with(WEB_WORKERS="1", LOGIN_FAILURES_MAX="3", LOGIN_LOCKOUT_SECONDS="120")


def _send(s: Stack, owner: tuple[str, str, str, str]) -> Any:
    return a.insert(
        s.basic_url, a.ref("login"), a.letter(a.ORGANISATION, None, service_code=owner[3]), owner=owner
    )


def _fault(s: Stack, owner: tuple[str, str, str, str]) -> tuple[int, str]:
    with pytest.raises(zeep.exceptions.Fault) as exc:
        _send(s, owner)
    return a.fault_error_id(exc.value), exc.value.message


def test_a_user_is_locked_after_wrong_passwords_and_others_are_not(throttled: Stack) -> None:
    s = throttled
    user, _, code, service = a.OTHER
    wrong = (user, "not-the-password", code, service)
    answers = [_fault(s, wrong) for _ in range(3)]
    assert all(err == 989 for err, _ in answers)
    assert s.metric("innbyggerpost_login_refused_total") == 0  # so far each one was checked
    locked = _fault(s, a.OTHER)  # the right password, but the user is locked
    assert locked == answers[0]  # the same fault as a wrong password: nothing leaks
    assert s.metric("innbyggerpost_login_refused_total") == 1  # refused without computing a hash
    assert _send(s, a.DEMO).ReceiptStatusCode == "OK"  # another owner from the same address


def test_wrong_password_digests_are_counted_and_lock_like_passwords(throttled: Stack) -> None:
    """80 wrong digests in 0.43 s were never counted (issue 14); now the third locks the pair, and the
    right digest is refused after it, without a hint that the user exists."""
    s = throttled
    refused = s.metric("innbyggerpost_login_refused_total")
    flt = {
        "ServiceCode": "4503",
        "ServiceEditionCode": 1,
        "SdpSearchOptions": {"IncludeCorrespondence": True},
    }
    for _ in range(3):
        with pytest.raises(zeep.exceptions.Fault) as exc:
            a.ws(s.ws_url, password="wrong-password", digest=True).GetCorrespondenceStatusDetailsV3(flt)
        assert a.fault_error_id(exc.value) == 989
    with pytest.raises(zeep.exceptions.Fault) as exc:
        a.ws(s.ws_url, digest=True).GetCorrespondenceStatusDetailsV3(flt)  # the right digest
    assert a.fault_error_id(exc.value) == 989
    assert s.metric("innbyggerpost_login_refused_total") == refused + 1
    with pytest.raises(zeep.exceptions.Fault) as unknown:
        a.ws(s.ws_url, user="no-such-user", digest=True).GetCorrespondenceStatusDetailsV3(flt)
    assert unknown.value.message == exc.value.message.replace("'10001'", "'no-such-user'")


def _basic_from(s: Stack, forwarded_for: str | None) -> Any:
    """A Basic client whose requests carry ``X-Forwarded-For`` (as a reverse proxy would add it)."""
    session = requests.Session()
    if forwarded_for:
        session.headers["X-Forwarded-For"] = forwarded_for
    client = Client(str(altinn_reference(BASIC_WSDL)), transport=Transport(session=session))
    return client.create_service(a.BASIC_BINDING, s.basic_url)


def _query(s: Stack, owner: tuple[str, str, str, str], forwarded_for: str | None) -> Any:
    user, password, _, service = owner
    flt = {
        "ServiceCode": service,
        "ServiceEditionCode": 1,
        "SdpSearchOptions": {"IncludeCorrespondence": True},
    }
    return _basic_from(s, forwarded_for).GetCorrespondenceStatusDetailsBasicV3(user, password, flt)


@pytest.fixture(scope="module")
def behind_proxy(stack_with: Any) -> Stack:
    # The test client is the "proxy" (127.0.0.1); the addresses in X-Forwarded-For are its clients.
    return stack_with(
        WEB_WORKERS="1", LOGIN_FAILURES_MAX="3", LOGIN_LOCKOUT_SECONDS="120", TRUSTED_PROXIES="127.0.0.1"
    )


def test_invented_user_names_behind_a_proxy_lock_out_no_owner(behind_proxy: Stack) -> None:
    """140 bad logins with invented names through the proxy locked out an owner that never failed
    (issue 14); invented names now lock out nobody but themselves."""
    s = behind_proxy
    for i in range(40):  # far beyond the address limit of 5 x 3
        with pytest.raises(zeep.exceptions.Fault):
            _query(s, (f"invented-{i}", "guess", "X", "4504"), None)
    assert _query(s, a.OTHER, None) is not None


def test_the_client_address_comes_from_the_trusted_proxy(behind_proxy: Stack) -> None:
    s = behind_proxy
    wrong = (a.DEMO[0], "not-the-password", a.DEMO[2], a.DEMO[3])
    assert _query(s, a.DEMO, "203.0.113.1") is not None  # logged in before: the success cache holds it
    for _ in range(3):
        with pytest.raises(zeep.exceptions.Fault):
            _query(s, wrong, "198.51.100.7")
    refused = s.metric("innbyggerpost_login_refused_total")
    with pytest.raises(zeep.exceptions.Fault) as exc:
        _query(s, a.DEMO, "198.51.100.7")  # the right password, from the guesser's address: refused
    assert a.fault_error_id(exc.value) == 989
    assert s.metric("innbyggerpost_login_refused_total") == refused + 1
    assert _query(s, a.DEMO, "203.0.113.1") is not None  # the owner's own address is not locked out
    assert _query(s, a.DEMO, "203.0.113.2") is not None


def test_forwarded_for_from_an_untrusted_peer_is_ignored(throttled: Stack) -> None:
    """Without TRUSTED_PROXIES a client cannot pick a fresh address per guess with X-Forwarded-For."""
    s = throttled
    for i in range(3):  # OTHER is locked already (the first test) from 127.0.0.1, whatever the header says
        with pytest.raises(zeep.exceptions.Fault):
            _query(s, a.OTHER, f"192.0.2.{i}")
