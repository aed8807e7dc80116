"""The delivery worker process (``innbyggerpost worker``): runs the durable jobs (service/domain/jobs.py).

Several workers (on several hosts) can share one PostgreSQL database: jobs are claimed in batches
with ``FOR UPDATE SKIP LOCKED``, a lease and a fencing token, so none is done twice at once and none
is lost (README, design notes: delivery).

The process runs a few tasks, each on its own thread, until ``stop`` is set:

* ``DeliveryDispatcher``: the ``deliver`` jobs (service_layer/delivery.DeliverHandler): claim a batch,
  send each on a thread pool (keep-alive connections), record finished sends in one transaction per
  batch, claiming again while sends are still in flight;
* ``JobTask``: the other job kinds (the Altinn copy and its status, notifications);
* ``Periodic`` tasks: vendor receipts (pull, store, acknowledge), the access point's statuses, the
  keeper (heartbeat, lease renewal of the jobs in flight, release of dead workers' jobs).

Another kind of outbound work is one more job kind: a handler in ``job_runner_from``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any, Protocol

from ..bootstrap import bootstrap
from ..config import Settings
from ..domain.forwarding import JITTER_MAX, backoff_delay
from ..domain.jobs import JobPolicy
from ..domain.ports import ContactRegistry, PostboxVendor, VendorUnavailable
from ..service_layer.altinn_copy import enqueue_fallback_copies
from ..service_layer.delivery import DeliverHandler, Delivery
from ..service_layer.jobs import Claimed, JobHandler, JobRunner, Outcome
from ..service_layer.notify import Notifier
from ..service_layer.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("innbyggerpost.worker")


class ConfigurationError(SystemExit):
    """The settings cannot work together; the message names them."""


def job_policy_from(settings: Settings) -> JobPolicy:
    """The one retry rule's settings, for every job kind."""
    return JobPolicy(
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        backoff_max_seconds=settings.delivery_backoff_max_seconds,
        lease_seconds=settings.claim_lease_seconds,
    )


def worst_case_send_seconds(settings: Settings) -> float:
    """The longest one send can take: every attempt timing out on connect and read, plus the
    backoff between attempts at its largest jitter (clients/transport.call_with_retries)."""
    attempts = max(1, settings.call_attempts)
    backoff = sum(backoff_delay(n, settings.call_backoff) * JITTER_MAX for n in range(1, attempts))
    return attempts * (settings.connect_timeout + settings.read_timeout) + backoff


def check_settings(settings: Settings) -> None:
    """Refuse to start with settings under which a lease can lapse during a send, or a live worker's
    jobs be released as a dead one's."""
    worst = worst_case_send_seconds(settings)
    if worst >= settings.claim_lease_seconds:
        raise ConfigurationError(
            f"INNBYGGERPOST_CLAIM_LEASE_SECONDS={settings.claim_lease_seconds:g} is shorter than the "
            f"worst-case send time {worst:.1f}s = INNBYGGERPOST_CALL_ATTEMPTS={settings.call_attempts} x "
            f"(INNBYGGERPOST_CONNECT_TIMEOUT={settings.connect_timeout:g} + "
            f"INNBYGGERPOST_READ_TIMEOUT={settings.read_timeout:g}) + backoff "
            f"(INNBYGGERPOST_CALL_BACKOFF={settings.call_backoff:g}); raise the lease or lower those"
        )
    if settings.worker_stale_seconds < 3 * settings.worker_heartbeat_seconds:
        raise ConfigurationError(
            f"INNBYGGERPOST_WORKER_STALE_SECONDS={settings.worker_stale_seconds:g} must be at least three "
            f"heartbeats (INNBYGGERPOST_WORKER_HEARTBEAT_SECONDS={settings.worker_heartbeat_seconds:g})"
        )
    if settings.worker_stale_seconds >= settings.claim_lease_seconds:
        raise ConfigurationError(
            f"INNBYGGERPOST_WORKER_STALE_SECONDS={settings.worker_stale_seconds:g} must be shorter than "
            f"INNBYGGERPOST_CLAIM_LEASE_SECONDS={settings.claim_lease_seconds:g}"
        )


