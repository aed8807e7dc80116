"""The spyne SOAP protocols of both endpoints: Altinn faults, one parse per request, tolerance.

:class:`AltinnSoap11` / :class:`AltinnSoap12` are spyne's ``Soap11`` / ``Soap12`` with four
adaptations (the fault model itself is :mod:`.faults`; spyne work-arounds are :mod:`.spyne_compat`):

0. The insert's answer (a :class:`~.receipt_xml.ReceiptReply` from the handler) is written with
   lxml by :func:`~.receipt_xml.reply_document`, without spyne's serialiser; so are the status
   answers (a :class:`~.status_xml.StatusReply`, :func:`~.status_xml.reply_document`).
1. Faults: ``serialize`` (when ``ctx.out_error`` is set) writes the envelope of
   :func:`.faults.fault_envelope_element`, so that :class:`~.faults.AltinnFaultError` raised by a
   service method, spyne's own faults (``Client.SchemaValidationError``, ``Client.ResourceNotFound``,
   ``Client.XMLSyntaxError``, ``Client.SoapError``, …) and unexpected exceptions all come out with an
   ``AltinnFault`` detail and HTTP 500. Stock spyne writes an empty ``faultactor`` on 1.1 and fails
   on a typed detail on 1.2 (spyne #582 for subclass fields of ``Fault``; docs/architecture.md,
   "spyne and zeep: what we work around").
2. One parse: the :class:`~.guard.RequestGuard` has already parsed the body with the hardened parser
   and left the root in ``environ["innbyggerpost.envelope"]``; ``create_in_document`` takes that
   tree instead of parsing the bytes again.
3. Tolerance (as WCF): before schema validation, elements the contract does not know are removed
   from the request body (:mod:`.tolerance`), counted and logged once per name; node-soap's two
   unambiguous shapes are taken for what they mean (the operation is dispatched after that). A body
   the insert fast path (:mod:`.fast_insert`) has already stripped before handing it on is not
   stripped (nor counted) again (``environ[tolerance.ENVIRON_STRIPPED]``).
"""

from __future__ import annotations

import logging
from typing import Any

from lxml import etree
from spyne.protocol.soap import Soap11, Soap12

from ... import ns
from .faults import (
    SOAP_ENV_NS,
    AltinnFaultError,
    SoapVersion,
    fault_element,
    fault_envelope_element,
    from_exception,
    without_values,
)
from .guard import ENVIRON_ENVELOPE
from .receipt_xml import ReceiptReply, reply_document
from .spyne_compat import install_fault_hook
from .status_xml import StatusReply
from .status_xml import reply_document as status_document
from .tolerance import ENVIRON_STRIPPED, UnknownElements

logger = logging.getLogger(__name__)

_XML_ID = f"{{{ns.XML}}}id"
_WITH_XML_ID = etree.XPath("//*[@xml:id]")


class _AltinnProtocolMixin:
    """See the module docstring."""

    soap_version: SoapVersion
    tolerance: UnknownElements | None = None

    def set_app(self, value: Any) -> None:
        super().set_app(value)  # type: ignore[misc]
        if value is not None:
            install_fault_hook(value, from_exception, AltinnFaultError)

    # -------------------------------------------------------------------------------- one parse

    def create_in_document(self, ctx: Any, charset: Any = None) -> None:
        req_env = getattr(getattr(ctx, "transport", None), "req_env", None) or {}
        root = req_env.get(ENVIRON_ENVELOPE)
        if root is None:  # not behind the guard (only in tests of spyne itself): parse as spyne does
            super().create_in_document(ctx, charset)  # type: ignore[misc]
            return
        # spyne's parse yields (root, xmlids) from etree.XMLID: without a DTD only xml:id counts.
        xmlids = {el.get(_XML_ID): el for el in _WITH_XML_ID(root)}
        ctx.in_document = (root, xmlids)

    # -------------------------------------------------------------------------------- tolerance

    def validate_body(self, ctx: Any, message: Any) -> None:
        req_env = getattr(getattr(ctx, "transport", None), "req_env", None) or {}
        if self.tolerance is not None and ctx.in_body_doc is not None and not req_env.get(ENVIRON_STRIPPED):
            self.tolerance.strip(ctx.in_body_doc)
            ctx.method_request_string = ctx.in_body_doc.tag  # strip may rename a node-soap wrapper
        super().validate_body(ctx, message)  # type: ignore[misc]

    # -------------------------------------------------------------------------------- faults

    def serialize(self, ctx: Any, message: Any) -> Any:
        if ctx.out_error is None:
            reply = ctx.out_object[0] if ctx.out_object else None
            if isinstance(reply, ReceiptReply):  # the insert's answer: written without spyne's serialiser
                self.event_manager.fire_event("before_serialize", ctx)  # type: ignore[attr-defined]
                ctx.out_document = reply_document(self.soap_version, reply)
                ctx.out_body_doc = ctx.out_document[0]
                self.event_manager.fire_event("after_serialize", ctx)  # type: ignore[attr-defined]
                return None
            if isinstance(reply, StatusReply):  # the status answers: written without spyne's serialiser
                self.event_manager.fire_event("before_serialize", ctx)  # type: ignore[attr-defined]
                nsmap = self.app.interface.nsmap  # type: ignore[attr-defined]
                ctx.out_document = status_document(self.soap_version, nsmap, reply)
                ctx.out_body_doc = ctx.out_document[0]
                self.event_manager.fire_event("after_serialize", ctx)  # type: ignore[attr-defined]
                return None
            return super().serialize(ctx, message)  # type: ignore[misc]
        self.event_manager.fire_event("before_serialize", ctx)  # type: ignore[attr-defined]
        if isinstance(ctx.out_error, AltinnFaultError):
            err = ctx.out_error
            logger.log(
                logging.INFO if err.client else logging.WARNING,
                "AltinnFault (%s): %s",
                "client" if err.client else "server",
                without_values(err.message),
                extra={"error_guid": err.error_guid, "error_id": err.error_id},
            )
        ctx.out_error = from_exception(ctx.out_error)
        ctx.out_document = fault_envelope_element(self.soap_version, ctx.out_error)
        ctx.out_body_doc = ctx.out_document[0]
        self.event_manager.fire_event("after_serialize", ctx)  # type: ignore[attr-defined]
        return None

    # Reached only if something serialises a Fault outside ``serialize`` (stock spyne would write an
    # empty faultactor on 1.1 and fail on a typed detail on 1.2).
    def fault_to_parent(
        self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, *args: Any, **kwargs: Any
    ) -> None:
        env_ns = SOAP_ENV_NS[self.soap_version]
        prefix = next((p for p, u in parent.nsmap.items() if u == env_ns and p), None)
        parent.append(fault_element(self.soap_version, from_exception(inst), prefix=prefix))

    schema_validation_error_to_parent = fault_to_parent

    def fault_to_http_response_code(self, fault: Any) -> str:
        return "500 Internal Server Error"


class AltinnSoap11(_AltinnProtocolMixin, Soap11):  # type: ignore[misc]
    """spyne SOAP 1.1 protocol whose faults carry an ``AltinnFault`` detail."""

    soap_version: SoapVersion = "1.1"


class AltinnSoap12(_AltinnProtocolMixin, Soap12):  # type: ignore[misc]
    """spyne SOAP 1.2 protocol whose faults carry an ``AltinnFault`` detail."""

    soap_version: SoapVersion = "1.2"
