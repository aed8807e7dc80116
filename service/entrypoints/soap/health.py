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


Probe = Any  # Callable[[], tuple[bool, dict[str, Any]]]


class CachedProbe:
    """``/health``'s database probe without a database round trip per request (issue 17).

    A load balancer probes every few seconds; under a crowd, the probe's ``SELECT`` on a pooled
    connection queued behind the admitted requests' group commits and made ``/health`` late. Here
    one background thread runs ``probe()`` (:func:`.probes.database_health`) every ``interval``
    seconds while ``/health`` is being asked (it rests after ``idle_after`` seconds without a
    question, so an idle process does not query its database for nobody), and each call answers
    the latest result at once with its age (``detail["checked_seconds_ago"]``).

    - A call never waits for the database while a result younger than ``stale_after`` is there,
      even when the refresh is late (under a crowd a probe can take seconds).
    - The web process starts the thread when it starts serving (:meth:`start`, from ``make_app``),
      so that a result is there before the first question; the first call of a process that was
      not started so, or after a rest with a result older than ``stale_after``, waits for a fresh
      result, at most ``stale_after`` seconds.
    - A result older than ``stale_after`` while the thread is refreshing (the probe hangs: a paused
      database, an exhausted pool) answers unhealthy, ``database: "no answer for N s"``, at once
      instead of hanging ``/health``.
    """

    def __init__(
        self,
        probe: Probe,
        interval: float = 1.0,
        stale_after: float = 10.0,
        idle_after: float = 60.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.probe = probe
        self.interval = float(interval)
        self.stale_after = float(stale_after)
        self.idle_after = float(idle_after)
        self._clock = clock
        self._cond = threading.Condition()
        self._result: tuple[bool, dict[str, Any]] | None = None
        self._at = 0.0  # when the result was taken
        self._asked = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start refreshing now, as if asked (the web process, once it serves: ``make_app``)."""
        with self._cond:
            self._asked = self._clock()
            self._start()

    def _start(self) -> None:
        # In the process that serves (gunicorn forks its workers before make_app); with the lock held.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            result = self.probe()
            with self._cond:
                self._result, self._at = result, self._clock()
                self._cond.notify_all()
                # Rest while nobody asks; otherwise refresh every interval.
                while self._clock() - self._asked > self.idle_after:
                    self._cond.wait()
                self._cond.wait(self.interval)

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        with self._cond:
            now = self._clock()
            resting = now - self._asked > self.idle_after
            self._asked = now
            self._start()
            if resting:
                self._cond.notify_all()
            if self._result is None or (resting and now - self._at > self.stale_after):
                taken = self._at
                self._cond.wait_for(lambda: self._at != taken, timeout=self.stale_after)
            result, at = self._result, self._at
            age = self._clock() - at
        if result is None or age > self.stale_after:
            return False, {"database": f"no answer for {age:.0f} s" if result else "no answer yet"}
        ok, detail = result
        return ok, {**detail, "checked_seconds_ago": round(age, 1)}
