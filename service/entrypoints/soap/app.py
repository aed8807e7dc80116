"""Composition of the web process: what gunicorn serves (``make_app()``).

``make_app(settings=None, registry=None)`` takes the parts of one web process from the composition
root (:mod:`service.bootstrap`: settings, unit of work, KRR gateway, authenticator, group commit),
builds the two spyne applications around them (:func:`make_wsgi_app`) and returns the WSGI routing
(:class:`.wsgi.Root`). Per SOAP endpoint a request passes, outermost first:

    Shedding (admission bound, busy fault)  ->  RequestGuard (size, content type, one hardened
    parse, DTD, envelope version)  ->  FastInsert (the two inserts, when it is sure; fast_insert.py)
    ->  spyne WsgiApplication with AltinnSoap11 / WsAddressingSoap12
    (pre-parsed document, tolerance of unknown elements, validator='lxml', Altinn faults)
    ->  services (authentication)  ->  handlers (the handler table, use cases).

``deploy/gunicorn.conf.py`` and ``innbyggerpost serve`` name ``service.entrypoints.soap.app:make_app()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spyne import Application
from spyne.server.wsgi import WsgiApplication

from ...config import Settings
from ...domain.ports import ContactRegistry
from ...service_layer.owners import Authenticator, Principal
from ..client_address import ClientAddress
from ..inbox import make_inbox_app
from . import addressing, spyne_compat, wssecurity
from .addressing import WsAddressingSoap12
from .early_auth import EarlyAuthentication, client_of
from .fast_insert import FastInsert
from .faults import ERROR_SYSTEM_AUTHENTICATION_FAILED, AltinnFaultError
from .guard import ENVIRON_ENVELOPE, RequestGuard
from .handlers import Context, storage_failure
from .health import CachedProbe, WriteOutcomes
from .operations import VARIANTS
from .probes import DbNonceCache, database_health, metrics_snapshot
from .protocol import AltinnSoap11
from .services import build_service
from .shedding import AdmissionGate, Shedding, soap_admission_limit
from .tolerance import UnknownElements
from .wsgi import Endpoint, Root


def _ws_envelope_authenticator(
    settings: Settings, auth: Authenticator, nonces: wssecurity.NonceCache
) -> Callable[[Any, str | None], Principal]:
    def authenticate(envelope: Any, client: str | None) -> Principal:
        principals: dict[str, Principal] = {}

        def check_password(user: str, password: str) -> bool:
            p = auth.check_password(user, password, client)
            if p is not None:
                principals[user] = p
            return p is not None

        def check_digest(user: str, matches: Callable[[str], bool]) -> bool:
            # Throttled and counted like a password (issue 14); unknown user, no digest secret and a
            # wrong digest give the same fault.
            p = auth.check_digest(user, client, matches)
            if p is not None:
                principals[user] = p
            return p is not None

        username = wssecurity.verify_username_token(
            envelope,
            check_password=check_password,
            nonce_cache=nonces,
            max_age_seconds=settings.wsse_max_age_seconds,
            require_nonce_created=settings.wsse_require_nonce_created,
            check_digest=check_digest,
        )
        return principals.get(username) or _must(auth.principal(username))

    return authenticate


def _ws_authenticator(
    envelope_authenticate: Callable[[Any, str | None], Principal],
) -> Callable[[Any], Principal]:
    def authenticate(ctx: Any) -> Principal:
        envelope = ctx.transport.req_env.get(ENVIRON_ENVELOPE)
        if envelope is None:
            raise AltinnFaultError(
                ERROR_SYSTEM_AUTHENTICATION_FAILED, "System authentication failed", client=True
            )
        return envelope_authenticate(envelope, client_of(ctx.transport.req_env))

    return authenticate


def _must(p: Principal | None) -> Principal:
    if p is None:
        raise AltinnFaultError(
            ERROR_SYSTEM_AUTHENTICATION_FAILED, "System authentication failed", client=True
        )
    return p


def make_app(settings: Settings | None = None, registry: ContactRegistry | None = None) -> Any:
    """gunicorn's entry: the parts come from the composition root (``service.bootstrap``)."""
    from ... import logs
    from ...bootstrap import bootstrap
    from ..request_log import RequestLog

    container = bootstrap(settings, **({"registry": registry} if registry is not None else {}))
    logs.configure(container.settings.log_level, container.settings.log_format)
    root = make_wsgi_app(container)
    if isinstance(root.health_probe, CachedProbe):
        root.health_probe.start()  # a probe result before the first /health (health.CachedProbe)
    return RequestLog(root)


