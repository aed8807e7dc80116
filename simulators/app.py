"""``innbyggerpost simulate``: the simulators of the national services in one process.

Paths: ``/dpi/`` (the DPI access point with the postbox vendors behind it: ``dpi.py``; ``POST
/_sim/dpi/receipt`` queues a receipt by hand), ``/maskinporten/`` (token endpoint, metadata, JWKS: ``maskinporten.py``; issuer
``<base>/maskinporten/``, test PKI in ``pki_dir``), ``POST /_sim/maskinporten`` (its control),
``/kontaktregisteret/rest/v2/...`` (KRR REST, ``krr_rest.py``; the same state as the SOAP one),
``/krr`` (oppslagstjeneste 16-02),
``GET /_sim/stats`` (counters as JSON), ``POST /_sim/krr`` (KRR failure injection, JSON body as
``KrrSimState.control``), ``POST /_sim/reset`` (zero the counters and queues); the notification
simulators' routes (``/sms``, ``/_sim/outbox``, ...) are in ``notify.py``.

Server: waitress, a threaded HTTP/1.1 server with keep-alive (persistent connections), in ONE
process, so the simulators' in-memory state (counters, de-duplication, receipt queues) is shared
by every thread. A pool of ``threads`` application threads: slow answers (KRR ``slow`` mode, a
seeded ``delay_seconds``) hold one thread each, so the pool is sized well above the service's
concurrency. ``/_sim/stats`` reports ``http``: TCP connections accepted and requests served, per
area (``krr``, ``dpi``, ``maskinporten``, ``sim``, ...), so tests and the benchmark can see that clients reuse their
connections.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .dpi import DpiSimulator
from .krr import krr_control, krr_state_json, make_krr_app
from .krr_rest import make_krr_rest_app
from .maskinporten import make_maskinporten_app
from .notify import handles as notify_handles
from .notify import make_notify_app
from .pki import TestPki
from .seed import Seed, load_seed

#: where the test PKI lives unless told otherwise (INNBYGGERPOST_SIM_PKI_DIR, simulate --pki-dir)
DEFAULT_PKI_DIR = "var/test-pki"

log = logging.getLogger("innbyggerpost.simulators")

#: application threads of the simulator server (slow answers each hold one)
DEFAULT_THREADS = 64


class HttpStats:
    """Connections accepted by the server and requests per area (thread-safe).

    ``connections_accepted`` is counted by the server on every TCP accept; per area the distinct
    client peers (address and port) that sent requests there are counted, which is how many
    connections the clients of that area used (as long as the ephemeral ports are not recycled).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted = 0
        self._requests: dict[str, int] = {}
        self._peers: dict[str, set[str]] = {}

    def accepted(self) -> None:
        with self._lock:
            self._accepted += 1

    def request(self, area: str, environ: dict[str, Any]) -> None:
        peer = f"{environ.get('REMOTE_ADDR', '?')}:{environ.get('REMOTE_PORT', '?')}"
        with self._lock:
            self._requests[area] = self._requests.get(area, 0) + 1
            self._peers.setdefault(area, set()).add(peer)

    def reset(self) -> None:
        with self._lock:
            self._accepted = 0
            self._requests.clear()
            self._peers.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "connections_accepted": self._accepted,
                "requests": dict(self._requests),
                "connections": {area: len(peers) for area, peers in self._peers.items()},
            }


def _area(path: str) -> str:
    if path == "/krr" or path.startswith("/krr/"):
        return "krr"
    if path.startswith("/altinn3/"):
        return "altinn3"
    if path == "/maskinporten" or path.startswith("/maskinporten/"):
        return "maskinporten"
    if path.startswith("/dpi/"):
        return "dpi"
    if path.startswith("/kontaktregisteret/"):
        return "kontaktregisteret"
    return "sim"


