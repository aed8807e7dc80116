"""The Altinn 3 adapter (clients/altinn3.py) against the Altinn 3 simulator over real sockets: every
request and answer checked against the OpenAPI file by the simulator (openapi-core), a repeat answered
409 and resolved by look-up, 5xx retried, a 400 problem document a permanent refusal with its reason,
a token renewed on 401, the token's scopes checked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clients.altinn3 import Altinn3Inbox, idempotent_key
from service.domain.ports import AltinnLetter, AltinnNotice, Document, InboxRefused, InboxUnavailable
from simulators.pki import TestPki
from tests.support.altinn3 import RunningSim, SimTokens, running_altinn3

NO_SLEEP = {"sleep": lambda _s: None}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def sim(pki: TestPki) -> Iterator[RunningSim]:
    with running_altinn3(pki, reserved=["04048310058"]) as s:
        yield s


def _letter(reference: str, **kw: object) -> AltinnLetter:
    now = datetime.now(UTC)
    base: dict[str, object] = dict(
        owner_orgnr="910646192",
        system_user_code="DEMO",
        reference=reference,
        resource_id="innbyggerpost-4503-1",
        reportee="01018010018",
        title="Vedtak i saken din",
        summary="<p>Kort om <b>vedtaket</b></p>",
        body="<h1>Vedtak</h1><ul><li>én</li><li>to</li></ul><p><a href='https://nav.no/x'>les mer</a></p>",
        language_code="1044",
        visible_date_time=now - timedelta(minutes=1),
        due_date_time=now + timedelta(days=14),
        reply_options=(("https://svar.example.no/1", "Svar her"),),
        attachments=(Document("vedtak.pdf", "Vedtak", "application/pdf", b"%PDF-1.4 vedtak"),),
        notice=AltinnNotice(
            channel="EmailAndSms",
            email_subject="Nytt brev",
            email_body="Du har fått et brev.",
            sms_body="Du har fått et brev.",
            send_reminder=True,
        ),
        confirmation_needed=True,
    )
    base.update(kw)
    return AltinnLetter(**base)  # type: ignore[arg-type]


def _client(sim: RunningSim, tokens: SimTokens, **kw: object) -> Altinn3Inbox:
    opts: dict[str, object] = dict(
        connect_timeout=2, read_timeout=5, attempts=3, backoff=0.01, time_budget=20
    )
    opts.update(kw)
    return Altinn3Inbox(sim.url, tokens, **opts)  # type: ignore[arg-type]


def _assert_contract_clean(sim: RunningSim) -> None:
    st = sim.state.to_json()
    assert st["invalid_requests"] == [] and st["invalid_responses"] == []


def test_upload_with_attachment_notification_and_status(sim: RunningSim, pki: TestPki) -> None:
    tokens = SimTokens(pki)
    inbox = _client(sim, tokens)
    copy = inbox.publish(_letter("ref-upload"))
    assert copy.status == "Published" and not copy.looked_up
    [c] = sim.state.to_json()["correspondences"]
    assert c["correspondenceId"] == copy.correspondence_id
    assert c["recipient"] == "urn:altinn:person:identifier-no:01018010018"
    assert c["resourceId"] == "innbyggerpost-4503-1" and c["sendersReference"] == "ref-upload"
    assert c["idempotentKey"] == idempotent_key("DEMO", "ref-upload")
    assert c["content"]["language"] == "nb"
    assert c["content"]["messageBody"].startswith("# Vedtak")
    assert (
        "- én" in c["content"]["messageBody"] and "[les mer](https://nav.no/x)" in c["content"]["messageBody"]
    )
    assert c["content"]["messageSummary"] == "Kort om **vedtaket**"
    assert [a["fileName"] for a in c["content"]["attachments"]] == ["vedtak.pdf"]
    assert sim.state.correspondences[copy.correspondence_id].attachments[0].data == b"%PDF-1.4 vedtak"
    assert c["ignoreReservation"] is True and c["isConfirmationNeeded"] is True
    assert c["replyOptions"] == [{"linkURL": "https://svar.example.no/1", "linkText": "Svar her"}]
    n = c["notification"]
    assert n["notificationChannel"] == "EmailAndSms" and n["sendReminder"] is True
    assert n["emailSubject"] == "Nytt brev" and n["smsBody"] == "Du har fått et brev."
    # the status back, with its history
    sim.app.mark(copy.correspondence_id, "read")
    status = inbox.status(copy.correspondence_id)
    assert status.status == "Read"
    assert [s for s, _t in status.history] == ["Initialized", "Published", "Read"]
    _assert_contract_clean(sim)


def test_letter_without_attachments_goes_as_json(sim: RunningSim, pki: TestPki) -> None:
    inbox = _client(sim, SimTokens(pki))
    copy = inbox.publish(
        _letter("ref-json", attachments=(), notice=None, reportee="910646192", language_code="1033")
    )
    c = sim.state.correspondences[copy.correspondence_id]
    assert c.recipient == "urn:altinn:organization:identifier-no:910646192"
    assert c.content["language"] == "en" and "notification" not in c.fields
    _assert_contract_clean(sim)


def test_repeat_answered_409_and_resolved_by_look_up(sim: RunningSim, pki: TestPki) -> None:
    inbox = _client(sim, SimTokens(pki))
    first = inbox.publish(_letter("ref-repeat"))
    again = inbox.publish(_letter("ref-repeat"))
    assert again.looked_up and again.correspondence_id == first.correspondence_id
    counters = sim.state.to_json()["counters"]
    assert counters["conflicts"] == 1 and counters["created"] == 1  # the 409 happened; one letter
    assert len(sim.state.correspondences) == 1
    _assert_contract_clean(sim)


def test_5xx_retried_then_published(sim: RunningSim, pki: TestPki) -> None:
    sim.control("fail", status=503, count=2)
    copy = _client(sim, SimTokens(pki)).publish(_letter("ref-5xx"))
    counters = sim.state.to_json()["counters"]
    assert counters["injected_503"] == 2 and counters["created"] == 1
    assert copy.correspondence_id in sim.state.correspondences


def test_5xx_beyond_attempts_is_unavailable(sim: RunningSim, pki: TestPki) -> None:
    sim.control("fail", status=500, count=5)
    with pytest.raises(InboxUnavailable, match="after 3 attempts: HTTP 500"):
        _client(sim, SimTokens(pki)).publish(_letter("ref-down"))
    assert sim.state.to_json()["counters"]["injected_500"] == 3
    assert not sim.state.correspondences


def test_400_problem_is_a_refusal_with_its_reason(sim: RunningSim, pki: TestPki) -> None:
    sim.control(
        "fail", status=400, problem={"title": "Message body must be markdown", "errorCode": "CORR-1003"}
    )
    with pytest.raises(InboxRefused) as info:
        _client(sim, SimTokens(pki)).publish(_letter("ref-400"))
    assert "CORR-1003" in info.value.reason and "Message body must be markdown" in info.value.reason
    assert sim.state.to_json()["counters"]["injected_400"] == 1
    _assert_contract_clean(sim)


def test_simulator_refusal_of_a_bad_reply_url_reaches_the_reason(sim: RunningSim, pki: TestPki) -> None:
    # an http link is left out by the mapping; an over-long https one too: the letter still goes
    copy = _client(sim, SimTokens(pki)).publish(_letter("ref-links", reply_options=(("http://x.no", "x"),)))
    assert "replyOptions" not in sim.state.correspondences[copy.correspondence_id].fields


def test_token_renewed_on_401(sim: RunningSim, pki: TestPki) -> None:
    tokens = SimTokens(pki)
    sim.control("fail", status=401, count=1)
    copy = _client(sim, tokens).publish(_letter("ref-401"))
    assert len(tokens.invalidated) == 1 and len(tokens.issued) == 2
    assert tokens.invalidated[0] == tokens.issued[0]
    assert sim.state.to_json()["counters"]["injected_401"] == 1
    assert copy.correspondence_id in sim.state.correspondences
    _assert_contract_clean(sim)


def test_missing_scope_and_foreign_token_refused(sim: RunningSim, pki: TestPki, tmp_path: Path) -> None:
    class OneScope(SimTokens):
        def token(self, scopes, consumer_org=None):  # type: ignore[no-untyped-def]
            return super().token(["altinn:correspondence.write"], consumer_org)

    with pytest.raises(InboxRefused, match="HTTP 403"):
        _client(sim, OneScope(pki)).publish(_letter("ref-scope"))
    with pytest.raises(InboxRefused, match="HTTP 401"):  # signed by another key: refused twice, then given up
        _client(sim, SimTokens(TestPki(tmp_path))).publish(_letter("ref-foreign"))
    assert sim.state.to_json()["counters"]["refused_401"] == 2
    assert not sim.state.correspondences


def test_reserved_recipient_without_ignore_reservation_is_refused(sim: RunningSim, pki: TestPki) -> None:
    with pytest.raises(InboxRefused, match="CORR-1030"):
        _client(sim, SimTokens(pki)).publish(
            _letter("ref-res", reportee="04048310058", ignore_reservation=False)
        )
    copy = _client(sim, SimTokens(pki)).publish(_letter("ref-res2", reportee="04048310058"))
    assert copy.status == "Published"


def test_simulator_refuses_a_request_outside_the_contract(sim: RunningSim, pki: TestPki) -> None:
    import requests

    token = SimTokens(pki).token(["altinn:correspondence.write", "altinn:serviceowner"])
    r = requests.post(
        f"{sim.url}/correspondence/api/v1/correspondence",
        json={"correspondence": {"resourceId": "r"}, "recipients": ["x"], "bogus": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert r.status_code == 400
    assert "sendersReference" in r.json()["detail"] and "bogus" in r.json()["detail"]
    assert len(sim.state.to_json()["invalid_requests"]) == 1


def test_retries_stop_at_the_time_budget(sim: RunningSim, pki: TestPki) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    sim.control("fail", status=503, count=100)
    inbox = _client(
        sim, SimTokens(pki), attempts=100, backoff=1.0, time_budget=10.0, sleep=sleep, clock=lambda: now[0]
    )
    with pytest.raises(InboxUnavailable, match="HTTP 503"):
        inbox.publish(_letter("ref-budget"))
    assert sum(slept) <= 10.0 and 2 <= len(slept) < 10  # backoff 1, 2, 4, ... cut at the budget
    assert sim.state.to_json()["counters"]["injected_503"] == len(slept) + 1


def test_the_simulator_page_marks_a_copy_read_and_confirmed_in_a_browser(
    sim: RunningSim, pki: TestPki, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.browser import chromium

    copy = _client(sim, SimTokens(pki)).publish(_letter("ref-page"))
    with chromium(tmp_path) as driver:
        wait = WebDriverWait(driver, 30)  # type: ignore[arg-type]
        driver.get(f"{sim.url}/_sim/")  # type: ignore[attr-defined]
        assert "Vedtak i saken din" in driver.page_source  # type: ignore[attr-defined]
        state = sim.state.correspondences[copy.correspondence_id]
        for action, status in (("read", "Read"), ("confirm", "Confirmed")):
            button = f"//form[contains(@action, '{copy.correspondence_id}/{action}')]/button"
            wait.until(lambda d, b=button: d.find_element(By.XPATH, b)).click()
            # the form posts and the page comes back: wait for the simulator to have recorded it
            wait.until(lambda _d, st=status: state.history and state.history[-1][0] == st)
        wait.until(lambda d: ">Confirmed<" in d.page_source)
    c = sim.state.correspondences[copy.correspondence_id]
    assert [s for s, _t, _w in c.history] == ["Initialized", "Published", "Read", "Confirmed"]
