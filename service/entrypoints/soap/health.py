"""In-process health facts of the SOAP edge: the outcome of recent writes, and load shedding.

:class:`WriteOutcomes` remembers the last outcome of a storing request (``InsertCorrespondence``):
the handler table records each success and each storage failure (database unavailable, disk full,
as classified by :func:`.faults.storage_error_kind`). ``/health`` answers 503 while the last write
failed less than ``window`` seconds ago and none succeeded since, so that a load balancer takes the
process out while every write fails (full disk), and puts it back after the first success or the
window. Per process, lock-protected (gthread workers).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ... import metrics


@dataclass
class _Last:
    ok: bool
    at: float
    kind: str


class WriteOutcomes:
    """See the module docstring."""

    def __init__(self, window: float = 30.0, clock: Any = time.monotonic) -> None:
        self.window = float(window)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: _Last | None = None
        self.failures: Counter[str] = Counter()
        self.successes = 0

    def succeeded(self) -> None:
        with self._lock:
            self._last = _Last(True, self._clock(), "")
            self.successes += 1

    def failed(self, kind: str) -> None:
        with self._lock:
            self._last = _Last(False, self._clock(), kind)
            self.failures[kind] += 1
        metrics.WRITE_FAILURES.labels(kind).inc()

    def status(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, detail)`` for /health."""
        with self._lock:
            last = self._last
            failures = dict(self.failures)
        if last is None:
            return True, {"last_write": "none yet"}
        age = round(self._clock() - last.at, 1)
        if last.ok:
            return True, {"last_write": "ok", "seconds_ago": age}
        healthy = age > self.window
        return healthy, {"last_write": f"failed: {last.kind}", "seconds_ago": age, "failures": failures}
