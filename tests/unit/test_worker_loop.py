"""The worker process's parts without processes: the start-up check of lease against worst-case send
time, and the dispatcher's batching on a fake unit of work and a fake vendor."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import pytest

from service.config import Settings
from service.domain.forwarding import DeliveryPolicy, JobState
from service.domain.ports import DigitalPostMessage
from service.entrypoints.worker import (
    ConfigurationError,
    DeliveryDispatcher,
    Periodic,
    check_settings,
    worst_case_send_seconds,
)
from service.service_layer.delivery import Delivery
from tests.support.fakes import FakeDatabase, FakeVendor
from tests.support.harness import wait_until

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def settings(**kw: object) -> Settings:
    base = Settings()
    fields = dict(
        connect_timeout=3.0,
        read_timeout=10.0,
        call_attempts=3,
        call_backoff=0.2,
        claim_lease_seconds=60.0,
        worker_heartbeat_seconds=1.0,
        worker_stale_seconds=5.0,
    )
    fields.update(kw)
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_worst_case_send_is_every_attempt_timing_out_plus_the_largest_backoff() -> None:
    # 3 x (3 + 10) + 0.2 x 1.5 + 0.4 x 1.5
    assert worst_case_send_seconds(settings()) == pytest.approx(39.9)
    assert worst_case_send_seconds(settings(call_attempts=1)) == pytest.approx(13.0)


def test_defaults_start() -> None:
    check_settings(settings())


def test_a_lease_shorter_than_the_worst_case_send_is_refused_naming_the_settings() -> None:
    with pytest.raises(ConfigurationError) as err:
        check_settings(settings(claim_lease_seconds=30))
    text = str(err.value)
    for name in (
        "INNBYGGERPOST_CLAIM_LEASE_SECONDS=30",
        "INNBYGGERPOST_CALL_ATTEMPTS=3",
        "INNBYGGERPOST_CONNECT_TIMEOUT=3",
        "INNBYGGERPOST_READ_TIMEOUT=10",
        "INNBYGGERPOST_CALL_BACKOFF=0.2",
    ):
        assert name in text


@pytest.mark.parametrize(
    ("stale", "beat", "lease", "named"),
    [
        (2.0, 1.0, 60.0, "INNBYGGERPOST_WORKER_HEARTBEAT_SECONDS=1"),  # fewer than 3 heartbeats
        (60.0, 1.0, 60.0, "INNBYGGERPOST_CLAIM_LEASE_SECONDS=60"),  # release no sooner than the lease
    ],
)
def test_stale_threshold_between_three_heartbeats_and_the_lease(
    stale: float, beat: float, lease: float, named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        check_settings(
            settings(worker_stale_seconds=stale, worker_heartbeat_seconds=beat, claim_lease_seconds=lease)
        )


def test_the_dispatcher_claims_in_batches_sends_concurrently_and_records_every_job_once() -> None:
    db, vendor = FakeDatabase(), FakeVendor()
    for i in range(1, 101):
        db.jobs.add_job(i, now=T0)
    now = [T0]
    delivery = Delivery(db.uow, vendor, DeliveryPolicy(lease_seconds=60), "w1", clock=lambda: now[0])  # type: ignore[arg-type]
    active, peak, lock = [0], [0], threading.Lock()
    two_at_once = threading.Barrier(2, timeout=10)  # the first two sends meet: only if concurrent

    def on_send(m: DigitalPostMessage) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if m.message_id in ("msg-1", "msg-2"):
            two_at_once.wait()  # a pool of one would break the barrier: those sends would be retried
        with lock:
            active[0] -= 1

    vendor.on_send = on_send
    dispatcher = DeliveryDispatcher(delivery, concurrency=4, max_in_flight=16, poll_seconds=0.01)
    stop = threading.Event()
    t = threading.Thread(target=dispatcher.run, args=(stop,))
    t.start()
    try:
        wait_until(
            lambda: all(r.state.job_state == JobState.AWAITING_RECEIPT for r in db.jobs.rows.values()),
            30,
            "every job sent and recorded",
            interval=0.01,
        )
    finally:
        stop.set()
        t.join(10)
    assert all(r.state.job_state == JobState.AWAITING_RECEIPT for r in db.jobs.rows.values())
    assert sorted(m.message_id for m in vendor.sent) == sorted(f"msg-{i}" for i in range(1, 101))
    assert dispatcher.done == 100 and dispatcher.counts == {"sent": 100}
    assert 1 < peak[0] <= 4  # concurrent, bounded by the pool
    assert db.jobs.letter_loads <= 100 // 8 + 2  # claims of at least half a batch, not one per job
    assert dispatcher.tokens() == set()  # nothing left in flight


def test_periodic_runs_again_at_once_while_there_is_more_work_and_once_after_stop() -> None:
    calls: list[int] = []
    stop = threading.Event()

    def fn() -> bool:
        calls.append(1)
        if len(calls) == 3:
            stop.set()
        return True  # always "more"

    Periodic("t", 60.0, fn, run_last=True).run(stop)
    assert len(calls) == 4  # three without waiting 60 s, then the last run after stop
