"""The WSGI application: both SOAP endpoints, their WSDLs, /health and /metrics.

``make_app()`` is what gunicorn serves (``deploy/gunicorn.conf.py``). Per endpoint the request
passes the :class:`~.guard.RequestGuard` (size, content type, XML, DTD checks) and then spyne
(``validator='lxml'``) with the Altinn fault protocols. The WSDL served is the project's golden copy
with the configured public address (``wsdlgen.render_wsdl``).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import spyne.const
from spyne import Application
from spyne.server.wsgi import WsgiApplication
from sqlalchemy.exc import IntegrityError

from ...config import Settings
from ...domain.ports import ContactRegistry
from ...service_layer.owners import Authenticator, Principal
from ...service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory
from ..inbox import make_inbox_app
from . import wssecurity
from .addressing import WsAddressingSoap12
from .faults import (
    ERROR_SYSTEM_AUTHENTICATION_FAILED,
    AltinnFaultError,
    AltinnSoap11,
    configure_spyne_logging,
)
from .guard import RequestGuard
from .operations import VARIANTS, route_by_request_element
from .services import Context, build_service

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]


class DbNonceCache:
    """WS-Security nonce replay cache shared by every process through the database."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory
        self._last_purge = 0.0

    def add_if_absent(self, key: str, expires_at: float) -> bool:
        # The key is "<user>\x00<nonce>" of any length: PostgreSQL text cannot hold NUL and the column
        # is String(200), so store a fixed-length digest of it.
        key = hashlib.sha256(key.encode("utf-8")).hexdigest()
        now = datetime.now(UTC)
        with self._uow_factory() as uow:
            if time.time() - self._last_purge > 60:
                self._last_purge = time.time()
                uow.nonces.purge_expired(now)
            if not uow.nonces.remember(key, datetime.fromtimestamp(expires_at, UTC), now):
                return False
            try:
                uow.commit()
            except IntegrityError:
                return False
            return True


def _ws_authenticator(
    settings: Settings, auth: Authenticator, nonces: wssecurity.NonceCache
) -> Callable[[Any], Principal]:
    def authenticate(ctx: Any) -> Principal:
        envelope = ctx.transport.req_env.get("innbyggerpost.envelope")
        if envelope is None:
            raise AltinnFaultError(
                ERROR_SYSTEM_AUTHENTICATION_FAILED, "System authentication failed", client=True
            )
        principals: dict[str, Principal] = {}

        client = ctx.transport.req_env.get("REMOTE_ADDR")

        def check_password(user: str, password: str) -> bool:
            p = auth.check_password(user, password, client)
            if p is not None:
                principals[user] = p
            return p is not None

        def digest_secret(user: str) -> str | None:
            found = auth.digest_secret(user)
            if found is None:
                # An unknown user must look like a wrong password, not like "digest not enabled".
                return None if auth.principal(user) is not None else secrets.token_hex(16)
            principals[user] = found[1]
            return found[0]

        username = wssecurity.verify_username_token(
            envelope,
            check_password=check_password,
            nonce_cache=nonces,
            max_age_seconds=settings.wsse_max_age_seconds,
            require_nonce_created=settings.wsse_require_nonce_created,
            lookup_digest_secret=digest_secret,
        )
        return principals.get(username) or _must(auth.principal(username))

    return authenticate


def _must(p: Principal | None) -> Principal:
    if p is None:
        raise AltinnFaultError(
            ERROR_SYSTEM_AUTHENTICATION_FAILED, "System authentication failed", client=True
        )
    return p