class Task(Protocol):
    """One job kind of the worker process, run on its own thread until ``stop`` is set."""

    name: str

    def run(self, stop: threading.Event) -> None: ...


class Periodic:
    """Call ``fn`` every ``interval`` seconds (at once again while it reports more work)."""

    def __init__(
        self, name: str, interval: float, fn: Callable[[], bool | None], run_last: bool = False
    ) -> None:
        self.name = name
        self.interval = interval
        self.fn = fn
        self.run_last = run_last  # once more after stop (the final heartbeat)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            more = False
            try:
                more = bool(self.fn())
            except Exception:
                log.exception("%s failed; trying again in %ss", self.name, self.interval)
            if not more:
                stop.wait(self.interval)
        if self.run_last:
            try:
                self.fn()
            except Exception:
                log.exception("%s: last run failed", self.name)


class DeliveryDispatcher:
    """Runs the jobs of a :class:`JobRunner` (the ``deliver`` kind) as a pipeline: claims in batches,
    runs them on a thread pool, records finished ones in batches.

    Up to ``max_in_flight`` jobs are claimed at a time (run ``concurrency`` at a time); a new batch is
    claimed once half of them (at least a pool's worth) are done, or when nothing is in flight. Jobs in
    flight are never claimed again by this worker, and their leases are renewed by the keeper
    (``tokens``)."""

    name = "delivery"

    def __init__(self, runner: JobRunner, concurrency: int, max_in_flight: int, poll_seconds: float) -> None:
        self.runner = runner
        self.concurrency = concurrency
        self.max_in_flight = max(max_in_flight, concurrency)
        # Claim again once half the batch (at least a pool's worth) is done: few, large claims.
        self.refill = max(concurrency, self.max_in_flight // 2)
        self.poll_seconds = poll_seconds
        self.done = 0
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._in_flight: dict[Future[tuple[Claimed, Outcome]], Claimed] = {}

    def tokens(self) -> set[str]:
        with self._lock:
            return {c.token for c in self._in_flight.values()}

    def _record_finished(self) -> None:
        with self._lock:
            finished = [f for f in self._in_flight if f.done()]
        if not finished:
            return
        results = []
        for f in finished:
            exc = f.exception()
            if exc is not None:  # JobRunner.run catches everything; this is a bug: the lease lapses
                log.error("delivery failed unexpectedly", exc_info=exc)
            else:
                results.append(f.result())
        counts = self.runner.record(results)  # raises: kept in flight, recorded on the next turn
        with self._lock:
            for f in finished:
                del self._in_flight[f]
        self.counts.update(counts)
        self.done += sum(n for k, n in counts.items() if k != "lost_claim")

    def run(self, stop: threading.Event) -> None:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="send") as pool:
            while True:
                claimed = 0
                try:
                    self._record_finished()
                    with self._lock:
                        running = {c.job.id for c in self._in_flight.values()}
                    free = self.max_in_flight - len(running)
                    if stop.is_set():
                        if not running:
                            break
                    elif free >= self.refill or not running:
                        batch = self.runner.claim(free, running)
                        claimed = len(batch)
                        with self._lock:
                            for c in batch:
                                self._in_flight[pool.submit(self.runner.run, c)] = c
                except Exception:
                    log.exception("delivery loop error; continuing")
                    stop.wait(1.0)
                with self._lock:
                    pending = list(self._in_flight)
                if pending:
                    wait(pending, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
                elif not claimed:
                    stop.wait(self.poll_seconds)


def notifier_from(
    settings: Settings, uow_factory: UnitOfWorkFactory, registry: ContactRegistry, worker_id: str
) -> Notifier:
    """The notification sender of a worker: KRR (the client batches ids itself), SMTP, the SMS gateway."""
    from clients.sms import HttpSmsGateway
    from clients.smtp import SmtpEmailSender

    from ..domain.notifications import TemplateLibrary
    from ..service_layer.notify import NotificationPolicy

    policy = NotificationPolicy(
        max_attempts=settings.notification_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        backoff_max_seconds=settings.delivery_backoff_max_seconds,
        lease_seconds=settings.claim_lease_seconds,
        reminder_days=settings.notification_reminder_days,
        allowed_from=settings.notification_from_addresses,
    )
    return Notifier(
        uow_factory,
        registry,
        SmtpEmailSender.from_settings(settings),
        HttpSmsGateway.from_settings(settings),
        TemplateLibrary.load(settings.notification_templates_dir),
        policy,
        worker_id,
        inbox_url=settings.notification_inbox_url,
    )


class NotificationTask:
    """Altinn notifications: the KRR look-ups for due messages without an address (batched). The
    messages themselves are sent by the jobs task (the ``notification`` job kind, ``Notifier``)."""

    name = "notifications"

    def __init__(self, notifier: Notifier, poll_seconds: float, batch: int = 1000) -> None:
        self.notifier = notifier
        self.poll_seconds = poll_seconds
        self.batch = batch

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            more = False
            try:
                more = self.notifier.resolve_addresses(self.batch) >= self.batch
            except Exception:
                log.exception("notifications loop error; continuing")
                stop.wait(1.0)
            if not more:
                stop.wait(self.poll_seconds)


class JobTask:
    """The durable jobs (service_layer/jobs.py; the Altinn copy first): claim a batch, run it
    ``concurrency`` at a time, record the outcomes in one transaction. ``tokens`` are the claims in
    flight, renewed by the keeper."""

    name = "jobs"

    def __init__(self, runner: JobRunner, concurrency: int, batch: int, poll_seconds: float) -> None:
        self.runner = runner
        self.concurrency = max(1, concurrency)
        self.batch = max(1, batch)
        self.poll_seconds = poll_seconds
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def tokens(self) -> set[str]:
        with self._lock:
            return set(self._tokens)

    def run(self, stop: threading.Event) -> None:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="job") as pool:
            while not stop.is_set():
                more = False
                try:
                    claimed = self.runner.claim(self.batch)
                    with self._lock:
                        self._tokens = {c.token for c in claimed}
                    if claimed:
                        self.runner.record(list(pool.map(self.runner.run, claimed)))
                    more = len(claimed) >= self.batch
                except Exception:
                    log.exception("jobs loop error; continuing")
                    stop.wait(1.0)
                finally:
                    with self._lock:
                        self._tokens = set()
                if not more:
                    stop.wait(self.poll_seconds)


