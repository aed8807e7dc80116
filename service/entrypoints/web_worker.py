"""gunicorn's gthread worker with a monitoring lane: ``/health`` and ``/metrics`` never queue behind SOAP.

Why (issue 17, "Shedding that protects latency"): gthread hands every connection with a request to
one thread pool, first come first served. Under a crowd (hundreds of connections per process) that
queue holds a hundred SOAP requests, each waiting for a thread to admit or shed it, and a load
balancer's ``GET /health`` waits behind all of them: 124-558 ms under 256 connections, where it must
answer within 100 ms. :class:`WebWorker` looks at the first bytes of a request before it picks a
pool (``recv(MSG_PEEK)``, non-blocking, nothing consumed): ``GET /health`` and ``GET /metrics`` go
to a pool of their own (:data:`LANE_THREADS` threads), everything else to gthread's pool as before.

A new connection whose request has not arrived yet waits in the poller (gthread's "pending"
connections) instead of a thread, and is routed when its first bytes are there; so no thread of
either pool waits for a client to start talking. TLS connections (gunicorn's own ``certfile``; the
deployment terminates TLS in the reverse proxy, README "Deploying") cannot be peeked at and take
gthread's path unchanged.

``deploy/gunicorn.conf.py`` / :mod:`.gunicorn_conf` name this class as ``worker_class``.
"""

from __future__ import annotations

import selectors
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT, ThreadWorker

LANE_THREADS = 2
MONITORING = (b"GET /health", b"GET /metrics")
_PEEK = max(len(p) for p in MONITORING)


def is_monitoring(first: bytes) -> bool:
    """The request starts with ``GET /health`` or ``GET /metrics``."""
    return first.startswith(MONITORING)


class WebWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """See the module docstring."""

    lane: ThreadPoolExecutor | None = None

    def init_process(self) -> None:
        self.lane = ThreadPoolExecutor(max_workers=LANE_THREADS, thread_name_prefix="monitoring")
        super().init_process()

    def run(self) -> None:
        try:
            super().run()
        finally:
            if self.lane is not None:
                self.lane.shutdown(wait=False)

    def _first_bytes(self, conn: Any) -> bytes | None:
        """The request's first bytes without consuming them; None: nothing has arrived yet."""
        parser = conn.parser
        unreader = getattr(parser, "unreader", None) if parser is not None else None
        if unreader is not None:  # a keep-alive connection may hold the next request already read
            buffered = unreader.buf.getvalue()
            if buffered:
                return bytes(buffered[:_PEEK])
        if self.cfg.is_ssl or getattr(conn, "is_http2", False):
            return b""  # cannot peek: gthread's pool
        try:
            return conn.sock.recv(_PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""  # the thread finds out what is wrong

    def enqueue_req(self, conn: Any) -> None:
        """Runs on the main thread (accept, poller, finish_request): pick the pool by the first bytes."""
        first = self._first_bytes(conn)
        if first is None:
            # Nothing to read yet: wait in the poller, not in a thread (gthread's deferral, at once).
            # gthread's own deferral waits DEFAULT_WORKER_DATA_TIMEOUT in a thread first, then the
            # keep-alive time in the poller: never less than the first, even with keepalive = 0.
            conn.sock.setblocking(False)
            conn.timeout = time.monotonic() + max(self.cfg.keepalive, DEFAULT_WORKER_DATA_TIMEOUT)
            self.pending_conns.append(conn)
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
            )
            return
        pool = self.lane if self.lane is not None and is_monitoring(first) else self.tpool
        fs = pool.submit(self.handle, conn)
        fs.add_done_callback(lambda fut: self.method_queue.defer(self.finish_request, conn, fut))
