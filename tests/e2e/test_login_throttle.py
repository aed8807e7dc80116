"""Wrong passwords are throttled (issue 8): after the configured failures a system user is refused at
once, with the same fault as a wrong password, and other owners are not affected."""

from __future__ import annotations

from typing import Any

import pytest
import zeep.exceptions

from tests.support import altinn as a
from tests.support.harness import Stack


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