def job_runner_from(
    settings: Settings, container: Any, worker_id: str, notifier: Notifier | None = None
) -> JobRunner:
    """The job kinds this worker runs: the Altinn copy and its status (service_layer/altinn_copy.py),
    and with the ``local`` inbox backend the notifications (``notifier``: service_layer/notify.py)."""
    from ..domain.notifications import TemplateLibrary
    from ..service_layer.altinn_copy import CopyHandler, StatusHandler

    policy = job_policy_from(settings)
    inbox = container.altinn_inbox
    templates = TemplateLibrary.load(settings.notification_templates_dir)
    handlers: list[JobHandler] = [
        CopyHandler(inbox, policy, settings.altinn3_poll_seconds, templates, settings.notification_inbox_url),
        StatusHandler(inbox, policy, settings.altinn3_poll_seconds),
    ]
    if notifier is not None:
        handlers.append(notifier)
    return JobRunner(container.uow_factory, handlers, policy, worker_id)


def run_worker(
    settings: Settings,
    stop: threading.Event,
    vendor: PostboxVendor | None = None,
    uow_factory: UnitOfWorkFactory | None = None,
    extra_tasks: Sequence[Task] = (),
) -> DeliveryDispatcher:
    """Run the worker's tasks until ``stop`` is set and every delivery in flight is recorded."""
    check_settings(settings)
    parts = {k: v for k, v in (("vendor", vendor), ("uow_factory", uow_factory)) if v is not None}
    container = bootstrap(settings, **parts)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    delivery = Delivery(container.uow_factory, container.vendor, worker_id)
    deliver = DeliverHandler(
        container.vendor,
        job_policy_from(settings),
        settings.receipt_deadline_seconds,
        uow_factory=container.uow_factory,  # each send reads its own letter's attachments
    )
    delivery_runner = JobRunner(container.uow_factory, [deliver], job_policy_from(settings), worker_id)
    dispatcher = DeliveryDispatcher(
        delivery_runner,
        settings.worker_concurrency,
        settings.worker_claim_batch,
        settings.worker_poll_seconds,
    )
    acks = ThreadPoolExecutor(max_workers=RECEIPT_ACK_THREADS, thread_name_prefix="ack")

    def receipts() -> bool:
        try:
            return delivery.poll_receipts(RECEIPT_BATCH, acks.map) >= RECEIPT_BATCH
        except VendorUnavailable as exc:
            log.warning("receipts: %s", exc)
            return False

    def statuses() -> bool:
        delivery.check_transport(settings.dpi_status_check_seconds, STATUS_BATCH)
        return False  # one page a round: the cursor walks through the rest in the next rounds

    # Altinn 3 sends the copies' notifications itself; the local backend's are ours (SMTP / SMS)
    notifier = (
        None
        if settings.inbox_backend == "altinn3"
        else notifier_from(settings, container.uow_factory, container.krr_client, worker_id)
    )
    runner = job_runner_from(settings, container, worker_id, notifier)
    job_task = JobTask(
        runner, settings.worker_concurrency, settings.worker_claim_batch, settings.worker_poll_seconds
    )

    def keep_alive() -> None:  # one transaction: the heartbeat, every claim in flight renewed (both
        # tasks' jobs are in the one jobs table), the jobs of silent workers released
        tokens = dispatcher.tokens() | job_task.tokens()
        delivery_runner.keep_alive(tokens, settings.worker_stale_seconds, jobs_done=dispatcher.done)

    delivery.heartbeat(0)  # seen alive before the first claim: its jobs are never taken for a dead worker's
    tasks: list[Task] = [
        dispatcher,
        Periodic("receipts", settings.worker_poll_seconds, receipts),
        job_task,
        Periodic("statuses", min(60.0, settings.dpi_status_check_seconds), statuses),
        *extra_tasks,
    ]
    if settings.inbox_backend == "altinn3":
        # Altinn 3 sends the copies' notifications; BackupAltinn copies made by the delivery side get
        # their inbox_copy job here (within a window: the forwarding's last change)
        window = max(3600.0, settings.receipt_deadline_seconds)
        tasks.append(
            Periodic(
                "fallback-copies",
                settings.worker_poll_seconds,
                lambda: enqueue_fallback_copies(container.uow_factory, datetime.now(UTC), window) >= 500,
            )
        )
    if notifier is not None:
        tasks.append(NotificationTask(notifier, settings.worker_poll_seconds))
    keeper_stop = threading.Event()  # the keeper outlives the other tasks: leases while they finish
    keeper = threading.Thread(
        target=Periodic("keeper", settings.worker_heartbeat_seconds, keep_alive, run_last=True).run,
        args=(keeper_stop,),
        name="keeper",
        daemon=True,
    )
    keeper.start()
    threads = [threading.Thread(target=t.run, args=(stop,), name=t.name, daemon=True) for t in tasks]
    log.info(
        "worker %s started (concurrency %d, up to %d jobs claimed)",
        worker_id,
        settings.worker_concurrency,
        dispatcher.max_in_flight,
    )
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keeper_stop.set()
    keeper.join(30)
    acks.shutdown()
    log.info("worker %s stopped after %d jobs (%s)", worker_id, dispatcher.done, dict(dispatcher.counts))
    container.dispose()
    return dispatcher


RECEIPT_BATCH = 100
STATUS_BATCH = 100
RECEIPT_ACK_THREADS = 4


def main(settings: Settings) -> None:
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing in-flight deliveries", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_worker(settings, stop)
