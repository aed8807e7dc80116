"""CachedProbe (issue 17): /health answers the latest database probe without a round trip of its own,
and says so when the probe stops answering."""

from __future__ import annotations

import threading
from typing import Any

from service.entrypoints.soap.health import CachedProbe
from tests.support.harness import wait_until


class _Probe:
    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.release.set()

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        self.release.wait()
        self.calls += 1
        return True, {"database": "ok", "call": self.calls}


def test_the_first_answer_is_a_fresh_probe_and_later_ones_do_not_each_query() -> None:
    probe = _Probe()
    cached = CachedProbe(probe, interval=5.0)
    ok, detail = cached()
    assert ok and detail["database"] == "ok" and detail["call"] == 1
    for _ in range(50):
        ok, detail = cached()
    assert ok and probe.calls == 1 and detail["checked_seconds_ago"] < 5.0


def test_refreshed_in_the_background_while_asked() -> None:
    probe = _Probe()
    cached = CachedProbe(probe, interval=0.05)
    cached()
    wait_until(lambda: cached()[1]["call"] >= 3, 10, "the probe refreshed in the background")


def test_a_probe_that_stops_answering_turns_health_red_without_hanging() -> None:
    probe = _Probe()
    cached = CachedProbe(probe, interval=0.05, stale_after=0.5)
    assert cached()[0]
    probe.release.clear()  # the database stops answering: the probe hangs
    try:
        wait_until(lambda: not cached()[0], 10, "health red while the probe hangs")
        ok, detail = cached()
        assert not ok and detail["database"].startswith("no answer for"), detail
    finally:
        probe.release.set()
    wait_until(lambda: cached()[0], 10, "healthy again once the probe answers")
