"""KRR behind the gateway, through the real stack (docs/specification.md §2.4, issue 7 and 8):
concurrent look-ups share one HentPersoner call and each letter keeps its own outcome; a slow KRR
faults only the letters that need it, within the time budget; the circuit opens and recovers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import zeep.exceptions

from tests.support import altinn as a
from tests.support.harness import Stack, wait_until


def _extended(fault: zeep.exceptions.Fault) -> str:
    found = fault.detail.find(f"{a.FAULT_NS}AltinnFault/{a.FAULT_NS}AltinnExtendedErrorMessage")
    return found.text or "" if found is not None else ""


def _insert(stack: Stack, reference: str, reportee: str, sdp: dict[str, Any] | None, **extra: Any) -> Any:
    return a.insert(stack.basic_url, reference, a.letter(reportee, sdp, **extra))


@pytest.fixture(scope="module")
def one_slot(stack_with: Any) -> Stack:
    """One web process, one KRR call at a time, a generous budget: what queues behind a held call
    is decided by the test, not by timing."""
    return stack_with(WEB_WORKERS="1", KRR_MAX_CONCURRENT_CALLS="1", KRR_TIME_BUDGET_SECONDS="30")


def test_concurrent_lookups_share_one_call_and_each_letter_keeps_its_outcome(one_slot: Stack) -> None:
    s = one_slot
    s.krr_control(reset=True, mode="hold", slow_seconds=60)
    try:
        with ThreadPoolExecutor(4) as pool:
            blocker = pool.submit(_insert, s, a.ref("block"), a.EBOKS, a.sdp())
            wait_until(lambda: s.sim_stats()["krr"]["calls"] == 1, 20, "the first look-up held at KRR")
            refs = {who: a.ref(who) for who in ("digipost", "nopostbox", "reserved")}
            letters = [
                pool.submit(_insert, s, refs["digipost"], a.DIGIPOST, a.sdp()),
                pool.submit(_insert, s, refs["nopostbox"], a.NO_POSTBOX, a.sdp(backup=True)),
                pool.submit(_insert, s, refs["reserved"], a.RESERVED, a.sdp(backup=False)),
            ]
            wait_until(lambda: s.metric("innbyggerpost_krr_waiting") == 3, 20, "three look-ups queued")
            s.krr_control(mode="normal")
            digipost, nopostbox, reserved = (f.result(30) for f in letters)
            assert blocker.result(30).ReceiptStatusCode == "OK"
    finally:
        s.krr_control(mode="normal")
    krr = s.sim_stats()["krr"]
    assert krr["batch_sizes"] == [1, 3], krr  # four letters, two KRR calls
    assert (
        digipost.ReceiptStatusCode == "OK"
        and "Digipost" in digipost.SubReceipts.ReceiptExternal[0].ReceiptText
    )
    assert nopostbox.ReceiptStatusCode == "OK"
    assert "no digital postbox" in nopostbox.SubReceipts.ReceiptExternal[0].ReceiptText
    assert reserved.ReceiptStatusCode == "Rejected"
    assert "the user has opted out from receiving any correspondences" in reserved.ReceiptText
    for r in refs.values():
        assert s.stored_for(r)["receipts"] == 1


def test_a_failed_krr_call_faults_exactly_its_letters_and_stores_nothing(one_slot: Stack) -> None:
    s = one_slot
    s.krr_control(reset=True, mode="hold", slow_seconds=60)
    try:
        with ThreadPoolExecutor(4) as pool:
            first_ref = a.ref("ok")
            first = pool.submit(_insert, s, first_ref, a.DIGIPOST, a.sdp())
            wait_until(lambda: s.sim_stats()["krr"]["calls"] == 1, 20, "the first look-up held at KRR")
            doomed = {a.ref("doomed"): a.DIGIPOST, a.ref("doomed"): a.EBOKS}
            failing = [pool.submit(_insert, s, r, who, a.sdp()) for r, who in doomed.items()]
            wait_until(lambda: s.metric("innbyggerpost_krr_waiting") == 2, 20, "two look-ups queued")
            # The held call is answered, then KRR faults the next call (the one carrying both).
            s.krr_control(mode="fault")
            assert first.result(30).ReceiptStatusCode == "OK"
            for f in failing:
                with pytest.raises(zeep.exceptions.Fault, match="KRR"):
                    f.result(30)
    finally:
        s.krr_control(mode="normal")
    first_call, *faulted = s.sim_stats()["krr"]["batch_sizes"]
    assert (
        first_call == 1 and faulted and set(faulted) == {2}
    )  # the faulted call (and its retries) carried both
    assert s.stored_for(first_ref)["receipts"] == 1
    for r in doomed:
        assert s.stored_for(r) == {"receipts": 0, "correspondences": 0, "forwardings": 0}


@pytest.fixture(scope="module")
def tight_budget(stack_with: Any) -> Stack:
    return stack_with(  # one web process: its circuit is the one /health reports
        WEB_WORKERS="1",
        KRR_TIME_BUDGET_SECONDS="1.5",
        KRR_BREAKER_FAILURES="2",
        KRR_BREAKER_COOLDOWN_SECONDS="2",
        READ_TIMEOUT="1",
    )


def test_slow_krr_faults_within_the_budget_spares_other_letters_opens_and_recovers(
    tight_budget: Stack,
) -> None:
    s = tight_budget
    s.krr_control(reset=True, mode="hold", slow_seconds=120)
    try:
        with ThreadPoolExecutor(8) as pool:
            started = time.monotonic()
            needing = [pool.submit(_insert, s, a.ref("slow"), a.DIGIPOST, a.sdp()) for _ in range(4)]
            wait_until(lambda: s.sim_stats()["krr"]["calls"] >= 1, 20, "look-ups held at KRR")
            # While KRR hangs: letters without SdpOptions are answered, and so is /health.
            plain = [_insert(s, a.ref("plain"), a.DIGIPOST, None) for _ in range(3)]
            assert all(p.ReceiptStatusCode == "OK" for p in plain)
            assert s.sim_stats()["krr"]["mode"] == "hold"  # KRR was still hanging meanwhile
            assert "krr_circuit" in s.health()
            for f in needing:
                with pytest.raises(zeep.exceptions.Fault, match="KRR"):
                    f.result(30)
            assert time.monotonic() - started < 1.5 + 8  # the budget, not 3 × 10 s of read timeouts
        wait_until(lambda: s.health()["krr_circuit"] == "open", 20, "the circuit opened")
        calls = s.sim_stats()["krr"]["calls"]
        with pytest.raises(zeep.exceptions.Fault, match="KRR") as refused:
            _insert(s, a.ref("refused"), a.DIGIPOST, a.sdp())
        assert "circuit is open" in _extended(refused.value)
        assert s.sim_stats()["krr"]["calls"] == calls  # refused at once, KRR not asked
    finally:
        s.krr_control(mode="normal")

    def recovered() -> bool:
        try:
            return _insert(s, a.ref("again"), a.DIGIPOST, a.sdp()).ReceiptStatusCode == "OK"
        except zeep.exceptions.Fault:
            return False  # still in the cool-down

    wait_until(recovered, 30, "KRR look-ups succeed again after the cool-down", interval=0.5)
    assert s.health()["krr_circuit"] == "closed"
