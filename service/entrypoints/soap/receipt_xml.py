"""The insert's answer written straight with lxml: ``ReceiptExternal`` without spyne's serialiser.

The answer to ``InsertCorrespondenceV2`` is the hottest response of the service. spyne builds it
by instantiating its model classes (and logs a warning for each customised class), then walks them
to write XML: about a third of the CPU of an insert. This module writes the same document (same
elements, order, namespaces and value formats as spyne writes for ``ReceiptExternal``; the contract
tests compare them) from the domain :class:`~service.domain.receipt.Receipt`.

The handler returns a :class:`ReceiptReply`; the protocol's ``serialize`` (``protocol.py``) asks
:func:`reply_document` for the envelope when the out object is one.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ... import ns
from ...domain.receipt import Receipt

SOAP_ENV = {"1.1": ns.SOAP11_ENV, "1.2": ns.SOAP12_ENV}
_PREFIX = {"1.1": "soap11env", "1.2": "soap12env"}
R = ns.ALTINN_RECEIPT_2009_10


@dataclass(frozen=True)
class ReceiptReply:
    """A handler's answer that is one ``ReceiptExternal``: the response wrapper's names and the receipt."""

    out_ns: str
    out_element: str  # e.g. InsertCorrespondenceBasicV2Response
    result_name: str  # e.g. InsertCorrespondenceBasicV2Result
    receipt: Receipt


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, f"{{{R}}}{name}").text = value


def _receipt(parent: etree._Element, r: Receipt) -> None:
    _text(parent, "LastChanged", r.last_changed.isoformat())
    _text(parent, "ParentReceiptId", str(r.parent_receipt_id))
    _text(parent, "ReceiptHistory", r.history)
    _text(parent, "ReceiptId", str(r.receipt_id))
    _text(parent, "ReceiptStatusCode", str(r.status_code))
    _text(parent, "ReceiptText", r.text)
    _text(parent, "ReceiptTypeName", "Correspondence")
    refs = etree.SubElement(parent, f"{{{R}}}References")
    for kind, value in r.references:
        ref = etree.SubElement(refs, f"{{{R}}}Reference")
        _text(ref, "ReferenceTypeName", kind)
        _text(ref, "ReferenceValue", value)
    if r.sub_receipts:
        subs = etree.SubElement(parent, f"{{{R}}}SubReceipts")
        for sub in r.sub_receipts:
            _receipt(etree.SubElement(subs, f"{{{R}}}ReceiptExternal"), sub)


def reply_document(soap_version: str, reply: ReceiptReply) -> etree._Element:
    env_ns = SOAP_ENV[soap_version]
    envelope = etree.Element(
        f"{{{env_ns}}}Envelope", nsmap={_PREFIX[soap_version]: env_ns, "tns": reply.out_ns, "s9": R}
    )
    body = etree.SubElement(envelope, f"{{{env_ns}}}Body")
    response = etree.SubElement(body, f"{{{reply.out_ns}}}{reply.out_element}")
    _receipt(etree.SubElement(response, f"{{{reply.out_ns}}}{reply.result_name}"), reply.receipt)
    return envelope
