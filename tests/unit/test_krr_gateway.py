"""The KRR gateway (service/adapters/krr_gateway.py): batching, isolation, time budget, circuit breaker."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.adapters.krr_gateway import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, KrrGateway
from service.domain.ports import Person, RegistryUnavailable
from tests.support.fakes import FakeRegistry, person_with_postbox
from tests.support.harness import wait_until

DIGIPOST, NO_POSTBOX, RESERVED = "01018010018", "03038210008", "04048310058"


class GatedRegistry(FakeRegistry):
    """Each call waits until the test opens the gate, so the test decides what queues behind it."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def hent_personer(self, ids: Sequence[str]) -> dict[str, Person]:
        self.entered.release()
        assert self.gate.wait(10), "test never opened the gate"
        return super().hent_personer(ids)


def _persons() -> dict[str, Person]:
    return {
        DIGIPOST: person_with_postbox(DIGIPOST),
        NO_POSTBOX: Person(NO_POSTBOX, "AKTIV", "NEI"),
        RESERVED: Person(RESERVED, "AKTIV", "JA"),
    }


def test_concurrent_lookups_share_one_call_and_each_gets_its_own_person() -> None:
    registry = GatedRegistry(persons=_persons())
    gw = KrrGateway(registry, max_concurrent_calls=1, batch_wait=0.0, time_budget=10)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(gw.hent_personer, ["00000000001"])
        assert registry.entered.acquire(timeout=5)  # the first call is out and holds the only slot
        ids = [DIGIPOST, NO_POSTBOX, RESERVED] * 2
        rest = [pool.submit(gw.hent_personer, [i]) for i in ids]
        wait_until(lambda: len(gw._pending) == len(ids), 5, "look-ups queued behind the busy call")
        registry.gate.set()
        answers = [f.result(5) for f in rest]
        first.result(5)
    assert sorted(len(c) for c in registry.calls) == [
        1,
        3,
    ]  # both calls were out at once  # six look-ups, one call, three distinct ids
    for pid, answer in zip(ids, answers, strict=True):
        assert list(answer) == [pid]
    assert answers[0][DIGIPOST].has_postbox and answers[2][RESERVED].reserved
    assert not answers[1][NO_POSTBOX].has_postbox and not answers[1][NO_POSTBOX].reserved
    assert (gw.calls, gw.ids) == (2, 4)


def test_a_failed_call_fails_exactly_its_own_lookups() -> None:
    class FailsForReserved(GatedRegistry):
        def hent_personer(self, ids: Sequence[str]) -> dict[str, Person]:
            if RESERVED in ids:
                self.calls.append(tuple(ids))
                raise RegistryUnavailable("KRR fault for this batch")
            return super().hent_personer(ids)

    registry = FailsForReserved(persons=_persons())
    registry.gate.set()
    gw = KrrGateway(registry, max_concurrent_calls=1, batch_wait=0.0, time_budget=10)
    assert gw.hent_personer([DIGIPOST])[DIGIPOST].has_postbox
    with pytest.raises(RegistryUnavailable, match="this batch"):
        gw.hent_personer([RESERVED])
    assert NO_POSTBOX in gw.hent_personer([NO_POSTBOX])  # the next call is unaffected
    assert registry.calls == [(DIGIPOST,), (RESERVED,), (NO_POSTBOX,)]


def test_the_time_budget_bounds_the_wait() -> None:
    registry = GatedRegistry(persons=_persons())  # the gate is never opened: KRR hangs
    gw = KrrGateway(registry, time_budget=0.2)
    with pytest.raises(RegistryUnavailable, match="time budget of 0.2 s"):
        gw.hent_personer([DIGIPOST])
    assert registry.entered.acquire(timeout=5)  # the call did go out; the caller stopped waiting
    registry.gate.set()


def test_circuit_opens_after_repeated_failures_refuses_at_once_then_probes() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown=10.0, clock=lambda: now[0])
    registry = FakeRegistry(persons=_persons(), fail=True)
    gw = KrrGateway(registry, batch_wait=0.0, time_budget=5, breaker=breaker)
    for _ in range(3):
        with pytest.raises(RegistryUnavailable, match="down"):
            gw.hent_personer([DIGIPOST])
    assert gw.state() == OPEN
    with pytest.raises(RegistryUnavailable, match="circuit is open"):
        gw.hent_personer([DIGIPOST])
    assert len(registry.calls) == 3  # refused without asking KRR
    now[0] = 10.0
    assert gw.state() == HALF_OPEN
    registry.fail = False
    assert gw.hent_personer([DIGIPOST])[DIGIPOST].has_postbox  # the probe succeeds
    assert gw.state() == CLOSED and len(registry.calls) == 4


