"""Prometheus metrics with prometheus-client, in its multiprocess mode under gunicorn.

gunicorn runs several processes; each one writes its counters to files in
``INNBYGGERPOST_METRICS_DIR`` (prometheus-client's ``PROMETHEUS_MULTIPROC_DIR``, set by
``gunicorn_conf.py`` before the workers start), and ``/metrics``, answered by any process, adds
them all up. Outside gunicorn (tests in one process, tools) the values simply live in memory.

The counts from the database (receipts, forwardings, jobs) are read when ``/metrics`` is asked
(``soap/probes.py``) and appended as gauges.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, multiprocess

HTTP_REQUESTS = Counter("innbyggerpost_http_requests", "SOAP endpoint requests.", ["variant", "method"])
SOAP_SHED = Counter("innbyggerpost_soap_shed", "SOAP requests answered with the busy fault (load shedding).")
SOAP_IN_FLIGHT = Gauge(
    "innbyggerpost_soap_in_flight", "SOAP requests in progress.", multiprocess_mode="livesum"
)
UNKNOWN_ELEMENTS = Counter(
    "innbyggerpost_soap_unknown_elements",
    "Request elements the contract does not know, ignored.",
    ["element"],
)
CLIENT_SHAPES = Counter(
    "innbyggerpost_soap_client_shapes",
    "Requests taken in a shape the contract does not allow but whose meaning is unambiguous (node-soap's).",
    ["shape"],
)
WRITE_FAILURES = Counter(
    "innbyggerpost_write_failures", "Storing requests that failed on the database, by kind.", ["kind"]
)
LOGIN_REFUSED = Counter(
    "innbyggerpost_login_refused", "Logins refused at once by the throttle (no hash computed)."
)
KRR_CALLS = Counter("innbyggerpost_krr_calls", "HentPersoner calls made by the KRR gateways.")
KRR_IDS = Counter("innbyggerpost_krr_ids", "Ids looked up in those calls.")
KRR_WAITING = Gauge(
    "innbyggerpost_krr_waiting", "Look-ups waiting for a KRR call.", multiprocess_mode="livesum"
)
MASKINPORTEN_TOKENS = Counter(
    "innbyggerpost_maskinporten_token_requests",
    "Token requests sent to Maskinporten, by outcome (issued, refused, unavailable).",
    ["outcome"],
)
KRR_CIRCUIT_OPEN = Gauge(
    "innbyggerpost_krr_circuit_open",
    "1 while a process's KRR circuit breaker is open.",
    multiprocess_mode="livemax",
)


def exposition() -> bytes:
    """Every process's metrics in the Prometheus text format."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)
