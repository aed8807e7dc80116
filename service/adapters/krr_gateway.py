"""The KRR gateway: one front for every KRR look-up of a process, which batches, bounds and isolates.

- **Batching.** A look-up that finds the gateway idle (nothing queued, no call out) goes at once,
  alone: an interactive insert, or a client sending one letter after another, waits for nothing.
  A look-up that finds others queued or a call out is under load: it queues, and the queue goes as
  one ``HentPersoner`` call as soon as it holds ``batch_ready`` ids, or when its oldest look-up has
  waited ``batch_wait`` seconds, whichever comes first, and one of the ``max_concurrent_calls``
  slots is free. Under load a call so carries at least ``batch_ready`` ids (issue 17: KRR calls ≤
  ids / 5), and a look-up waits only until that many have come (at r look-ups a second per process
  about ``batch_ready`` / r seconds), never more than ``batch_wait``: the price of fewer calls, paid
  only under load. (With ``batch_wait`` alone, 0.1 s, every look-up under load waited the whole
  0.1 s: with 32 connections the bench's inserts with SdpOptions were bound to 32 / 0.15 s.) Each caller gets back only its own ids' answers; a failed call
  fails exactly the callers in it. (Before issue 17 the dispatcher slept ``batch_wait`` (5 ms) before
  every call, a lone look-up included, and then used any free slot: under the quick bench's mass
  mailing, about 80 look-ups a second per web process, calls carried 3.7 ids.)
- **Bounded.** At most ``max_concurrent_calls`` KRR calls at once per process: a slow KRR ties up
  those few gateway threads, never the request threads, which wait at most their time budget.
- **Time budget.** A caller waits at most ``time_budget`` seconds in all (queueing, the call and
  the client's own retries), then gets :class:`RegistryUnavailable`.
- **Circuit breaker.** After ``breaker_failures`` failed calls in a row the circuit opens: look-ups
  fail at once for ``breaker_cooldown`` seconds; then one probe call is let through (half-open),
  and its outcome closes or re-opens the circuit. ``state()`` is reported by ``/health``.

Letters that need no look-up never come here, so KRR's troubles never slow them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from .. import metrics
from ..domain.ports import ContactRegistry, Person, RegistryUnavailable

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open = max(1, failures)
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def record(self, ok: bool) -> None:
        with self._lock:
            self._probing = False
            if ok:
                self._failures = 0
                self._opened_at = None
                metrics.KRR_CIRCUIT_OPEN.set(0)
                return
            self._failures += 1
            if self._opened_at is not None or self._failures >= self.failures_to_open:
                if self._opened_at is None:
                    log.warning("KRR circuit opens after %d failed calls", self._failures)
                self._opened_at = self._clock()
                metrics.KRR_CIRCUIT_OPEN.set(1)


@dataclass
class _Waiter:
    ids: tuple[str, ...]
    future: Future[dict[str, Person]] = field(default_factory=Future)
    since: float = field(default_factory=time.monotonic)
    alone: bool = False  # it found the gateway idle: it goes at once


class KrrGateway:
    """A :class:`ContactRegistry` in front of another (the zeep client)."""

    def __init__(
        self,
        registry: ContactRegistry,
        *,
        batch_size: int = 1000,
        batch_wait: float = 0.1,
        batch_ready: int = 8,
        max_concurrent_calls: int = 2,
        time_budget: float = 3.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._registry = registry
        self._batch_size = max(1, min(batch_size, 1000))
        self._batch_wait = batch_wait
        self._batch_ready = max(1, min(batch_ready, self._batch_size))
        self._time_budget = time_budget
        self._max_calls = max(1, max_concurrent_calls)
        self._in_flight = 0  # calls out (under self._cond)
        self._pending_ids = 0  # ids queued (under self._cond)
        self.breaker = breaker or CircuitBreaker(5, 10.0)
        self._cond = threading.Condition()
        self._pending: list[_Waiter] = []
        self._dispatcher: threading.Thread | None = None
        self.calls = 0  # KRR calls made, ids asked (metrics, tests)
        self.ids = 0

    def state(self) -> str:
        return self.breaker.state()

    def waiting(self) -> int:
        """Look-ups queued for a call (not yet sent)."""
        with self._cond:
            return len(self._pending)

    def hent_personer(self, personidentifikatorer: Sequence[str]) -> dict[str, Person]:
        ids = tuple(dict.fromkeys(personidentifikatorer))
        if not ids:
            return {}
        if self.breaker.state() == OPEN:
            raise RegistryUnavailable("KRR circuit is open after repeated failures; not asked")
        waiter = _Waiter(ids)
        with self._cond:
            self._ensure_dispatcher()
            waiter.alone = not self._pending and self._in_flight == 0
            self._pending.append(waiter)
            self._pending_ids += len(ids)
            metrics.KRR_WAITING.inc()
            self._cond.notify()
        try:
            return waiter.future.result(timeout=self._time_budget)
        except FutureTimeout:
            waiter.future.cancel()
            raise RegistryUnavailable(
                f"KRR did not answer within the look-up time budget of {self._time_budget:g} s"
            ) from None

    # -- the dispatcher ---------------------------------------------------------------------------
    def _ensure_dispatcher(self) -> None:
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self._dispatcher = threading.Thread(target=self._dispatch, name="krr-gateway", daemon=True)
            self._dispatcher.start()

    def _take_batch(self) -> list[_Waiter]:
        """Waiters whose ids fit into one call (at least one waiter), oldest first."""
        batch: list[_Waiter] = []
        n = 0
        while self._pending:
            w = self._pending[0]
            if batch and n + len(w.ids) > self._batch_size:
                break
            self._pending.pop(0)
            self._pending_ids -= len(w.ids)
            metrics.KRR_WAITING.dec()
            if w.future.cancelled():
                continue
            batch.append(w)
            n += len(w.ids)
        return batch

    def _due(self) -> float | None:
        """Under ``self._cond``: 0 when the queued look-ups go now, else how long to wait at most
        (None: until notified)."""
        if not self._pending:
            return None
        if self._in_flight >= self._max_calls:
            return None  # every slot busy: the queue grows until a call returns
        oldest = self._pending[0]
        if oldest.alone or self._pending_ids >= self._batch_ready:
            return 0.0  # it found the gateway idle, or enough ids for a call are queued
        return max(0.0, self._batch_wait - (time.monotonic() - oldest.since))

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while (due := self._due()) != 0.0:
                    self._cond.wait(due)
                batch = self._take_batch()
                if not batch:
                    continue
                self._in_flight += 1
            threading.Thread(target=self._call, args=(batch,), name="krr-call", daemon=True).start()

    def _call(self, batch: list[_Waiter]) -> None:
        try:
            if not self.breaker.allow():
                _settle(
                    batch, error=RegistryUnavailable("KRR circuit is open after repeated failures; not asked")
                )
                return
            ids = list(dict.fromkeys(i for w in batch for i in w.ids))
            self.calls += 1
            self.ids += len(ids)
            metrics.KRR_CALLS.inc()
            metrics.KRR_IDS.inc(len(ids))
            try:
                found = self._registry.hent_personer(ids)
            except Exception as exc:  # noqa: BLE001 - every waiter of this call gets it
                self.breaker.record(False)
                _settle(
                    batch,
                    error=exc if isinstance(exc, RegistryUnavailable) else RegistryUnavailable(str(exc)),
                )
                return
            self.breaker.record(True)
            _settle(batch, found=found)
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()


def _settle(
    batch: list[_Waiter], found: dict[str, Person] | None = None, error: Exception | None = None
) -> None:
    """Answer every waiter of a call with its own ids' persons, or the call's error."""
    for w in batch:
        try:
            if error is not None:
                w.future.set_exception(error)
            else:
                assert found is not None
                w.future.set_result({i: found[i] for i in w.ids if i in found})
        except InvalidStateError:  # the waiter gave up (time budget) meanwhile
            pass
