"""Bounds on how long a slow client may hold a request thread (issue 14).

gunicorn's gthread worker reads a request's body and writes its answer on blocking sockets without a
timeout: 80 connections that declared a 1 MB body and trickled 100 bytes held every thread for as long
as they liked. Two bounds, per request:

* :func:`limit_socket` gives the connection's socket a timeout (``INNBYGGERPOST_SOCKET_TIMEOUT_SECONDS``):
  each read must receive something and each write (``sendall`` of one piece of the answer) must
  finish within it;
* :class:`BodyDeadline` bounds the whole body (``INNBYGGERPOST_REQUEST_BODY_TIMEOUT_SECONDS``): a
  client that trickles a byte just often enough to pass the socket timeout is cut off when its
  deadline passes (one watchdog thread per process shuts the socket's reading side, which ends the
  blocked read at once).

Neither replaces a buffering reverse proxy in front (README, Deploying): with one, slow clients
occupy the proxy's cheap connections, never the service's threads.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import socket
import threading
import time
from typing import Any

log = logging.getLogger(__name__)


def connection_socket(environ: dict[str, Any]) -> socket.socket | None:
    sock = environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


def limit_socket(environ: dict[str, Any], seconds: float) -> None:
    """Give the request's connection a socket timeout (gunicorn sets it back for keep-alive)."""
    sock = connection_socket(environ)
    if sock is not None and seconds > 0:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass


class Armed:
    """One armed deadline; ``fired`` says whether it cut the connection."""

    __slots__ = ("sock", "done", "fired")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.done = False
        self.fired = False


class BodyDeadline:
    """A watchdog thread that shuts the reading side of sockets whose body read outlived its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Armed]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, environ: dict[str, Any], seconds: float) -> Armed | None:
        sock = connection_socket(environ)
        if sock is None or seconds <= 0:
            return None
        armed = Armed(sock)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._counter), armed))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="body-deadline", daemon=True)
                self._thread.start()
            # The watchdog sleeps until the earliest deadline: it needs waking only when this one is
            # now the earliest (rarely: deadlines are armed in order). A notify per request cost
            # about 6 % of a web process's CPU under load (issue 17, branch hwriter's profile).
            if self._heap[0][2] is armed:
                self._cond.notify()
        return armed

    def disarm(self, armed: Armed | None) -> None:
        if armed is not None:
            with self._cond:
                armed.done = True

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait(60)
                    continue
                due, _, armed = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                armed.fired = True
            try:
                armed.sock.shutdown(socket.SHUT_RD)
            except OSError:
                log.debug("shutting a slow client's socket failed", exc_info=True)


DEADLINES = BodyDeadline()  # one watchdog per process