def make_wsgi_app(container: Any) -> Root:
    """The web process around the parts of ``container`` (a :class:`service.bootstrap.Container`)."""
    settings: Settings = container.settings
    spyne_compat.quiet_spyne_loggers()
    uow_factory = container.uow_factory
    auth: Authenticator = container.authenticator
    writes = WriteOutcomes()
    ws_envelope_auth = _ws_envelope_authenticator(settings, auth, DbNonceCache(uow_factory))
    ctx = Context(
        settings=settings,
        uow_factory=uow_factory,
        registry=container.registry,
        authenticator=auth,
        ws_authenticate=_ws_authenticator(ws_envelope_auth),
        writer=container.writer,
        writes=writes,
    )
    unknown = UnknownElements(*VARIANTS.values())
    gate = AdmissionGate(soap_admission_limit(settings), settings.max_pending_request_bytes)
    endpoints: dict[str, Endpoint] = {}
    for key, variant in VARIANTS.items():
        protocol = AltinnSoap11 if variant.soap_version == "1.1" else WsAddressingSoap12
        in_protocol = protocol(validator="lxml")
        in_protocol.tolerance = unknown
        spyne_compat.release_decoded_text(in_protocol)  # an attachment held once, decoded (issue 17)
        application = Application(
            [build_service(ctx, key)],
            tns=variant.target_namespace,
            name=variant.service,
            in_protocol=in_protocol,
            out_protocol=protocol(),
        )
        spyne_compat.route_by_request_element(application)
        wsgi: Any = WsgiApplication(application, max_content_length=settings.max_request_bytes + 1024)
        if settings.insert_fast_path:  # the inserts past spyne's deserialiser (fast_insert.py)
            wsgi = FastInsert(wsgi, application, ctx, variant, unknown)
        early = EarlyAuthentication(
            variant,
            auth,
            ws_authenticate=ws_envelope_auth,
            decorate_fault=addressing.decorate_early_fault if variant.soap_version == "1.2" else None,
            storage_failure=lambda name, exc: storage_failure(ctx, name, exc),
        )
        guarded = RequestGuard(
            wsgi,
            variant.soap_version,  # type: ignore[arg-type]
            settings.max_request_bytes,
            early_auth=early,
            body_timeout=settings.request_body_timeout_seconds,
            body_min_rate=settings.request_body_min_rate,
        )
        shedding = Shedding(guarded, gate, variant.soap_version, settings.max_request_bytes)  # type: ignore[arg-type]
        endpoints[variant.path] = Endpoint(key, shedding)
    spyne_compat.disable_request_gc()
    spyne_compat.decode_base64_directly()
    registry = container.registry
    root = Root(
        settings.public_url,
        endpoints,
        health_probe=CachedProbe(database_health(uow_factory)),  # no DB round trip per /health
        metrics_snapshot=metrics_snapshot(uow_factory),
        writes=writes,
        gate=gate,
        unknown_elements=unknown,
        krr=registry if hasattr(registry, "state") else None,
        client_address=ClientAddress(settings.trusted_proxies),
        monitoring_token=settings.monitoring_token,
        socket_timeout=settings.socket_timeout_seconds,
    )
    if settings.inbox_backend == "local":  # with altinn3 the copies live in Altinn 3's inbox, not here
        root.mounts["/inbox"] = make_inbox_app(settings, uow_factory)
    if settings.inbox_backend == "altinn3" and settings.altinn3_events_secret:
        from ..altinn_events import make_events_app

        root.mounts["/altinn3/events"] = make_events_app(settings.altinn3_events_secret, uow_factory)
    return root
