"""The insert's answer written with lxml (soap/receipt_xml.py) is the document spyne would write for
the same ``ReceiptExternal`` (the contract type in the published WSDL): same elements, order and
values, with and without sub-receipts, in both SOAP versions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree
from spyne.util.xml import get_object_as_xml

from service.domain.receipt import Receipt, history_line
from service.entrypoints.soap import types as T
from service.entrypoints.soap.receipt_xml import SOAP_ENV, ReceiptReply, reply_document

NOW = datetime(2026, 12, 1, 10, 11, 12, 345678, tzinfo=UTC)
WHOLE_SECOND = datetime(2026, 12, 1, 10, 11, 12, tzinfo=UTC)


def _spyne_receipt(r: Receipt) -> T.ReceiptExternal:
    """The spyne model of a receipt, field by field (what spyne's serialiser would be given)."""
    return T.ReceiptExternal(
        LastChanged=r.last_changed,
        ParentReceiptId=r.parent_receipt_id,
        ReceiptHistory=r.history,
        ReceiptId=r.receipt_id,
        ReceiptStatusCode=str(r.status_code),
        ReceiptText=r.text,
        ReceiptTypeName="Correspondence",
        References=T.ReferenceList(
            Reference=[T.Reference(ReferenceTypeName=k, ReferenceValue=v) for k, v in r.references]
        ),
        SubReceipts=T.ReceiptExternalList(ReceiptExternal=[_spyne_receipt(s) for s in r.sub_receipts])
        if r.sub_receipts
        else None,
    )


def _tree(el: etree._Element) -> tuple[object, ...]:
    return (el.tag, (el.text or "").strip(), tuple(_tree(c) for c in el if isinstance(c.tag, str)))


def _receipt(subs: int, when: datetime) -> Receipt:
    children = tuple(
        Receipt(
            10 + i,
            "Rejected",
            f"Not forwarded {i} <&>",
            history_line(when, "Rejected", "x"),
            when,
            (("ExternalShipmentReference", "ref-1"),),
            9,
        )
        for i in range(subs)
    )
    return Receipt(
        9,
        "OK",
        "Correspondence created & queued",
        history_line(when, "OK", "y"),
        when,
        (("ExternalShipmentReference", "ref-1"), ("OwnerPartyReference", "01018010018")),
        0,
        children,
    )


@pytest.mark.parametrize("subs", [0, 1, 2])
@pytest.mark.parametrize("when", [NOW, WHOLE_SECOND])
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_same_document_as_spyne(subs: int, when: datetime, version: str) -> None:
    receipt = _receipt(subs, when)
    ns = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"
    doc = reply_document(
        version,
        ReceiptReply(ns, "InsertCorrespondenceBasicV2Response", "InsertCorrespondenceBasicV2Result", receipt),
    )
    assert doc.tag == f"{{{SOAP_ENV[version]}}}Envelope"
    (result,) = doc.iter(f"{{{ns}}}InsertCorrespondenceBasicV2Result")
    spyne_el = get_object_as_xml(_spyne_receipt(receipt), T.ReceiptExternal)
    assert [_tree(c) for c in result] == [_tree(c) for c in spyne_el]
