"""node-soap's request shapes through a real HTTP call to the stack (issue 13), without Node itself.

The ``soap`` package for Node.js (1.13), with a client built from Altinn's published Basic WSDL,
writes the children of ``SdpOptions`` and of ``BinaryAttachmentV2`` (types from other schemas) in
the namespace of their parent, and sends ``Test`` as ``<ICorrespondenceAgencyExternalBasic_Test_InputMessage/>``.
The requests below are what it writes (namespace declarations and all); the letter must be accepted
and forwarded like the same letter from zeep, and a misspelt element must still be refused by name.
``tests/e2e/test_node_client.py`` drives the real node-soap client.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import requests
from lxml import etree

from tests.support import altinn as a
from tests.support.harness import Stack

BASIC_ACTION = (
    "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/"
)

# As node-soap 1.13 writes them (its envelope declares every WSDL namespace; q13 is .../2010/10).
ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xmlns:tns="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10" \
xmlns:q6="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02" \
xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">\
<soap:Body>{body}</soap:Body></soap:Envelope>"""

INSERT = """<InsertCorrespondenceBasicV2 xmlns="http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10">\
<systemUserName>10001</systemUserName><systemPassword>demo-password</systemPassword>\
<SystemUserCode>DEMO</SystemUserCode><ExternalShipmentReference>{reference}</ExternalShipmentReference>\
<Correspondence>\
<q13:ServiceCode xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">4503</q13:ServiceCode>\
<q13:ServiceEdition xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">1</q13:ServiceEdition>\
<q13:Reportee xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">{reportee}</q13:Reportee>\
<q13:Content xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">\
<q13:LanguageCode>1044</q13:LanguageCode><q13:MessageTitle>Vedtak om innbyggerpost</q13:MessageTitle>\
<q13:MessageSummary>Sammendrag</q13:MessageSummary><q13:MessageBody>&lt;p&gt;Brødtekst&lt;/p&gt;</q13:MessageBody>\
<q13:Attachments><q13:BinaryAttachments><q13:BinaryAttachmentV2>\
<q13:FunctionType>Unspecified</q13:FunctionType><q13:FileName>vedtak.pdf</q13:FileName><q13:Name>Vedtak</q13:Name>\
<q13:Encrypted>false</q13:Encrypted><q13:Data>{data}</q13:Data>\
</q13:BinaryAttachmentV2></q13:BinaryAttachments></q13:Attachments></q13:Content>\
<q13:VisibleDateTime xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">{visible}</q13:VisibleDateTime>\
<q13:DueDateTime xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">{due}</q13:DueDateTime>\
<q13:ArchiveReference xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">ARK-1</q13:ArchiveReference>\
<q13:SdpOptions xmlns:q13="http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10">\
<q13:BackupAltinn>false</q13:BackupAltinn><q13:PrimaryDocumentFileName>vedtak.pdf</q13:PrimaryDocumentFileName>\
<q13:{setting}>ForwardOnly</q13:{setting}></q13:SdpOptions>\
</Correspondence></InsertCorrespondenceBasicV2>"""

TEST = "<ICorrespondenceAgencyExternalBasic_Test_InputMessage></ICorrespondenceAgencyExternalBasic_Test_InputMessage>"


def _post(url: str, body: str, operation: str) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{BASIC_ACTION}{operation}"'}
    return requests.post(url, data=ENVELOPE.format(body=body).encode(), headers=headers, timeout=30)


def _insert(url: str, reference: str, reportee: str, setting: str = "SdpSetting") -> requests.Response:
    now = dt.datetime.now(dt.UTC)
    body = INSERT.format(
        reference=reference,
        reportee=reportee,
        data=base64.b64encode(a.PDF).decode(),
        visible=now.isoformat(),
        due=(now + dt.timedelta(days=14)).isoformat(),
        setting=setting,
    )
    return _post(url, body, "InsertCorrespondenceBasicV2")


def _text(resp: requests.Response, local: str) -> str:
    found = etree.fromstring(resp.content).find(f".//{{*}}{local}")
    return "" if found is None or found.text is None else found.text


def _forwarded(stack: Stack, reference: str) -> dict[str, Any]:
    """What was stored and sent for one letter, without its ids, references and times."""
    history = a.wait_final(stack.basic_url, reference, 60)
    row = stack.row(
        "SELECT reportee, sdp_setting, backup_altinn, vendor_orgnr, postkasseadresse "
        "FROM forwardings WHERE external_shipment_reference=:r",
        r=reference,
    )
    return {**row, "history": history}


def test_the_issue_request_is_accepted_and_forwarded_like_zeeps(worker: Stack) -> None:
    shapes_before = worker.metric("innbyggerpost_soap_client_shapes_total")
    reference = a.ref("node")
    resp = _insert(worker.basic_url, reference, a.DIGIPOST)
    assert resp.status_code == 200, resp.text[:800]
    assert _text(resp, "ReceiptStatusCode") == "OK", resp.text[:800]
    assert "Digipost" in _text(resp, "ReceiptText")
    assert worker.metric("innbyggerpost_soap_client_shapes_total") > shapes_before

    same = a.ref("zeep")
    attachment = {
        "FunctionType": "Unspecified",
        "FileName": "vedtak.pdf",
        "Name": "Vedtak",
        "Encrypted": False,
    }
    corr = a.letter(
        a.DIGIPOST,
        a.sdp("ForwardOnly", backup=False, primary="vedtak.pdf"),
        attachments=[{**attachment, "Data": a.PDF}],
    )
    assert a.insert(worker.basic_url, same, corr).ReceiptStatusCode == "OK"

    node, zeep = _forwarded(worker, reference), _forwarded(worker, same)
    assert node == zeep
    assert node["history"][-1] == "Delivered_EndUser"
    assert node["sdp_setting"] == "ForwardOnly" and not node["backup_altinn"]


def test_shapes_are_counted_per_shape_in_metrics(stack: Stack) -> None:
    resp = _insert(stack.basic_url, a.ref("count"), a.EBOKS)
    assert resp.status_code == 200, resp.text[:500]
    exposed = requests.get(stack.url + "/metrics", timeout=5).text
    assert 'shape="SdpOptions: children in the parent\'s namespace"' in exposed
    assert 'shape="BinaryAttachmentV2: children in the parent\'s namespace"' in exposed


def test_a_misspelt_element_among_them_is_refused_by_its_name(stack: Stack) -> None:
    reference = a.ref("misspelt")
    resp = _insert(stack.basic_url, reference, a.DIGIPOST, setting="SdpSettin")
    assert resp.status_code == 500
    message = _text(resp, "AltinnErrorMessage")
    assert "SdpSettin': This element is not expected" in message, message
    assert stack.stored_for(reference)["receipts"] == 0


def test_test_sent_as_its_wsdl_message_name(stack: Stack) -> None:
    resp = _post(stack.basic_url, TEST, "Test")
    assert resp.status_code == 200, resp.text[:500]
    assert etree.fromstring(resp.content).find(".//{*}TestResponse") is not None
    other = _post(stack.basic_url, TEST.replace("_Test_", "_NoSuch_"), "Test")
    assert other.status_code == 500 and "Unknown operation" in _text(other, "AltinnErrorMessage")
