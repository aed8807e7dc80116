"""The worker process's parts without processes: the start-up check of lease against worst-case send
time, and the dispatcher's pipelined batches on a fake job runner."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from service.config import Settings
from service.domain.jobs import Job, JobKind, JobStatus
from service.entrypoints.worker import (
    ConfigurationError,
    DeliveryDispatcher,
    Periodic,
    check_settings,
    worst_case_send_seconds,
)
from service.service_layer.jobs import Claimed, Outcome
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


class FakeRunner:
    """A JobRunner's three steps over ``n`` jobs in memory: claims (never a running job), runs
    (``on_run``), records (each job once)."""

    def __init__(self, n: int) -> None:
        self.todo = list(range(1, n + 1))
        self.recorded: Counter[int] = Counter()
        self.claims = 0
        self.on_run = lambda job: None
        self._lock = threading.Lock()

    def claim(self, limit: int, running: Collection[int] = ()) -> list[Claimed]:
        with self._lock:
            ids = [i for i in self.todo if i not in running][:limit]
            self.todo = [i for i in self.todo if i not in ids]
            if ids:
                self.claims += 1
        token = f"t{self.claims}"
        return [
            Claimed(Job(i, JobKind.DELIVER, f"msg-{i}", JobStatus.TODO, 0, T0), token, None)  # type: ignore[arg-type]
            for i in ids
        ]

    def run(self, claimed: Claimed) -> tuple[Claimed, Outcome]:
        self.on_run(claimed.job)
        return claimed, Outcome.succeed()

    def record(self, results: Sequence[tuple[Claimed, Outcome]]) -> Counter[str]:
        with self._lock:
            self.recorded.update(c.job.id for c, _o in results)
        return Counter({"deliver:todo": len(results)})


def test_the_dispatcher_claims_in_batches_runs_concurrently_and_records_every_job_once() -> None:
    runner = FakeRunner(100)
    active, peak, lock = [0], [0], threading.Lock()
    two_at_once = threading.Barrier(2, timeout=10)  # the first two runs meet: only if concurrent

    def on_run(job: Job) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if job.id in (1, 2):
            two_at_once.wait()  # a pool of one would break the barrier
        with lock:
            active[0] -= 1

    runner.on_run = on_run  # type: ignore[assignment]
    fake: Any = runner
    dispatcher = DeliveryDispatcher(fake, concurrency=4, max_in_flight=16, poll_seconds=0.01)
    stop = threading.Event()
    t = threading.Thread(target=dispatcher.run, args=(stop,))
    t.start()
    try:
        wait_until(lambda: len(runner.recorded) == 100, 30, "every job run and recorded", interval=0.01)
    finally:
        stop.set()
        t.join(10)
    assert runner.recorded == Counter(range(1, 101))  # each once
    assert dispatcher.done == 100 and dispatcher.counts == {"deliver:todo": 100}
    assert 1 < peak[0] <= 4  # concurrent, bounded by the pool
    assert runner.claims <= 100 // 8 + 2  # claims of at least half a batch, not one per job
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
