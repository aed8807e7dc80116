"""The delivery worker process (``innbyggerpost worker``): claims forwarding jobs and delivers them.

Several workers (on several hosts) can share one PostgreSQL database: jobs are claimed with
``FOR UPDATE SKIP LOCKED`` and a lease, so none is done twice at once and none is lost.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ..bootstrap import bootstrap
from ..config import Settings
from ..domain.ports import PostboxVendor, VendorUnavailable
from ..service_layer.delivery import Delivery, DeliveryPolicy

log = logging.getLogger("innbyggerpost.worker")


def policy_from(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        backoff_max_seconds=settings.delivery_backoff_max_seconds,
        lease_seconds=settings.claim_lease_seconds,
        receipt_deadline_seconds=settings.receipt_deadline_seconds,
    )


def run_worker(settings: Settings, stop: threading.Event, vendor: PostboxVendor | None = None) -> None:
    container = bootstrap(settings, **({"vendor": vendor} if vendor is not None else {}))
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    delivery = Delivery(container.uow_factory, container.vendor, policy_from(settings), worker_id)
    done = 0
    last_poll = last_beat = last_expire = 0.0
    in_flight: set[Future[str]] = set()
    log.info("worker %s started (concurrency %d)", worker_id, settings.worker_concurrency)
    with ThreadPoolExecutor(max_workers=settings.worker_concurrency) as pool:
        while not stop.is_set() or in_flight:
            try:
                finished = {f for f in in_flight if f.done()}
                in_flight -= finished
                for f in finished:
                    if f.exception() is not None:  # the job's claim lapses and it is tried again
                        log.error("delivery failed unexpectedly", exc_info=f.exception())
                    else:
                        done += f.result() != "skipped"
                free = settings.worker_concurrency - len(in_flight)
                if free > 0 and not stop.is_set():
                    # A claimed job starts at once: claims never wait behind other deliveries.
                    in_flight |= {pool.submit(delivery.deliver, i) for i in delivery.claim(free)}
                now = time.monotonic()
                if now - last_poll >= settings.worker_poll_seconds and not stop.is_set():
                    last_poll = now
                    for orgnr in settings.vendor_endpoints:
                        try:
                            while delivery.poll_receipts(orgnr, 100, pool.map) >= 100:
                                pass
                        except VendorUnavailable as exc:
                            log.warning("receipts from %s: %s", orgnr, exc)
                if now - last_expire >= 60:
                    last_expire = now
                    delivery.expire_overdue()
                if now - last_beat >= 5:
                    last_beat = now
                    delivery.heartbeat(done)
            except Exception:
                log.exception("worker loop error; continuing")
                stop.wait(1.0)
            if in_flight:
                wait(in_flight, timeout=settings.worker_poll_seconds, return_when=FIRST_COMPLETED)
            else:
                stop.wait(settings.worker_poll_seconds)
    try:
        delivery.heartbeat(done)  # the final count, for /health and operators
    except Exception:
        log.exception("final heartbeat failed")
    log.info("worker %s stopped after %d jobs", worker_id, done)
    container.dispose()


def main(settings: Settings) -> None:
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing in-flight deliveries", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_worker(settings, stop)
