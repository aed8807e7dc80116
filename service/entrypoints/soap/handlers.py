"""The handler table: operation (canonical name) -> the function that serves it.

A handler gets the process :class:`Context`, the authenticated :class:`Principal` and the request's
parameters by element name, maps the contract types to domain objects (:mod:`.mapping`), calls the
use case and maps the answer back. :mod:`.services` declares the spyne methods from the operation
table, authenticates, and looks the handler up here; an operation without a handler is answered
with "not implemented". The canonical name is the operation name without the Basic variant's
``Basic`` infix (InsertCorrespondenceBasicV2 -> InsertCorrespondenceV2).

Failures are mapped here, where exceptions reach the fault layer: authorisation -> its Altinn
ErrorID; KRR unavailable -> "retry with the same reference"; database unavailable / disk full
anywhere in a request, authentication included (:func:`storage_failure`, called by
:mod:`.services`) -> their own AltinnFault texts (:func:`.faults.storage_error_kind`), recorded for
``/health`` (:class:`.health.WriteOutcomes`) when the operation stores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...config import Settings
from ...domain.altinn_copy import MissingResource
from ...domain.ports import ContactRegistry, RegistryUnavailable
from ...service_layer import correspondence, status
from ...service_layer.group_commit import GroupCommit
from ...service_layer.owners import Authenticator, Principal
from ...service_layer.unit_of_work import UnitOfWorkFactory
from . import mapping
from .contract import Operation
from .faults import (
    ERROR_GENERAL,
    KRR_UNAVAILABLE_MESSAGE,
    AltinnFaultError,
    storage_error_kind,
    storage_fault,
)
from .health import WriteOutcomes
from .receipt_xml import ReceiptReply
from .status_xml import StatusReply

log = logging.getLogger(__name__)

Params = dict[str, Any]


@dataclass
class Context:
    """What the handlers need, built once per process by ``app.make_app``."""

    settings: Settings
    uow_factory: UnitOfWorkFactory
    registry: ContactRegistry
    authenticator: Authenticator
    ws_authenticate: Callable[[Any], Principal]  # spyne ctx -> Principal (WS-Security)
    writer: GroupCommit | None = None  # the process's group commit (None: a transaction per letter)
    writes: WriteOutcomes = field(default_factory=WriteOutcomes)


Handler = Callable[[Context, Operation, Principal, Params], Any]


def canonical(name: str) -> str:
    """Operation name without the Basic variant's ``Basic`` infix (InsertCorrespondenceBasicV2 -> ...V2)."""
    return name.replace("Basic", "")


# ---------------------------------------------------------------------------------------- handlers


def insert_correspondence_v2(app: Context, op: Operation, principal: Principal, params: Params) -> Any:
    req = mapping.insert_request(
        params["SystemUserCode"], params["ExternalShipmentReference"], params["Correspondence"]
    )
    receipt = correspondence.insert_correspondence(
        app.uow_factory,
        app.registry,
        principal,
        req,
        writer=app.writer,
        inbox_backend=app.settings.inbox_backend,
    )
    app.writes.succeeded()
    # Written with lxml, without spyne's serialiser (receipt_xml.py).
    return ReceiptReply(op.out_ns, op.out_element, op.out_params[0].name, receipt)


def _status_details(v3: bool) -> Handler:
    def handler(app: Context, op: Operation, principal: Principal, params: Params) -> Any:
        flt = mapping.status_filter(params["filterCriteria"], v3=v3)
        result = status.status_details(app.uow_factory, principal, flt, app.settings.status_result_limit)
        # Written with lxml, without spyne's serialiser (status_xml.py; the spyne model of the same
        # answer is tests/support/status_spyne.status_result_v2/v3, which the differential test compares with).
        names = tuple(p.name for p in op.out_params)
        return StatusReply("v3" if v3 else "v2", op.out_ns, op.out_element, names, result)

    handler.__name__ = f"status_details_{'v3' if v3 else 'v2'}"
    return handler


