"""WS-Addressing 1.0 response headers for the WS variant.

The WS variant is WCF's ``CustomBinding`` with SOAP 1.2 and WS-Addressing 1.0: its clients send
``wsa:Action``/``wsa:MessageID``/``wsa:To`` and WCF answers with ``wsa:Action`` (the operation's
output or fault action from the WSDL) and ``wsa:RelatesTo`` (the request's MessageID). A .NET client
of that binding checks the Action of the reply, so we send both.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ... import ns
from .faults import NS_SOAP12_ENV
from .operations import WS
from .protocol import AltinnSoap12

NS_WSA = ns.WSA10
FAULT_ACTION = f"{NS_WSA}/soap/fault"
_BY_REQUEST = {op.in_message_name: op for op in WS.operations}


def _request_addressing(ctx: Any) -> tuple[bool, str | None]:
    """(the request carried WS-Addressing headers, its MessageID)."""
    return _addressing_of(ctx.in_header_doc or ())


def _addressing_of(header_children: Any) -> tuple[bool, str | None]:
    used, message_id = False, None
    for el in header_children:
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{NS_WSA}}}"):
            used = True
            if el.tag == f"{{{NS_WSA}}}MessageID":
                message_id = (el.text or "").strip() or None
    return used, message_id


class WsAddressingSoap12(AltinnSoap12):  # type: ignore[misc]
    """``AltinnSoap12`` that answers WS-Addressing requests with ``wsa:Action`` and ``wsa:RelatesTo``."""

    def serialize(self, ctx: Any, message: Any) -> Any:
        result = super().serialize(ctx, message)
        envelope = ctx.out_document
        used, message_id = _request_addressing(ctx)
        if envelope is None or not used:
            # A client that sent no WS-Addressing headers gets none back: JAX-WS without the
            # AddressingFeature would refuse a mustUnderstand header it does not know.
            return result
        op = _BY_REQUEST.get(ctx.method_request_string or "")
        if ctx.out_error is not None:
            action = op.fault_action if op is not None else FAULT_ACTION
        else:
            action = op.output_action if op is not None else FAULT_ACTION
        _add_reply_headers(envelope, action, message_id)
        return result


def decorate_early_fault(out_envelope: Any, request_root: Any, wrapper_tag: str) -> None:
    """The WS-Addressing reply headers of a fault answered by the guard's early authentication."""
    header = request_root.find(f"{{{NS_SOAP12_ENV}}}Header")
    used, message_id = _addressing_of(header if header is not None else ())
    if not used:
        return
    op = _BY_REQUEST.get(wrapper_tag)
    _add_reply_headers(out_envelope, op.fault_action if op is not None else FAULT_ACTION, message_id)


def _add_reply_headers(envelope: Any, action: str, message_id: str | None) -> None:
    header = envelope.find(f"{{{NS_SOAP12_ENV}}}Header")
    if header is None:
        header = etree.Element(f"{{{NS_SOAP12_ENV}}}Header")
        envelope.insert(0, header)
    el = etree.SubElement(header, f"{{{NS_WSA}}}Action", nsmap={"a": NS_WSA})
    el.set(f"{{{NS_SOAP12_ENV}}}mustUnderstand", "1")
    el.text = action
    if message_id:
        etree.SubElement(header, f"{{{NS_WSA}}}RelatesTo", nsmap={"a": NS_WSA}).text = message_id
