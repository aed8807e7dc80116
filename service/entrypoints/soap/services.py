"""The spyne services of both variants, declared from the operation table (``operations.py``).

Each operation is one generic spyne method: answer the anonymous ``Test``, authenticate (Basic:
``systemUserName``/``systemPassword`` in the body or SOAP headers; WS: WS-Security UsernameToken),
then call the operation's handler from the handler table (:mod:`.handlers`).
"""

from __future__ import annotations

from typing import Any

from spyne import ServiceBase, rpc

from ...service_layer.owners import Principal
from .contract import Operation
from .early_auth import ENVIRON_PRINCIPAL, basic_principal, client_of
from .faults import AltinnFaultError
from .handlers import ANONYMOUS, Context, canonical, handle, storage_failure
from .operations import VARIANTS


def _header_value(ctx: Any, local_name: str) -> str | None:
    for el in ctx.in_header_doc or ():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == local_name:
            return el.text
    return None


def _serve(app: Context, op: Operation, ctx: Any, args: tuple[Any, ...]) -> Any:
    anonymous = ANONYMOUS.get(canonical(op.name))
    if anonymous is not None:
        return anonymous()
    params = dict(zip(op.in_arg_names, args, strict=True))
    try:
        return _authenticated(app, op, ctx, params)
    except AltinnFaultError:
        raise
    except Exception as exc:
        fault = storage_failure(app, op.name, exc)
        if fault is None:
            raise
        raise fault from exc


def _authenticated(app: Context, op: Operation, ctx: Any, params: dict[str, Any]) -> Any:
    early = ctx.transport.req_env.get(ENVIRON_PRINCIPAL)
    if isinstance(early, Principal):  # authenticated by the guard before the body was parsed whole
        return handle(app, op, early, params)
    client = client_of(ctx.transport.req_env)
    if op.variant == "basic":
        if op.header_parts:
            principal = basic_principal(
                app.authenticator,
                client,
                _header_value(ctx, "SystemUserName"),
                _header_value(ctx, "SystemPassword"),
            )
        else:
            principal = basic_principal(
                app.authenticator, client, params.get("systemUserName"), params.get("systemPassword")
            )
    else:
        principal = app.ws_authenticate(ctx)
    return handle(app, op, principal, params)


def _method(app: Context, op: Operation) -> Any:
    def handler(ctx: Any, *args: Any) -> Any:
        return _serve(app, op, ctx, args)

    handler.__name__ = op.name
    return rpc(*op.in_types, _args=op.in_arg_names, **op.rpc_kwargs())(handler)


def build_service(app: Context, variant: str) -> type[ServiceBase]:
    v = VARIANTS[variant]
    methods = {op.name: _method(app, op) for op in v.operations}
    return type(v.port_type, (ServiceBase,), {"__service_name__": v.service, "__port_types__": (), **methods})