def make_app(
    seed: Seed,
    require_signature: bool = False,
    http_stats: HttpStats | None = None,
    pki_dir: str | None = None,
) -> Callable[..., Iterable[bytes]]:
    pki = TestPki(pki_dir or DEFAULT_PKI_DIR)
    krr = make_krr_app(seed, require_signature=require_signature)
    maskinporten = make_maskinporten_app(seed.maskinporten_clients, pki)
    dpi = DpiSimulator(seed, pki)  # the DPI access point with the postbox vendors behind it
    krr_rest = make_krr_rest_app(seed, pki, state=krr.state)  # one KRR state: /_sim/krr drives both
    krr.certificate_of = krr_rest.certificate_of  # and the same postbox certificates
    http = http_stats or HttpStats()
    notify = make_notify_app()  # SMS gateway /sms, /_sim/outbox(.json), /_sim/smtp, /_sim/sms
    altinn3 = _altinn3(seed, pki_dir)  # Altinn 3 Correspondence /altinn3/... (simulators/altinn3.py)

    def json_response(
        start_response: Callable[..., Any], payload: Any, status: str = "200 OK"
    ) -> list[bytes]:
        body = json.dumps(payload, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        area = _area(path)
        http.request(area, environ)
        if area == "krr":
            return krr(environ, start_response)
        if area == "altinn3":
            if altinn3 is None:
                return json_response(
                    start_response, {"error": "altinn3 simulator not loaded"}, "503 Service Unavailable"
                )
            return altinn3(environ, start_response)
        if area == "maskinporten":
            return maskinporten(environ, start_response)
        if area == "dpi":
            return dpi({**environ, "PATH_INFO": path[len("/dpi") :]}, start_response)
        if path.startswith("/_sim/dpi/"):
            return dpi(
                {**environ, "PATH_INFO": path[len("/_sim/dpi") :].replace("/", "/_sim/", 1)}, start_response
            )
        if area == "kontaktregisteret":
            return krr_rest(environ, start_response)
        if notify_handles(path):
            return notify(environ, start_response)
        if path == "/_sim/stats":
            return json_response(
                start_response,
                {
                    "krr": krr_state_json(krr.state),
                    "http": http.to_json(),
                    "maskinporten": maskinporten.state.to_json(),
                    "dpi": dpi.state.to_json(),
                },
            )
        if path == "/_sim/krr" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
                return json_response(start_response, krr_control(krr.state, payload))
            except (ValueError, TypeError) as exc:
                return json_response(start_response, {"error": str(exc)}, "400 Bad Request")
        if path == "/_sim/maskinporten" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
                return json_response(start_response, maskinporten.state.control(payload))
            except (ValueError, TypeError) as exc:
                return json_response(start_response, {"error": str(exc)}, "400 Bad Request")
        if path == "/_sim/reset" and method == "POST":
            krr.state.reset()
            maskinporten.state.control({"reset": True})
            dpi.state.reset()
            if altinn3 is not None:
                altinn3.state.reset()
            http.reset()
            return json_response(start_response, {"reset": True})
        return json_response(start_response, {"error": f"nothing at {path}"}, "404 Not Found")

    return app


def _altinn3(seed: Seed, pki_dir: str | None) -> Any:
    """The Altinn 3 simulator, or None (logged) when its contract file or the test PKI is missing."""
    from .altinn3 import make_altinn3_app

    try:
        reserved = [pid for pid, p in seed.persons.items() if p.reservasjon == "JA"]
        return make_altinn3_app(pki_dir or DEFAULT_PKI_DIR, reserved)
    except Exception as exc:
        log.warning("Altinn 3 simulator not started: %s", exc)
        return None


def make_server(
    host: str,
    port: int,
    app: Callable[..., Iterable[bytes]],
    http_stats: HttpStats | None = None,
    threads: int = DEFAULT_THREADS,
) -> Any:
    """A waitress server (HTTP/1.1, keep-alive, ``threads`` application threads) for ``app``.

    ``server.run()`` serves until SIGTERM/SIGINT (``serve``) or ``server.close()``; the bound port
    is ``server.effective_port`` (``port=0`` picks a free one). Every accepted TCP connection is
    counted in ``http_stats``.
    """
    from waitress.channel import HTTPChannel
    from waitress.server import create_server

    stats = http_stats

    class _CountingChannel(HTTPChannel):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if stats is not None:
                stats.accepted()

    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=2000,
        backlog=1024,
        channel_timeout=300,  # idle keep-alive connections are closed after this
        asyncore_use_poll=True,  # no select() limit on descriptors
        ident="innbyggerpost-simulators",
        clear_untrusted_proxy_headers=True,
    )
    server.channel_class = _CountingChannel
    return server


def serve(
    host: str,
    port: int,
    seed_path: str | None = None,
    require_signature: bool = False,
    threads: int = DEFAULT_THREADS,
    pki_dir: str | None = None,
) -> None:
    seed = load_seed(seed_path)
    http_stats = HttpStats()
    # waitress warns about every momentary queue of requests: noise under load, not an error
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = make_app(seed, require_signature, http_stats, pki_dir)
    server = make_server(host, port, app, http_stats, threads)
    log.info(
        "simulators on http://%s:%d (/maskinporten/, /kontaktregisteret/, /krr, /dpi/, /_sim/stats; HTTP/1.1 keep-alive, %d threads)",
        host,
        server.effective_port,
        threads,
    )

    def _stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)  # waitress's loop closes its sockets and stops its threads on SystemExit

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run()
    finally:
        server.close()
