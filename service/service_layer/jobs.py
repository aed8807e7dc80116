"""Use case: run durable jobs (service/domain/jobs.py), whatever their kind.

One claim, one lease with a fencing token, one retry rule, one status vocabulary for every kind of
outbound work; each kind is a :class:`JobHandler`:

- ``prepare(uow, jobs)``: read what the jobs need, in a read transaction right after the claim's
  (one query per table for the whole batch; it writes nothing);
- ``run(job, work)``: the call to the outside world, without a database transaction; returns an
  :class:`Outcome` (it may raise: that is a temporary failure, retried by the one rule);
- ``record(uow, job, outcome, now)``: the job's transition (``Job.succeed`` / ``retry_later`` /
  ``fail`` / ``reschedule``) and the kind's own effects, written in the transaction that saves the
  job, and only while the job still carries the fencing token it was claimed with; a handler with a
  ``record_batch(uow, [(job, outcome)], now)`` gets the batch's outcomes of its kind at once instead
  (one lock and one write of its rows for the batch: ``deliver``).

The worker (``entrypoints/worker.py``, ``JobTask``) claims a batch, runs it on a thread pool and
records the outcomes in one transaction; ``keep_alive`` renews the leases of the batch in flight and
releases the jobs of workers whose heartbeat stopped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ..domain.jobs import Job, JobKind, JobPolicy
from .unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("innbyggerpost.jobs")


@dataclass(frozen=True)
class Outcome:
    kind: str  # succeed | retry | fail | reschedule
    error: str = ""
    external_id: str | None = None
    delay_seconds: float = 0.0
    data: Any = None

    @classmethod
    def succeed(cls, external_id: str | None = None, data: Any = None) -> Outcome:
        return cls("succeed", external_id=external_id, data=data)

    @classmethod
    def retry(cls, error: str) -> Outcome:
        return cls("retry", error=error)

    @classmethod
    def fail(cls, error: str) -> Outcome:
        return cls("fail", error=error)

    def with_data(self, data: Any) -> Outcome:
        return replace(self, data=data)


class JobHandler(Protocol):
    kinds: tuple[JobKind, ...]

    def prepare(self, uow: UnitOfWork, jobs: Sequence[Job]) -> dict[int, Any]: ...

    def run(self, job: Job, work: Any) -> Outcome: ...

    def record(self, uow: UnitOfWork, job: Job, outcome: Outcome, now: datetime) -> None: ...


def apply_default(job: Job, outcome: Outcome, now: datetime, policy: JobPolicy) -> None:
    """The job transition of an outcome (the one retry rule); handlers call it from ``record``."""
    if outcome.kind == "succeed":
        job.succeed(now, outcome.external_id)
    elif outcome.kind == "fail":
        job.fail(now, outcome.error)
    elif outcome.kind == "reschedule":
        job.reschedule(now, outcome.delay_seconds)
    else:
        job.retry_later(now, outcome.error, policy)


@dataclass
class Claimed:
    job: Job
    token: str
    handler: JobHandler
    work: Any = None


@dataclass
class JobRunner:
    uow_factory: UnitOfWorkFactory
    handlers: Sequence[JobHandler]
    policy: JobPolicy
    worker_id: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self._by_kind = {k: h for h in self.handlers for k in h.kinds}

    @property
    def kinds(self) -> list[JobKind]:
        return list(self._by_kind)

    def claim(self, limit: int, running: Collection[int] = ()) -> list[Claimed]:
        now = self.clock()
        with self.uow_factory().for_reading() as uow:  # idle workers never take the write lock
            if not uow.jobs.any_due(self.kinds, now):
                return []
        with self.uow_factory() as uow:  # a short write transaction: the claim only
            claim = uow.jobs.claim(self.worker_id, self.kinds, now, self.policy.lease_seconds, limit, running)
            uow.commit()
        out = [Claimed(j, claim.token, self._by_kind[j.kind]) for j in claim.jobs]
        if not out:
            return out
        with self.uow_factory().for_reading() as uow:  # what the batch needs: read, no write lock held
            for handler in {id(c.handler): c.handler for c in out}.values():
                mine = [c.job for c in out if c.handler is handler]
                work = handler.prepare(uow, mine)
                for c in out:
                    if c.handler is handler:
                        c.work = work.get(c.job.id)
        return out

    def run(self, claimed: Claimed) -> tuple[Claimed, Outcome]:
        try:
            return claimed, claimed.handler.run(claimed.job, claimed.work)
        except Exception as exc:  # a handler's bug or an unexpected failure: retried by the one rule
            log.exception("job %s (%s) failed", claimed.job.id, claimed.job.kind)
            return claimed, Outcome.retry(f"{type(exc).__name__}: {exc}")

    def record(self, results: Sequence[tuple[Claimed, Outcome]]) -> Counter[str]:
        counts: Counter[str] = Counter()
        if not results:
            return counts
        now = self.clock()
        with self.uow_factory() as uow:
            held = uow.jobs.lock_held({c.job.id: c.token for c, _o in results})
            groups: dict[int, tuple[JobHandler, list[tuple[Job, Outcome]]]] = {}
            for c, outcome in results:
                job = held.get(c.job.id)
                if job is None:  # released or taken over meanwhile: not ours to write
                    counts["lost_claim"] += 1
                    continue
                groups.setdefault(id(c.handler), (c.handler, []))[1].append((job, outcome))
            done = []
            for handler, items in groups.values():
                record_batch = getattr(handler, "record_batch", None)
                if record_batch is not None:
                    record_batch(uow, items, now)
                else:
                    for job, outcome in items:
                        handler.record(uow, job, outcome, now)
                for job, _o in items:
                    counts[f"{job.kind}:{job.status}"] += 1
                    done.append(job)
            uow.jobs.save(done, now, release_claim=True)
            uow.commit()
        return counts

    def run_once(self, limit: int, running: Collection[int] = (), map_fn: Callable[..., Any] = map) -> int:
        claimed = self.claim(limit, running)
        if claimed:
            self.record(list(map_fn(self.run, claimed)))
        return len(claimed)

    def keep_alive(
        self, tokens: Collection[str], stale_seconds: float, jobs_done: int | None = None
    ) -> tuple[int, int]:
        """One transaction: this worker's heartbeat (when ``jobs_done`` is given), a new lease for
        every job it still holds (under ``tokens``), and the release of the jobs of workers silent for
        ``stale_seconds``. Returns (renewed, released)."""
        now = self.clock()
        if not tokens and jobs_done is None:
            with self.uow_factory().for_reading() as uow:
                if not uow.jobs.any_claimed():
                    return 0, 0
        with self.uow_factory() as uow:
            if jobs_done is not None:  # first: a live worker's jobs are never taken for a dead one's
                uow.monitoring.beat(self.worker_id, now, jobs_done)
            renewed = uow.jobs.renew(
                self.worker_id, tokens, now + timedelta(seconds=self.policy.lease_seconds)
            )
            released = uow.jobs.release_stale(now - timedelta(seconds=stale_seconds), self.worker_id)
            uow.commit()
        if released:
            log.warning("released %d job(s) of workers without a heartbeat for %ss", released, stale_seconds)
        return renewed, released
