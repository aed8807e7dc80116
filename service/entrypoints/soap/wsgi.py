"""WSGI routing of the web process: both SOAP endpoints, their WSDLs, ``/health``, ``/metrics``, and
mounted applications (the inbox at ``/inbox/``).

No composition and no SQL here: :func:`.app.make_app` builds the SOAP applications and passes them
in together with two narrow probes (``health_probe()`` and ``metrics_snapshot()``, today in
:mod:`.probes`) and the in-process facts (:class:`~.health.WriteOutcomes`,
:class:`~.shedding.AdmissionGate`, :class:`~.tolerance.UnknownElements`).

``/health`` (JSON): 200 when the database answers, a delivery worker reported recently and the last
write did not fail recently; else 503 with the reason. ``/health`` and ``/metrics`` never pass the
SOAP admission gate (see :mod:`.shedding`).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ... import metrics
from ..client_address import ENVIRON_CLIENT
from ..slow_clients import limit_socket
from .health import WriteOutcomes
from .shedding import AdmissionGate
from .tolerance import UnknownElements
from .wsdl import render_wsdl

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
HealthProbe = Callable[[], tuple[bool, dict[str, Any]]]
MetricsSnapshot = Callable[[], list[str]]

NOT_FOUND = (
    b"not found: the SOAP endpoints are /ServiceEngineExternal/CorrespondenceAgencyExternal[Basic].svc\n"
)


@dataclass(frozen=True)
class Endpoint:
    variant: str  # "basic" | "ws"
    app: WsgiApp  # the guarded spyne application


def _respond(start_response: StartResponse, status: str, content_type: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


# HTTP methods that get a metrics series of their own; any other is counted as "other" (issue 14:
# every invented method name must not become a new series).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class Root:
    """Routes by path; see the module docstring."""

    def __init__(
        self,
        public_url: str,
        endpoints: dict[str, Endpoint],
        *,
        health_probe: HealthProbe,
        metrics_snapshot: MetricsSnapshot,
        writes: WriteOutcomes,
        gate: AdmissionGate,
        unknown_elements: UnknownElements,
        krr: Any = None,
        client_address: Callable[[dict[str, Any]], str | None] | None = None,
        monitoring_token: str = "",
        socket_timeout: float = 0.0,
    ) -> None:
        self.public_url = public_url
        self.endpoints = endpoints  # path -> endpoint
        self.health_probe = health_probe
        self.metrics_snapshot = metrics_snapshot
        self.writes = writes
        self.gate = gate
        self.unknown_elements = unknown_elements
        self.krr = krr  # the KRR gateway (circuit state, counters), when there is one
        self.mounts: dict[str, WsgiApp] = {}  # path prefix -> WSGI app (/inbox)
        self.client_address = client_address or (lambda environ: environ.get("REMOTE_ADDR"))
        self._monitoring_token = monitoring_token.encode()
        self.socket_timeout = socket_timeout

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        environ[ENVIRON_CLIENT] = self.client_address(environ)
        limit_socket(environ, self.socket_timeout)  # every read and write of this request (slow clients)
        target = self.endpoints.get(path) or self.endpoints.get(path.rstrip("/"))
        if target is not None:
            metrics.HTTP_REQUESTS.labels(target.variant, method_label(method)).inc()
            if method == "GET":
                return self._wsdl(target.variant, environ, start_response)
            return target.app(environ, start_response)
        for prefix, mounted in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                return mounted(environ, start_response)
        if path in ("/health", "/metrics") and method == "GET":
            if not self._monitoring_allowed(environ):
                start_response(
                    "401 Unauthorized",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("WWW-Authenticate", "Bearer"),
                        ("Content-Length", "13"),
                    ],
                )
                return [b"unauthorized\n"]
            return self._health(start_response) if path == "/health" else self._metrics(start_response)
        return _respond(start_response, "404 Not Found", "text/plain; charset=utf-8", NOT_FOUND)

    def _monitoring_allowed(self, environ: dict[str, Any]) -> bool:
        """``INNBYGGERPOST_MONITORING_TOKEN`` set: /health and /metrics need ``Authorization: Bearer``."""
        if not self._monitoring_token:
            return True
        given = str(environ.get("HTTP_AUTHORIZATION") or "").encode("latin-1", "replace")
        return hmac.compare_digest(given, b"Bearer " + self._monitoring_token)

    def _wsdl(self, variant: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "").lower()
        if query.split("=", 1)[0] not in ("wsdl", "singlewsdl"):
            body = b"append ?wsdl or ?singleWsdl for the service description\n"
            return _respond(start_response, "200 OK", "text/plain; charset=utf-8", body)
        return _respond(
            start_response, "200 OK", "text/xml; charset=utf-8", render_wsdl(variant, self.public_url)
        )

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        ok, detail = self.health_probe()
        if self.krr is not None:
            # Reported, not a reason for 503: letters without a KRR look-up are still accepted.
            detail["krr_circuit"] = self.krr.state()
        writes_ok, detail["writes"] = self.writes.status()
        if not writes_ok:
            ok = False
            detail["write"] = "recent writes failed: nothing can be stored right now"
        detail["soap"] = self.gate.snapshot()
        detail["status"] = "ok" if ok else "unhealthy"
        body = json.dumps(detail).encode()
        return _respond(
            start_response, "200 OK" if ok else "503 Service Unavailable", "application/json", body
        )

    def _metrics(self, start_response: StartResponse) -> Iterable[bytes]:
        # Counters of every gunicorn process (prometheus-client multiprocess files), then the
        # stored gauges read from the database now.
        body = metrics.exposition() + ("\n".join(self.metrics_snapshot()) + "\n").encode()
        return _respond(start_response, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