def status_history(app: Context, op: Operation, principal: Principal, params: Params) -> Any:
    refs = mapping.strings(params["CorrespondenceSendersReferences"])
    result = status.status_history(app.uow_factory, principal, refs, app.settings.status_history_limit)
    # Written with lxml, without spyne's serialiser (status_xml.py; the spyne model of the same
    # answer is tests/support/status_spyne.history_result). Two out values: the reply stands for both, spyne's second is None.
    names = tuple(p.name for p in op.out_params)
    return StatusReply("history", op.out_ns, op.out_element, names, result), None


HANDLERS: dict[str, Handler] = {
    "InsertCorrespondenceV2": insert_correspondence_v2,
    "GetCorrespondenceStatusDetailsV2": _status_details(v3=False),
    "GetCorrespondenceStatusDetailsV3": _status_details(v3=True),
    "GetCorrespondenceStatusHistory": status_history,
}

# Older operations of the contract that this service answers with a fault naming the replacement.
NOT_SUPPORTED: dict[str, str | None] = {
    "InsertCorrespondence": "InsertCorrespondenceV2",
    "GetCorrespondenceStatusDetails": "GetCorrespondenceStatusDetailsV2 or V3",
    "CreateSimpleCorrespondenceService": None,
}

# Operations that store (their storage failures are recorded for /health).
STORING = frozenset({"InsertCorrespondenceV2", "InsertCorrespondence"})

# Operations answered before authentication (Altinn's Test is anonymous).
ANONYMOUS: dict[str, Callable[[], Any]] = {"Test": lambda: None}


# What the owner is told about a KRR failure: one of these phrases, never KRR's own error text (which
# may carry KRR's internals); the full text is in the service's log under the request's correlation id.
_KRR_REASONS = (
    ("circuit is open", "KRR circuit is open after repeated failures; KRR was not asked"),
    ("time budget", "KRR did not answer within the look-up time budget"),
    ("HTTP", "KRR answered with an HTTP error"),
    ("refused the request", "KRR refused the request"),
    ("unparseable", "KRR's answer did not fit its contract"),
    ("no Person", "KRR's answer did not fit its contract"),
    ("inconsistent", "KRR's answer did not fit its contract"),
)


def krr_reason(exc: BaseException) -> str:
    text = str(exc)
    return next((phrase for key, phrase in _KRR_REASONS if key in text), "KRR could not be reached or failed")


def storage_failure(app: Context, op_name: str, exc: BaseException) -> AltinnFaultError | None:
    """The storage fault for ``exc`` (database unavailable, disk full), recorded for /health when
    ``op_name`` stores; None when ``exc`` is not a storage failure. Called for every exception of a
    request, authentication included (the owner look-up reads the database too)."""
    kind = storage_error_kind(exc)
    if kind is None:
        return None
    if canonical(op_name) in STORING:
        app.writes.failed(kind)
    log.error("%s: storage unavailable (%s: %s)", op_name, kind, type(exc).__name__)
    return storage_fault(kind)


def handle(app: Context, op: Operation, principal: Principal, params: Params) -> Any:
    """Serve the authenticated request ``params`` of operation ``op`` (of either variant)."""
    op_name = op.name
    name = canonical(op_name)
    if name in NOT_SUPPORTED:
        instead = NOT_SUPPORTED[name]
        raise AltinnFaultError(
            ERROR_GENERAL,
            f"{op_name} is not supported by this service" + (f"; use {instead}" if instead else ""),
            client=True,
        )
    handler = HANDLERS.get(name)
    if handler is None:
        raise AltinnFaultError(ERROR_GENERAL, f"{op_name} is not implemented", client=True)
    try:
        return handler(app, op, principal, params)
    except correspondence.NotAuthorised as exc:
        raise AltinnFaultError(exc.error_id, exc.message, client=True) from exc
    except MissingResource as exc:  # INBOX_BACKEND=altinn3 and the service has no Altinn 3 resource
        raise AltinnFaultError(ERROR_GENERAL, str(exc), client=True) from exc
    except RegistryUnavailable as exc:
        log.warning("KRR unavailable: %s", exc)
        raise AltinnFaultError(
            ERROR_GENERAL, KRR_UNAVAILABLE_MESSAGE, extended=krr_reason(exc), client=False
        ) from exc
