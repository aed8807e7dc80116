"""The body deadline's watchdog (``entrypoints/slow_clients.py``) is woken only when a new deadline
is the earliest; a deadline armed after a later one still fires on time, and later ones in order."""

from __future__ import annotations

import socket

from service.entrypoints.slow_clients import BodyDeadline
from tests.support.harness import wait_until


def test_an_earlier_deadline_armed_after_a_later_one_fires_first() -> None:
    deadlines = BodyDeadline()
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        late = deadlines.arm({"gunicorn.socket": pairs[0][0]}, 60)
        wait_until(lambda: deadlines._thread is not None and deadlines._thread.is_alive(), 5, "watchdog")
        soon = deadlines.arm({"gunicorn.socket": pairs[1][0]}, 0.05)  # now the earliest: wakes it
        after = deadlines.arm({"gunicorn.socket": pairs[2][0]}, 0.1)  # not the earliest: no wake-up
        assert late is not None and soon is not None and after is not None
        wait_until(lambda: soon.fired and after.fired, 5, "the short deadlines fired")
        assert pairs[1][0].recv(1) == b""  # its reading side was shut: the body read ends
        assert not late.fired
        deadlines.disarm(late)
    finally:
        for a, b in pairs:
            a.close()
            b.close()