def test_half_open_lets_one_probe_through_and_a_failed_probe_reopens() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, cooldown=5.0, clock=lambda: now[0])
    breaker.record(False)
    assert breaker.state() == OPEN and not breaker.allow()
    now[0] = 5.0
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record(False)
    assert breaker.state() == OPEN


# -- smart batching (issue 17): at once when idle, with the next call while one is out ----------------


def test_a_lone_lookup_goes_at_once_without_waiting_for_company() -> None:
    registry = FakeRegistry(persons=_persons())
    # a batch_wait far over the time budget: a look-up that waited for company would time out
    gw = KrrGateway(registry, max_concurrent_calls=2, batch_wait=60.0, time_budget=5)
    for pid in (DIGIPOST, NO_POSTBOX, RESERVED):
        assert list(gw.hent_personer([pid])) == [pid]
    assert registry.calls == [(DIGIPOST,), (NO_POSTBOX,), (RESERVED,)]


def test_lookups_under_load_wait_batch_wait_and_go_in_one_call() -> None:
    registry = GatedRegistry(persons=_persons())
    gw = KrrGateway(registry, max_concurrent_calls=2, batch_wait=2.0, time_budget=30)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(gw.hent_personer, ["00000000001"])
        assert registry.entered.acquire(timeout=5)  # the first call is out; a second slot is free
        ids = [DIGIPOST, NO_POSTBOX, RESERVED, "00000000002", "00000000003"]
        rest = [pool.submit(gw.hent_personer, [i]) for i in ids]
        wait_until(lambda: len(gw._pending) == len(ids), 5, "look-ups queued behind the call out")
        assert not registry.entered.acquire(timeout=0.3)  # no call of its own, none beside the first
        assert len(gw._pending) == len(ids)
        registry.gate.set()
        first.result(5)
        answers = [f.result(10) for f in rest]  # after batch_wait, all in one call
    assert [len(c) for c in registry.calls] == [1, 5]
    assert [list(a) for a in answers] == [[i] for i in ids]


def test_a_slow_call_gets_a_second_call_beside_it_after_batch_wait() -> None:
    class FirstCallHangs(GatedRegistry):
        def hent_personer(self, ids: Sequence[str]) -> dict[str, Person]:
            if not self.calls:
                self.calls.append(tuple(ids))
                self.entered.release()
                assert self.gate.wait(10), "test never opened the gate"
                return {i: Person(i, status="IKKE_REGISTRERT") for i in ids}
            return FakeRegistry.hent_personer(self, ids)

    registry = FirstCallHangs(persons=_persons())
    gw = KrrGateway(registry, max_concurrent_calls=2, batch_wait=0.05, time_budget=10)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(gw.hent_personer, ["00000000001"])
        assert registry.entered.acquire(timeout=5)
        # answered while the first call still hangs: a second call went beside it
        assert gw.hent_personer([DIGIPOST])[DIGIPOST].has_postbox
        assert not first.done()
        registry.gate.set()
        first.result(5)
    assert registry.calls == [("00000000001",), (DIGIPOST,)]


def test_under_load_a_batch_goes_as_soon_as_it_holds_batch_ready_ids() -> None:
    """Enough ids queued: the call goes at once, without waiting out batch_wait (which is far over
    the time budget here, so a batch that waited for it would time out)."""
    registry = GatedRegistry(persons=_persons())
    gw = KrrGateway(registry, max_concurrent_calls=2, batch_wait=60.0, batch_ready=3, time_budget=5)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(gw.hent_personer, ["00000000001"])
        assert registry.entered.acquire(timeout=5)  # the first call is out: the gateway is under load
        ids = [DIGIPOST, NO_POSTBOX, RESERVED]
        rest = [pool.submit(gw.hent_personer, [i]) for i in ids]
        assert registry.entered.acquire(timeout=5)  # the second call went with 3 ids queued
        registry.gate.set()
        first.result(5)
        answers = [f.result(5) for f in rest]
    assert sorted(len(c) for c in registry.calls) == [1, 3]  # both calls were out at once
    assert [list(a) for a in answers] == [[i] for i in ids]
