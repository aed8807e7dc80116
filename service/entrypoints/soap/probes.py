"""The web edge's three narrow views of the database, through the unit of work's repositories.

The WSGI routing (:mod:`.wsgi`) and the WS authenticator see only these interfaces; the statements
live in ``service/adapters/repositories`` (``monitoring``, ``nonces``):

* :func:`database_health` -> ``health_probe()``: ``(ok, detail)``: the database answers and a
  delivery worker reported recently;
* :func:`metrics_snapshot` -> ``metrics_snapshot()``: Prometheus text lines of the stored gauges;
* :class:`DbNonceCache` -> ``nonce_cache.add_if_absent(key, expires_at)`` (WS-Security replay cache).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ...domain.ports import DuplicateKey
from ...service_layer.unit_of_work import UnitOfWorkFactory

WORKER_FRESH_SECONDS = 30


def database_health(uow_factory: UnitOfWorkFactory) -> Callable[[], tuple[bool, dict[str, Any]]]:
    """``health_probe()``: the database answers, and a delivery worker reported recently."""

    def health_probe() -> tuple[bool, dict[str, Any]]:
        detail: dict[str, Any] = {"database": "unknown", "workers": []}
        ok = True
        try:
            with uow_factory().for_reading() as uow:
                uow.monitoring.ping()
                detail["database"] = "ok"
                beats = uow.monitoring.heartbeats_since(
                    datetime.now(UTC) - timedelta(seconds=WORKER_FRESH_SECONDS)
                )
                detail["workers"] = [
                    {"id": b.worker_id, "last_seen": b.last_seen.isoformat(), "jobs": b.jobs_done}
                    for b in beats
                ]
                if not beats:
                    ok = False
                    detail["worker"] = f"no delivery worker has reported in the last {WORKER_FRESH_SECONDS} s"
        except Exception as exc:
            ok = False
            detail["database"] = f"error: {type(exc).__name__}"
        return ok, detail

    return health_probe


GAUGES = (
    ("receipts", "Shipments stored, by their (main) ReceiptStatusCode.", "status"),
    ("forwardings", "Forwardings by SdpStatusType.", "status"),
    ("jobs", "Deliver jobs (one per forwarding to send) by status: todo, succeeded, failed.", "state"),
)


def metrics_snapshot(uow_factory: UnitOfWorkFactory) -> Callable[[], list[str]]:
    """``metrics_snapshot()``: gauges of what is stored (receipts, forwardings, jobs) and ``up``."""

    def snapshot() -> list[str]:
        lines: list[str] = []
        try:
            with uow_factory().for_reading() as uow:
                counts = uow.monitoring.counts()
            for name, help_text, label in GAUGES:
                lines += [f"# HELP innbyggerpost_{name} {help_text}", f"# TYPE innbyggerpost_{name} gauge"]
                for value, n in sorted(counts[name].items()):
                    lines.append(f'innbyggerpost_{name}{{{label}="{value}"}} {n}')
            lines += [
                "# HELP innbyggerpost_up 1 when the database answered.",
                "# TYPE innbyggerpost_up gauge",
                "innbyggerpost_up 1",
            ]
        except Exception:
            lines += ["# TYPE innbyggerpost_up gauge", "innbyggerpost_up 0"]
        return lines

    return snapshot


class DbNonceCache:
    """WS-Security nonce replay cache shared by every process through the database."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory
        self._last_purge = 0.0

    def add_if_absent(self, key: str, expires_at: float) -> bool:
        # The key is "<user>\x00<nonce>" of any length: PostgreSQL text cannot hold NUL and the column
        # is String(200), so store a fixed-length digest of it.
        key = hashlib.sha256(key.encode("utf-8")).hexdigest()
        now = datetime.now(UTC)
        with self._uow_factory() as uow:
            if time.time() - self._last_purge > 60:
                self._last_purge = time.time()
                uow.nonces.purge_expired(now)
            if not uow.nonces.remember(key, datetime.fromtimestamp(expires_at, UTC), now):
                return False
            try:
                uow.commit()
            except DuplicateKey:
                return False
            return True
