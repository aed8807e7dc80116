"""The spyne services of both variants, declared from the operation table (``operations.py``).

Each operation is one generic handler: authenticate (Basic: ``systemUserName``/``systemPassword``
in the body or SOAP headers; WS: WS-Security UsernameToken), map the contract types to domain
objects, call the use case, map the answer back. Contract <-> domain mapping lives in ``mapping.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spyne import ServiceBase, rpc

from ...config import Settings
from ...domain.ports import ContactRegistry, RegistryUnavailable
from ...service_layer import correspondence, status
from ...service_layer.group_commit import GroupCommit
from ...service_layer.owners import Authenticator, Principal
from ...service_layer.unit_of_work import UnitOfWork
from . import mapping
from .faults import (
    ERROR_GENERAL,
    ERROR_SYSTEM_AUTHENTICATION_FAILED,
    AltinnFaultError,
)
from .operations import VARIANTS, Operation
from .receipt_xml import ReceiptReply

log = logging.getLogger(__name__)

NOT_SUPPORTED = {
    "InsertCorrespondence": "InsertCorrespondenceV2",
    "GetCorrespondenceStatusDetails": "GetCorrespondenceStatusDetailsV2 or V3",
    "CreateSimpleCorrespondenceService": None,
}


@dataclass
class Context:
    """What the services need, built once per process by ``app.make_app``."""

    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    registry: ContactRegistry
    authenticator: Authenticator
    ws_authenticate: Callable[[Any], Principal]  # spyne ctx -> Principal (WS-Security)
    writer: GroupCommit | None = None  # the process's group commit (None: a transaction per letter)


def canonical(name: str) -> str:
    """Operation name without the Basic variant's ``Basic`` infix (InsertCorrespondenceBasicV2 -> ...V2)."""
    return name.replace("Basic", "")


def _basic_principal(app: Context, ctx: Any, username: str | None, password: str | None) -> Principal:
    if not username or password is None:
        raise AltinnFaultError(
            ERROR_SYSTEM_AUTHENTICATION_FAILED,
            "System authentication failed: systemUserName/systemPassword missing",
            client=True,
        )
    principal = app.authenticator.check_password(username, password, ctx.transport.req_env.get("REMOTE_ADDR"))
    if principal is None:
        raise AltinnFaultError(
            ERROR_SYSTEM_AUTHENTICATION_FAILED,
            f"System authentication failed for system user '{username}'",
            client=True,
        )
    return principal


def _header_value(ctx: Any, local_name: str) -> str | None:
    for el in ctx.in_header_doc or ():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == local_name:
            return el.text
    return None


def _handle(app: Context, op: Operation, ctx: Any, args: tuple[Any, ...]) -> Any:
    name = canonical(op.name)
    params = dict(zip(op.in_arg_names, args, strict=True))
    if name == "Test":
        return None
    if op.variant == "basic":
        if op.header_parts:
            principal = _basic_principal(
                app, ctx, _header_value(ctx, "SystemUserName"), _header_value(ctx, "SystemPassword")
            )
        else:
            principal = _basic_principal(app, ctx, params.get("systemUserName"), params.get("systemPassword"))
    else:
        principal = app.ws_authenticate(ctx)

    if name in NOT_SUPPORTED:
        instead = NOT_SUPPORTED[name]
        raise AltinnFaultError(
            ERROR_GENERAL,
            f"{op.name} is not supported by this service" + (f"; use {instead}" if instead else ""),
            client=True,
        )
    try:
        if name == "InsertCorrespondenceV2":
            req = mapping.insert_request(
                params["SystemUserCode"], params["ExternalShipmentReference"], params["Correspondence"]
            )
            receipt = correspondence.insert_correspondence(
                app.uow_factory, app.registry, principal, req, writer=app.writer
            )
            return ReceiptReply(op.out_ns, op.out_element, op.out_params[0].name, receipt)
        if name in ("GetCorrespondenceStatusDetailsV2", "GetCorrespondenceStatusDetailsV3"):
            v3 = name.endswith("V3")
            flt = mapping.status_filter(params["filterCriteria"], v3=v3)
            result = status.status_details(app.uow_factory, principal, flt, app.settings.status_result_limit)
            return mapping.status_result_v3(result) if v3 else mapping.status_result_v2(result)
        if name == "GetCorrespondenceStatusHistory":
            refs = mapping.strings(params["CorrespondenceSendersReferences"])
            result = status.status_history(app.uow_factory, principal, refs, app.settings.status_result_limit)
            return mapping.history_result(result)
    except correspondence.NotAuthorised as exc:
        raise AltinnFaultError(exc.error_id, exc.message, client=True) from exc
    except RegistryUnavailable as exc:
        log.warning("KRR unavailable: %s", exc)
        raise AltinnFaultError(
            ERROR_GENERAL,
            "The contact register (KRR) is unavailable; nothing was stored. Retry with the same "
            "ExternalShipmentReference.",
            extended=str(exc),
            client=False,
        ) from exc
    raise AltinnFaultError(ERROR_GENERAL, f"{op.name} is not implemented", client=True)


def _method(app: Context, op: Operation) -> Any:
    def handler(ctx: Any, *args: Any) -> Any:
        return _handle(app, op, ctx, args)

    handler.__name__ = op.name
    return rpc(*op.in_types, _args=op.in_arg_names, **op.rpc_kwargs())(handler)


def build_service(app: Context, variant: str) -> type[ServiceBase]:
    v = VARIANTS[variant]
    methods = {op.name: _method(app, op) for op in v.operations}
    return type(v.port_type, (ServiceBase,), {"__service_name__": v.service, "__port_types__": (), **methods})
