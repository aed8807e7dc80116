"""The WS variant answers with WS-Addressing 1.0 headers as WCF's CustomBinding does: ``wsa:Action``
(the output or fault action of the reference WSDL's portType) and ``wsa:RelatesTo`` (the request's
MessageID). A .NET client of that binding checks the reply's Action."""

from __future__ import annotations

import pytest
import zeep.exceptions
from zeep.plugins import HistoryPlugin

from tests.support import altinn as a
from tests.support.harness import Stack

WSA = "{http://www.w3.org/2005/08/addressing}"
ACTIONS = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternal/"


def _headers(history: HistoryPlugin) -> dict[str, str]:
    sent = history.last_sent["envelope"].find("{http://www.w3.org/2003/05/soap-envelope}Header")
    received = history.last_received["envelope"].find("{http://www.w3.org/2003/05/soap-envelope}Header")
    assert received is not None, "no SOAP Header in the answer"
    out = {el.tag.replace(WSA, "wsa:"): el.text for el in received}
    out["sent-MessageID"] = sent.find(f"{WSA}MessageID").text
    return out


def test_reply_carries_output_action_and_relates_to(stack: Stack) -> None:
    history = HistoryPlugin()
    svc = a.ws(stack.ws_url)
    svc._client.plugins.append(history)
    receipt = svc.InsertCorrespondenceV2("DEMO", a.ref("wsa"), a.letter(a.NO_POSTBOX))
    assert receipt.ReceiptStatusCode == "OK"
    h = _headers(history)
    assert h["wsa:Action"] == ACTIONS + "InsertCorrespondenceV2Response"
    assert h["wsa:RelatesTo"] == h["sent-MessageID"]


def test_fault_carries_fault_action(stack: Stack) -> None:
    history = HistoryPlugin()
    svc = a.ws(stack.ws_url, password="not-the-password")
    svc._client.plugins.append(history)
    with pytest.raises(zeep.exceptions.Fault) as err:
        svc.InsertCorrespondenceV2("DEMO", a.ref("wsa"), a.letter(a.NO_POSTBOX))
    assert "System authentication failed" in err.value.message
    assert "not-the-password" not in err.value.message
    h = _headers(history)
    assert h["wsa:Action"] == ACTIONS + "InsertCorrespondenceV2AltinnFaultFault"
    assert h["wsa:RelatesTo"] == h["sent-MessageID"]
