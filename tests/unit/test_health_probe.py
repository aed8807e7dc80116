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


def test_a_late_refresh_is_not_waited_for() -> None:
    # Under a crowd a probe may take seconds: /health answers the result it has, with its age.
    probe = _Probe()
    cached = CachedProbe(probe, interval=0.05, stale_after=5.0)
    assert cached()[0]
    probe.release.clear()  # the next refresh is slow
    try:
        answers: list[tuple[bool, dict[str, Any]]] = []

        def aged() -> bool:
            answers.append(cached())
            return answers[-1][1].get("checked_seconds_ago", 0) >= 0.5

        wait_until(aged, 4, "an answer from a result older than ten refresh intervals", interval=0.05)
        assert all(ok for ok, _ in answers), answers[-1]
    finally:
        probe.release.set()


def test_started_before_the_first_question() -> None:
    probe = _Probe()
    cached = CachedProbe(probe, interval=60.0, stale_after=5.0)
    cached.start()
    wait_until(lambda: probe.calls == 1, 10, "the first probe taken at start")
    probe.release.clear()  # from now on the database does not answer
    try:
        ok, detail = cached()  # answered from the result taken at start, without waiting
        assert ok and detail["call"] == 1, detail
    finally:
        probe.release.set()
