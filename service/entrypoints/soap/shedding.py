"""Load shedding: a bound on SOAP requests per web process, beyond it an immediate busy fault.

Why: under gunicorn's gthread worker a request waits in the worker's queue until one of its threads
is free; with no bound, a crowd (or a slow KRR holding every thread) makes every request, and
``/health``, wait into client time-outs. :class:`AdmissionGate` admits at most ``limit`` SOAP POSTs
at once (``INNBYGGERPOST_MAX_PENDING_REQUESTS``); one more is answered at once, before its body is
parsed, with the busy AltinnFault (nothing stored, retry with the same ExternalShipmentReference is
safe) and ``Retry-After`` (HTTP 503 on the SOAP 1.2 endpoint, 500 on SOAP 1.1: see
:func:`.faults.fault_response`).

The gate bounds bytes too (``INNBYGGERPOST_MAX_PENDING_REQUEST_BYTES``, issue 17): a request is charged
its declared ``Content-Length`` (a body without one, chunked, is charged ``INNBYGGERPOST_MAX_REQUEST_BYTES``:
the most the guard will read), and one that would take the bytes in flight past the bound gets the
same busy fault, decided before a byte of its body is read. A request is never charged more than the
bound, so one letter of the largest size still gets in when few bytes are in flight. This bounds
what a web process holds for request bodies (the body, its tree, the decoded attachments: about
three times the body) whatever the mix of sizes, where the count alone lets 32 letters of 30 MiB in.

Refusing costs next to nothing (issue 17): the busy fault of each endpoint is rendered once, and a
refusal only splices a fresh ``ErrorGuid`` into those bytes; the refusals are logged as one line
per :data:`LOG_EVERY_SECONDS` with their count and the first refusal's ``ErrorGuid`` (a crowd of
thousands would otherwise cost a log line each), and the body is never read.

``/health``, ``/metrics`` and ``?wsdl`` never pass the gate, and ``deploy/gunicorn.conf.py`` runs
:data:`RESERVED_THREADS` threads more than the gate admits, so that there is always a free thread
to shed (and to answer ``?wsdl``) while every admitted SOAP request is busy. ``/health`` and
``/metrics`` do not even share that pool: the worker class (:mod:`service.entrypoints.web_worker`)
serves them from threads of their own, so that they never queue behind SOAP requests waiting to be
admitted or shed (issue 17).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ... import metrics
from .faults import SoapVersion, busy_fault, fault_response

logger = logging.getLogger(__name__)

RESERVED_THREADS = 2
RETRY_AFTER_SECONDS = 2
LOG_EVERY_SECONDS = 1.0

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def soap_admission_limit(settings: Any) -> int:
    """SOAP requests a web process admits at once: ``max_pending_requests``, else ``web_threads``."""
    return int(settings.max_pending_requests or settings.web_threads)


def gunicorn_threads(settings: Any) -> int:
    """Threads per gunicorn worker: the admitted SOAP requests plus :data:`RESERVED_THREADS`."""
    return max(int(settings.web_threads), soap_admission_limit(settings)) + RESERVED_THREADS


class AdmissionGate:
    """Counts SOAP requests in flight; :meth:`try_enter` is non-blocking."""

    def __init__(self, limit: int, byte_limit: int = 0) -> None:
        if limit < 1:
            raise ValueError("the request bound must be at least 1")
        self.limit = int(limit)
        self.byte_limit = max(0, int(byte_limit))  # 0: no bound on bytes
        self._lock = threading.Lock()
        self.in_flight = 0
        self.bytes_in_flight = 0
        self.peak = 0
        self.peak_bytes = 0
        self.shed = 0
        self.shed_for_bytes = 0
        self.admitted = 0

    def charge(self, size: int) -> int:
        """What a request of ``size`` declared bytes is charged (never more than the bound)."""
        return min(size, self.byte_limit) if self.byte_limit else size

    def try_enter(self, size: int = 0) -> bool:
        """Admit one request charged ``size`` bytes (from :meth:`charge`); False: shed it."""
        with self._lock:
            too_many = self.in_flight >= self.limit
            too_big = bool(self.byte_limit) and self.bytes_in_flight + size > self.byte_limit
            if too_many or too_big:
                self.shed += 1
                self.shed_for_bytes += int(too_big and not too_many)
                metrics.SOAP_SHED.inc()
                return False
            self.in_flight += 1
            self.bytes_in_flight += size
            metrics.SOAP_IN_FLIGHT.inc()
            self.admitted += 1
            self.peak = max(self.peak, self.in_flight)
            self.peak_bytes = max(self.peak_bytes, self.bytes_in_flight)
            return True

    def leave(self, size: int = 0) -> None:
        with self._lock:
            self.in_flight -= 1
            self.bytes_in_flight -= size
        metrics.SOAP_IN_FLIGHT.dec()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "limit": self.limit,
                "in_flight": self.in_flight,
                "peak": self.peak,
                "admitted": self.admitted,
                "shed": self.shed,
                "byte_limit": self.byte_limit,
                "bytes_in_flight": self.bytes_in_flight,
                "peak_bytes": self.peak_bytes,
                "shed_for_bytes": self.shed_for_bytes,
            }


class Shedding:
    """WSGI middleware: POSTs pass ``gate`` or get the busy fault of ``soap_version``."""

    def __init__(
        self, app: WsgiApp, gate: AdmissionGate, soap_version: SoapVersion, max_request_bytes: int = 0
    ) -> None:
        self.app = app
        self.gate = gate
        self.soap_version: SoapVersion = soap_version
        self.max_request_bytes = max_request_bytes  # what a body without Content-Length is charged
        template = busy_fault()
        self._guid = template.error_guid.encode()
        self._status, self._headers, self._body = fault_response(
            soap_version, template, busy_retry_after=RETRY_AFTER_SECONDS
        )
        self._log_lock = threading.Lock()
        self._next_log = 0.0
        self._unlogged = 0

    def _refuse(self, environ: dict[str, Any], start_response: StartResponse, size: int) -> list[bytes]:
        guid = str(uuid.uuid4())
        with self._log_lock:
            self._unlogged += 1
            now = time.monotonic()
            due = now >= self._next_log
            if due:
                count, self._unlogged, self._next_log = self._unlogged, 0, now + LOG_EVERY_SECONDS
        if due:
            logger.warning(
                "busy: %d SOAP requests (%d bytes) in flight; shed %d request(s) since the last such line,"
                " this one of %d bytes from %s",
                self.gate.in_flight,
                self.gate.bytes_in_flight,
                count,
                size,
                environ.get("REMOTE_ADDR", "?"),
                extra={"error_guid": guid},
            )
        start_response(self._status, self._headers)
        return [self._body.replace(self._guid, guid.encode(), 1)]

    def _declared(self, environ: dict[str, Any]) -> int:
        try:
            size = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            size = -1
        return size if size >= 0 else self.max_request_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() != "POST":
            return self.app(environ, start_response)
        size = self.gate.charge(self._declared(environ))
        if not self.gate.try_enter(size):
            return self._refuse(environ, start_response, size)
        try:
            # RequestGuard buffers the whole response, so the work is done when this returns.
            return list(self.app(environ, start_response))
        finally:
            self.gate.leave(size)