class Root:
    """Routes by path: the two SOAP endpoints (POST, ?wsdl), /health, /metrics."""

    def __init__(
        self,
        settings: Settings,
        uow_factory: Callable[[], UnitOfWork],
        soap: dict[str, Any],
        krr: Any = None,
        throttle: Any = None,
    ) -> None:
        self.settings = settings
        self.throttle = throttle  # the login throttle (quick refusals are counted)
        self.krr = krr  # the KRR gateway (circuit state, counters), when there is one
        self.uow_factory = uow_factory
        self.soap = soap  # path -> (variant key, guarded spyne app)
        self.started = time.time()
        self.requests: dict[tuple[str, str], int] = {}
        self.mounts: dict[str, Callable[..., Iterable[bytes]]] = {}  # path prefix -> WSGI app (/inbox)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        target = self.soap.get(path) or self.soap.get(path.rstrip("/"))
        if target is not None:
            variant, app = target
            key = (variant, method)
            self.requests[key] = self.requests.get(key, 0) + 1
            if method == "GET":
                return self._wsdl(variant, environ, start_response)
            return app(environ, start_response)
        for prefix, mounted in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                return mounted(environ, start_response)
        if path == "/health" and method == "GET":
            return self._health(start_response)
        if path == "/metrics" and method == "GET":
            return self._metrics(start_response)
        body = b"not found: the SOAP endpoints are /ServiceEngineExternal/CorrespondenceAgencyExternal[Basic].svc\n"
        start_response(
            "404 Not Found",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _wsdl(self, variant: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from .wsdlgen import render_wsdl

        query = environ.get("QUERY_STRING", "").lower()
        if query.split("=", 1)[0] not in ("wsdl", "singlewsdl"):
            body = b"append ?wsdl or ?singleWsdl for the service description\n"
            start_response(
                "200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
            )
            return [body]
        body = render_wsdl(variant, self.settings.public_url)
        start_response(
            "200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        detail: dict[str, Any] = {"database": "unknown", "workers": []}
        if self.krr is not None:
            # Reported, not a reason for 503: letters without a KRR look-up are still accepted.
            detail["krr_circuit"] = self.krr.state()
        ok = True
        try:
            with self.uow_factory().for_reading() as uow:
                uow.monitoring.ping()
                detail["database"] = "ok"
                beats = uow.monitoring.heartbeats_since(datetime.now(UTC) - timedelta(seconds=30))
                detail["workers"] = [
                    {"id": b.worker_id, "last_seen": b.last_seen.isoformat(), "jobs": b.jobs_done}
                    for b in beats
                ]
                if not beats:
                    ok = False
                    detail["worker"] = "no delivery worker has reported in the last 30 s"
        except Exception as exc:
            ok = False
            detail["database"] = f"error: {type(exc).__name__}"
        detail["status"] = "ok" if ok else "unhealthy"
        body = json.dumps(detail).encode()
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _metrics(self, start_response: StartResponse) -> Iterable[bytes]:
        lines = [
            "# HELP innbyggerpost_http_requests_total SOAP endpoint requests seen by this process.",
            "# TYPE innbyggerpost_http_requests_total counter",
        ]
        for (variant, method), n in sorted(self.requests.items()):
            lines.append(
                f'innbyggerpost_http_requests_total{{variant="{variant}",method="{method}",pid="{os.getpid()}"}} {n}'
            )
        if self.throttle is not None:
            lines += [
                "# HELP innbyggerpost_login_refused_total Logins refused at once by the throttle (no hash computed).",
                "# TYPE innbyggerpost_login_refused_total counter",
                f'innbyggerpost_login_refused_total{{pid="{os.getpid()}"}} {self.throttle.refused}',
            ]
        if self.krr is not None:
            pid = os.getpid()
            lines += [
                "# HELP innbyggerpost_krr_calls_total HentPersoner calls made by this process's KRR gateway.",
                "# TYPE innbyggerpost_krr_calls_total counter",
                f'innbyggerpost_krr_calls_total{{pid="{pid}"}} {self.krr.calls}',
                "# HELP innbyggerpost_krr_ids_total Ids looked up in those calls.",
                "# TYPE innbyggerpost_krr_ids_total counter",
                f'innbyggerpost_krr_ids_total{{pid="{pid}"}} {self.krr.ids}',
                "# HELP innbyggerpost_krr_waiting Look-ups waiting for a KRR call in this process.",
                "# TYPE innbyggerpost_krr_waiting gauge",
                f'innbyggerpost_krr_waiting{{pid="{pid}"}} {self.krr.waiting()}',
                "# HELP innbyggerpost_krr_circuit_open 1 while the KRR circuit breaker is open.",
                "# TYPE innbyggerpost_krr_circuit_open gauge",
                f'innbyggerpost_krr_circuit_open{{pid="{pid}"}} {int(self.krr.state() == "open")}',
            ]
        try:
            with self.uow_factory().for_reading() as uow:
                counts = uow.monitoring.counts()
            gauges = (
                ("receipts", "Shipments stored, by their (main) ReceiptStatusCode.", "status"),
                ("forwardings", "Forwardings by SdpStatusType.", "status"),
                ("jobs", "Delivery jobs by state.", "state"),
            )
            for name, help_text, label in gauges:
                lines += [f"# HELP innbyggerpost_{name} {help_text}", f"# TYPE innbyggerpost_{name} gauge"]
                for value, n in sorted(counts[name].items()):
                    lines.append(f'innbyggerpost_{name}{{{label}="{value}"}} {n}')
            lines += [
                "# HELP innbyggerpost_up 1 when the database answered.",
                "# TYPE innbyggerpost_up gauge",
                "innbyggerpost_up 1",
            ]
        except Exception:
            lines += ["# TYPE innbyggerpost_up gauge", "innbyggerpost_up 0"]
        body = ("\n".join(lines) + "\n").encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]


def make_app(settings: Settings | None = None, registry: ContactRegistry | None = None) -> Any:
    """gunicorn's entry: the parts come from the composition root (``service.bootstrap``)."""
    from ... import logs
    from ...bootstrap import bootstrap
    from ..request_log import RequestLog

    container = bootstrap(settings, **({"registry": registry} if registry is not None else {}))
    logs.configure(container.settings.log_level, container.settings.log_format)
    return RequestLog(make_wsgi_app(container))


def make_wsgi_app(container: Any) -> Root:
    settings = container.settings
    configure_spyne_logging()
    uow_factory = container.uow_factory
    auth = container.authenticator
    ctx = Context(
        settings=settings,
        uow_factory=uow_factory,
        registry=container.registry,
        authenticator=auth,
        ws_authenticate=_ws_authenticator(settings, auth, DbNonceCache(uow_factory)),
        writer=container.writer,
    )
    soap: dict[str, Any] = {}
    for key, variant in VARIANTS.items():
        protocol = AltinnSoap11 if variant.soap_version == "1.1" else WsAddressingSoap12
        application = Application(
            [build_service(ctx, key)],
            tns=variant.target_namespace,
            name=variant.service,
            in_protocol=protocol(validator="lxml"),
            out_protocol=protocol(),
        )
        route_by_request_element(application)
        wsgi = WsgiApplication(application, max_content_length=settings.max_request_bytes + 1024)
        soap[variant.path] = (key, RequestGuard(wsgi, variant.soap_version, settings.max_request_bytes))  # type: ignore[arg-type]
    # spyne runs a full gc.collect() at most once a second from every request's context (for file
    # descriptors of streamed responses we do not use): ~150 ms with spyne's, zeep's and SQLAlchemy's
    # long-lived objects on the heap. Turn that off, and move those objects out of the collector's way.
    spyne.const.MIN_GC_INTERVAL = float("inf")
    gc.collect()
    gc.freeze()
    registry = container.registry
    root = Root(settings, uow_factory, soap, registry if hasattr(registry, "state") else None, auth.throttle)
    root.mounts["/inbox"] = make_inbox_app(settings, uow_factory)
    return root
