"""Group commit: one writer thread per process stores the letters of concurrent requests together.

Request threads hand their :class:`~service.domain.insert.InsertPlan` to :meth:`GroupCommit.store`
and wait; the writer takes whatever is queued (up to ``batch_max``), stores it in ONE transaction
and one commit (one fsync with SQLite ``synchronous=FULL`` or PostgreSQL ``synchronous_commit=on``),
then answers each request with its own receipt. Only after that commit does any request get an OK
receipt, so an OK receipt is always durable.

Why: 16 request threads each opening a write transaction queue on SQLite's single write lock
(``BEGIN IMMEDIATE``) and pay an fsync each; one writer per process turns that convoy into batches.

Repeats: a plan whose key is already stored (or occurs twice in one batch) is answered with the
stored receipt. A unique-key conflict with another process's concurrent write rolls the batch back
and stores its plans one per transaction, so only the conflicting request is answered with the
other's receipt. Any other failure fails exactly the requests of that batch (nothing of it stored).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from ..domain.insert import InsertPlan
from ..domain.ports import DuplicateKey
from ..domain.receipt import Receipt
from .ports import UnitOfWorkPortFactory

log = logging.getLogger(__name__)


class _Job:
    """One request's plan and its answer. The waiting request thread blocks on a plain lock that
    the writer releases once the answer is set: one C-level release per letter, where a
    ``concurrent.futures.Future`` took its Condition, ran ``notify_all`` in Python and kept a
    waiter list (issue 17: ``Condition.notify`` was about 7-14 % of a web process's samples)."""

    __slots__ = ("plan", "_answered", "_receipt", "_error", "done")

    def __init__(self, plan: InsertPlan) -> None:
        self.plan = plan
        self._answered = threading.Lock()
        self._answered.acquire()  # released once, by set_result or set_exception
        self._receipt: Receipt | None = None
        self._error: BaseException | None = None
        self.done = False

    def set_result(self, receipt: Receipt) -> None:
        self._receipt, self.done = receipt, True
        self._answered.release()

    def set_exception(self, error: BaseException) -> None:
        self._error, self.done = error, True
        self._answered.release()

    def result(self, timeout: float | None = None) -> Receipt:
        if not self.done and not self._answered.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError("the group commit did not answer in time")
        if self._error is not None:
            raise self._error
        assert self._receipt is not None
        return self._receipt


class GroupCommit:
    def __init__(self, uow_factory: UnitOfWorkPortFactory, batch_max: int = 256) -> None:
        self._uow_factory = uow_factory
        self._batch_max = max(1, batch_max)
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # for tests and metrics: transactions committed
        self.letters = 0

    def store(self, plan: InsertPlan, timeout: float | None = None) -> Receipt:
        """Store ``plan`` (or find the receipt stored for its key) and return the receipt."""
        self._ensure_thread()
        job = _Job(plan)
        self._queue.put(job)
        return job.result(timeout)

    def store_now(self, plan: InsertPlan) -> Receipt:
        """Store ``plan`` in the calling thread, in a transaction of its own (tools, tests)."""
        job = _Job(plan)
        self._write([job])
        return job.result()

    def store_all(self, plans: Iterable[InsertPlan]) -> list[Receipt]:
        """Store many plans in the calling thread, ``batch_max`` per transaction (tools, test
        fixtures, the bench: thousands of letters without thousands of requests)."""
        out: list[Receipt] = []
        batch: list[_Job] = []
        for plan in plans:
            batch.append(_Job(plan))
            if len(batch) >= self._batch_max:
                self._write(batch)
                out += [job.result() for job in batch]
                batch = []
        if batch:
            self._write(batch)
            out += [job.result() for job in batch]
        return out

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:  # started lazily: after gunicorn's fork, in the process that serves
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            # Each batch lives in _settle's frame only: its plans (a letter's attachments may be tens
            # of MB) are let go before the writer waits for the next one.
            self._settle(self._take())

    def _take(self) -> list[_Job]:
        batch = [self._queue.get()]
        while len(batch) < self._batch_max:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _settle(self, batch: list[_Job]) -> None:
        try:
            self._write(batch)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            for job in batch:
                if not job.done:
                    job.set_exception(exc)

    def _write(self, batch: list[_Job]) -> None:
        try:
            results = self._store_together(batch)
        except DuplicateKey:
            log.info(
                "group commit: unique conflict with a concurrent writer; storing %d one by one", len(batch)
            )
            results = {}
            for job in batch:
                try:
                    results.update(self._store_together([job]))
                except DuplicateKey:
                    results[id(job)] = self._stored_receipt(job.plan)
        for job in batch:
            job.set_result(results[id(job)])

    def _store_together(self, batch: list[_Job]) -> dict[int, Receipt]:
        out: dict[int, Receipt] = {}
        later: list[_Job] = []
        with self._uow_factory() as uow:
            stored = uow.correspondences.receipts(job.plan.key for job in batch)
            new: dict[tuple[str, str], _Job] = {}
            for job in batch:
                key = job.plan.key
                if key in stored:
                    out[id(job)] = stored[key]
                elif key in new:
                    later.append(job)  # a concurrent repeat within this batch
                else:
                    new[key] = job
            fresh: dict[tuple[str, str], Receipt] = {}
            if new:  # only repeats: nothing to write, no commit
                # one multi-row INSERT per table for the whole batch (the repository's add_many)
                receipts = uow.correspondences.add_many([job.plan for job in new.values()])
                for (key, job), receipt in zip(new.items(), receipts, strict=True):
                    fresh[key] = out[id(job)] = receipt
                uow.commit()
        for job in later:
            out[id(job)] = fresh[job.plan.key]
        self.batches += 1
        self.letters += len(batch)
        return out

    def _stored_receipt(self, plan: InsertPlan) -> Receipt:
        with self._uow_factory().for_reading() as uow:
            found = uow.correspondences.receipt(*plan.key)
        if found is None:
            raise RuntimeError("receipt vanished after a unique-constraint conflict")
        return found
