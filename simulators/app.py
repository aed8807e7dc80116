"""``innbyggerpost simulate``: the KRR simulator and the postbox-vendor simulators in one process.

Paths: ``/krr`` (oppslagstjeneste 16-02), ``/postbox/<orgnr>`` (one per vendor in the seed),
``GET /_sim/stats`` (counters as JSON), ``POST /_sim/krr`` (KRR failure injection, JSON body as
``KrrSimState.control``), ``POST /_sim/reset`` (zero the counters and queues).
One process, many threads: the simulators keep their state in memory.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .krr import krr_control, krr_state_json, make_krr_app
from .postbox import PostboxSimState, make_postbox_router
from .seed import Seed, load_seed

log = logging.getLogger("innbyggerpost.simulators")


def make_app(seed: Seed, require_signature: bool = False) -> Callable[..., Iterable[bytes]]:
    krr = make_krr_app(seed, require_signature=require_signature)
    postbox_state = PostboxSimState()
    postbox = make_postbox_router(seed, state=postbox_state)

    def json_response(
        start_response: Callable[..., Any], payload: Any, status: str = "200 OK"
    ) -> list[bytes]:
        body = json.dumps(payload, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/krr" or path.startswith("/krr/"):
            return krr(environ, start_response)
        if path.startswith("/postbox/"):
            return postbox(environ, start_response)
        if path == "/_sim/stats":
            return json_response(
                start_response, {"krr": krr_state_json(krr.state), "postbox": postbox_state.to_json()}
            )
        if path == "/_sim/krr" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
                return json_response(start_response, krr_control(krr.state, payload))
            except (ValueError, TypeError) as exc:
                return json_response(start_response, {"error": str(exc)}, "400 Bad Request")
        if path == "/_sim/reset" and method == "POST":
            krr.state.reset()
            postbox_state.reset()
            return json_response(start_response, {"reset": True})
        return json_response(start_response, {"error": f"nothing at {path}"}, "404 Not Found")

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve(host: str, port: int, seed_path: str | None = None, require_signature: bool = False) -> None:
    seed = load_seed(seed_path)
    server = make_server(host, port, make_app(seed, require_signature), _ThreadingServer, _QuietHandler)
    log.info("simulators on http://%s:%d (/krr, /postbox/<orgnr>, /_sim/stats)", host, port)

    def _stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
