"""End to end with INNBYGGERPOST_INBOX_BACKEND=altinn3: real SOAP inserts, the worker's inbox_copy
jobs publishing to the Altinn 3 simulator (which validates every request and answer against the
OpenAPI file and checks the Maskinporten token from the Maskinporten simulator), Altinn Events
pushed to our webhook, and Read / Confirmed back in GetCorrespondenceStatusDetailsBasicV3 and
GetCorrespondenceStatusHistoryBasic with Altinn's times."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import zeep.exceptions

from tests.support import altinn as a
from tests.support import inbox as ib
from tests.support.harness import REPO, Stack, wait_until

SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="module")
def alt(stack_with: Callable[..., Stack]) -> Stack:
    s = stack_with(
        INBOX_BACKEND="altinn3",
        ALTINN3_EVENTS_SECRET=SECRET,
        ALTINN3_POLL_SECONDS="600",  # the Read/Confirmed below come by the events, not by polling
        WEB_WORKERS="1",
    )
    s.ensure_worker()
    p = s._cli("altinn3", "subscribe", log="subscribe.log")
    assert p.wait(60) == 0, (s.workdir / "subscribe.log").read_text()
    assert "validated=True" in (s.workdir / "subscribe.log").read_text()
    return s


def _state(s: Stack) -> dict[str, Any]:
    with urllib.request.urlopen(f"{s.sim_url}/altinn3/_sim/state", timeout=5) as r:
        return json.loads(r.read())


def _copy(s: Stack, reference: str, timeout: float = 30) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((c for c in _state(s)["correspondences"] if c["sendersReference"] == reference), None)

    return wait_until(found, timeout, f"the Altinn 3 copy of {reference}")


def _status(s: Stack, reference: str, code: str | None = None) -> str:
    args = [sys.executable, "-m", "service.entrypoints.cli", "status", reference]
    return subprocess.run(args, cwd=REPO, env=s.env, capture_output=True, text=True, timeout=60).stdout


def _mark(s: Stack, correspondence_id: str, action: str) -> None:
    s.sim_post(f"/altinn3/_sim/correspondence/{correspondence_id}/{action}")


def test_the_three_modes_and_letters_without_sdp_options_land_in_altinn3(alt: Stack) -> None:
    cases = {
        a.ref("plain"): a.letter(a.DIGIPOST, None),  # no SdpOptions: the Altinn copy only
        a.ref("copy"): a.letter(a.EBOKS, a.sdp("CopyAltinn", backup=None)),  # forwarded and copied
        a.ref("nobox"): a.letter(a.NO_POSTBOX, a.sdp("ForwardOnly", backup=True)),  # BackupAltinn at insert
        a.ref("reject"): a.letter(
            a.REJECTS, a.sdp("ForwardOnly", backup=True)
        ),  # BackupAltinn after delivery
        a.ref("fwd"): a.letter(a.DIGIPOST, a.sdp("ForwardOnly", backup=False)),  # forwarded only: no copy
    }
    for reference, corr in cases.items():
        assert a.insert(alt.basic_url, reference, corr).ReceiptStatusCode == "OK"
    refs = list(cases)
    for reference in refs[:4]:
        c = _copy(alt, reference)
        assert c["resourceId"] == "innbyggerpost-demo-4503-1" and c["status"] == "Published"
        assert c["ignoreReservation"] is True
        assert c["content"]["messageBody"] == "Brødtekst"  # <p>Brødtekst</p> as Markdown
        assert [x["fileName"] for x in c["content"]["attachments"]] == ["brev.pdf", "vedlegg.txt"]
    recipients = {c["sendersReference"]: c["recipient"] for c in _state(alt)["correspondences"]}
    assert recipients[refs[0]] == f"urn:altinn:person:identifier-no:{a.DIGIPOST}"
    assert refs[4] not in recipients
    st = _state(alt)
    assert st["invalid_requests"] == [] and st["invalid_responses"] == []
    # the fallback copy's job is visible in status; exactly one correspondence per letter
    assert sum(1 for c in st["correspondences"] if c["sendersReference"] in refs) == 4
    out = _status(alt, refs[3])
    assert "inbox_copy: succeeded" in out and "Altinn 3 id" in out, out
    # one home: the copies are in Altinn 3, our own /inbox/ is not served with this backend
    assert urllib.request.urlopen(f"{alt.url}/health", timeout=5).status == 200
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{alt.url}/inbox/", timeout=5)
    assert info.value.code == 404


def test_read_and_confirmed_come_back_by_events_into_v3_and_history(alt: Stack) -> None:
    reference = a.ref("confirm")
    corr = a.letter(a.NO_POSTBOX, None)
    corr["ServiceEdition"] = "2"  # DEMO's 4503:2 asks for confirmation
    assert a.insert(alt.basic_url, reference, corr).ReceiptStatusCode == "OK"
    c = _copy(alt, reference)
    assert c["resourceId"] == "innbyggerpost-demo-4503-2" and c["isConfirmationNeeded"] is True
    _mark(alt, c["correspondenceId"], "read")

    def v3_types() -> list[str]:
        [status] = ib.statuses_v3(alt.basic_url, reference, edition=2)
        return ib.status_types(status)

    wait_until(lambda: v3_types() == ["Created", "Read"], 30, "Read in V3")
    _mark(alt, c["correspondenceId"], "confirm")
    wait_until(lambda: v3_types() == ["Created", "Read", "Confirmed"], 30, "Confirmed in V3")
    [status] = ib.statuses_v3(alt.basic_url, reference, edition=2)
    assert (
        alt.count(
            "SELECT count(*) FROM correspondences WHERE external_shipment_reference = :r AND altinn_status = 'Confirmed'",
            r=reference,
        )
        == 1
    )
    # the times are Altinn's (the simulator's history), not the time we learned of them
    sim_history = {h["status"]: h["statusChanged"] for h in _copy(alt, reference)["statusHistory"]}
    ours = {ch.StatusType: ch.StatusDate for ch in status.StatusChanges.StatusChangeV2}
    for name in ("Read", "Confirmed"):
        altinn_time = dt.datetime.fromisoformat(sim_history[name].replace("Z", "+00:00"))
        assert abs((ours[name].astimezone(dt.UTC) - altinn_time).total_seconds()) < 1.0
    assert ib.history_types(alt.basic_url, reference) == ["Created", "Read", "Confirmed"]
    # the events were what brought it (polling is set to 10 minutes)
    kinds = [e["type"] for e in _state(alt)["events_sent"] if e["ok"]]
    assert "no.altinn.correspondence.correspondencereceiverconfirmed" in kinds


def test_a_service_without_resource_is_refused_and_nothing_stored(alt: Stack) -> None:
    p = alt._cli(
        "owner", "add", "--code", "NORES", "--orgnr", "910646192", "--user", "10077",
        "--password", "nores-password", "--service", "4999:1", log="owner.log",
    )  # fmt: skip
    assert p.wait(60) == 0
    reference = a.ref("nores")
    owner = ("10077", "nores-password", "NORES", "4999")
    with pytest.raises(zeep.exceptions.Fault) as info:
        a.insert(alt.basic_url, reference, a.letter(a.DIGIPOST, None, service_code="4999"), owner=owner)
    assert "4999" in info.value.message and "--resource 4999:1=<resourceId>" in info.value.message
    assert alt.count("SELECT count(*) FROM receipts WHERE external_shipment_reference = :r", r=reference) == 0
    # a forward-only letter without BackupAltinn never has an Altinn copy: no resource needed
    fwd = a.letter(a.DIGIPOST, a.sdp("ForwardOnly", backup=False), service_code="4999")
    assert a.insert(alt.basic_url, a.ref("nores-fwd"), fwd, owner=owner).ReceiptStatusCode == "OK"


def test_a_refusal_by_altinn_fails_the_job_with_its_reason(alt: Stack) -> None:
    alt.sim_post(
        "/altinn3/_sim/fail", status=400, count=1,
        problem={"title": "Message body must be markdown", "errorCode": "CORR-1003"},
    )  # fmt: skip
    reference = a.ref("refused")
    assert a.insert(alt.basic_url, reference, a.letter(a.NO_POSTBOX, None)).ReceiptStatusCode == "OK"

    def failed() -> str | None:
        out = _status(alt, reference)
        return out if "inbox_copy: failed" in out else None

    out = wait_until(failed, 30, "the failed job")
    assert "CORR-1003" in out and "Message body must be markdown" in out, out
    assert _state(alt)["counters"]["injected_400"] == 1
    assert not any(c["sendersReference"] == reference for c in _state(alt)["correspondences"])
