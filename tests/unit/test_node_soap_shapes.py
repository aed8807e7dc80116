"""node-soap's two request shapes, taken for what they mean (soap/tolerance.py), without processes.

node-soap writes every descendant of an operation parameter in the namespace of the parameter's first
level of children; the contract wants the children of types from other schemas in their own namespace.
Each test renders a request with zeep (which writes the contract's namespaces), rewrites it the way
node-soap does, and checks that the tolerance gives back exactly zeep's document: for every element
whose type comes from another namespace (``SdpOptions``, ``SdpNotifications`` and the SDP e-mail/SMS
notifications, ``BinaryAttachmentV2``, ``Notifications``, ``ReplyOptions``, the V3 ``SdpSearchOptions``).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from lxml import etree

from service import ns
from service.entrypoints.soap.operations import VARIANTS
from service.entrypoints.soap.tolerance import MESSAGE_NAME, PARENT_NAMESPACE, UnknownElements
from tests.support.reference import BASIC_WSDL, altinn_reference

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from tests.support import altinn as a

SDP_NS = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02"
NOTIFICATION = {
    "FromAddress": "post@etat.no",
    "NotificationType": "VarselDPVUtenRevarsel",
    "TextTokens": {"TextToken": [{"TokenNum": 0, "TokenValue": "Vedtak"}]},
    "ReceiverEndPoints": {"ReceiverEndPoint": [{"TransportType": "Email", "ReceiverAddress": "a@b.no"}]},
}
SDP_NOTIFICATIONS = {
    "EmailNotification": {"NotificationText": "Vedtak", "Repetitions": {"DaysDelayed": [7]}},
    "SmsNotification": {"NotificationText": "Vedtak", "Repetitions": {"DaysDelayed": [7]}},
}


def _body(operation: str, *args: Any) -> etree._Element:
    altinn_reference(BASIC_WSDL)
    client = a._client(a.BASIC_WSDL)
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1:1/x")
    env = etree.fromstring(etree.tostring(client.create_message(svc, operation, *args)))
    return env.find(f"{{{ns.SOAP11_ENV}}}Body")[0]


def _insert() -> etree._Element:
    corr = a.letter(
        a.DIGIPOST,
        a.sdp("ForwardOnly", backup=False, SdpNotifications=SDP_NOTIFICATIONS),
        Notifications={"Notification": [NOTIFICATION]},
        ReplyOptions={"ReplyOption": [{"URL": {"LinkText": "Svar", "LinkURL": "https://etat.no/svar"}}]},
    )
    return _body("InsertCorrespondenceBasicV2", "u", "p", "DEMO", "ref-1", corr)


def _as_node_soap(body: etree._Element) -> etree._Element:
    """A copy with every descendant of each parameter in the namespace of the parameter's children."""
    copy = etree.fromstring(etree.tostring(body))
    for param in copy:
        first = next((c for c in param if isinstance(c.tag, str)), None)
        if first is None:
            continue
        namespace = etree.QName(first).namespace
        for el in param.iterdescendants():
            if isinstance(el.tag, str):
                el.tag = f"{{{namespace}}}{etree.QName(el).localname}"
    return copy


def _canon(el: etree._Element) -> list[tuple[str, str]]:
    return [(e.tag, (e.text or "").strip()) for e in el.iter() if isinstance(e.tag, str)]


def test_insert_with_every_cross_namespace_element_becomes_zeeps_document(caplog: Any) -> None:
    zeep = _insert()
    node = _as_node_soap(zeep)
    assert _canon(node) != _canon(zeep), "the rewrite must change something, or the test proves nothing"
    assert node.find(f".//{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}SdpSetting") is not None
    tolerance = UnknownElements(*VARIANTS.values())
    with caplog.at_level(logging.WARNING, logger="service.entrypoints.soap.tolerance"):
        assert tolerance.strip(node) == 0
        assert tolerance.strip(_as_node_soap(zeep)) == 0
    assert _canon(node) == _canon(zeep)
    shapes = tolerance.shapes.snapshot()
    for where in (
        "SdpOptions",
        "SdpNotifications",
        "SdpEmailNotification",
        "SdpSmsNotification",
        "BinaryAttachmentV2",
        "Notification",
        "ReplyOption",
    ):
        assert shapes.get(f"{where}: {PARENT_NAMESPACE}", 0) >= 2, (where, shapes)
    logged = [r for r in caplog.records if f"SdpOptions: {PARENT_NAMESPACE}" in r.getMessage()]
    assert len(logged) == 1, "logged once per shape"


def test_v3_status_request_becomes_zeeps_document() -> None:
    v3 = _body(
        "GetCorrespondenceStatusDetailsBasicV3",
        "u",
        "p",
        {"ServiceCode": "4503", "ServiceEditionCode": 1, "SdpSearchOptions": {"IncludeCorrespondence": True}},
    )
    node = _as_node_soap(v3)
    UnknownElements(*VARIANTS.values()).strip(node)
    assert _canon(node) == _canon(v3)


def test_a_misspelt_child_is_left_for_validation_to_refuse_and_nothing_is_guessed() -> None:
    node = _as_node_soap(_insert())
    options = node.find(f".//{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}SdpOptions")
    assert options is not None
    setting = options.find(f"{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}SdpSetting")
    assert setting is not None
    setting.tag = f"{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}SdpSettin"
    UnknownElements(*VARIANTS.values()).strip(node)
    assert options.find(f"{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}SdpSettin") is not None, "not dropped"
    assert options.find(f"{{{SDP_NS}}}SdpSetting") is None, "not taken for another element"
    assert options.find(f"{{{SDP_NS}}}BackupAltinn") is not None, "its correctly spelt siblings are taken"


def test_one_child_in_the_right_namespace_means_no_renaming() -> None:
    node = _as_node_soap(_insert())
    options = node.find(f".//{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}SdpOptions")
    assert options is not None
    options[0].tag = f"{{{SDP_NS}}}{etree.QName(options[0]).localname}"  # BackupAltinn, right namespace
    wrong = [etree.QName(c).localname for c in options[1:]]
    tolerance = UnknownElements(*VARIANTS.values())
    assert tolerance.strip(node) == len(wrong), "the others are unknown elements, as before"
    assert [etree.QName(c).localname for c in options] == ["BackupAltinn"]
    assert not any(PARENT_NAMESPACE in k for k in tolerance.shapes.snapshot() if k.startswith("SdpOptions"))


def test_test_sent_by_its_wsdl_message_name() -> None:
    tolerance = UnknownElements(*VARIANTS.values())
    test = VARIANTS["basic"].operation("Test")
    for tag in (test.input_message, f"{{{VARIANTS['basic'].target_namespace}}}{test.input_message}"):
        wrapper = etree.Element(tag)
        assert tolerance.strip(wrapper) == 0
        assert wrapper.tag == test.in_message_name
    assert tolerance.shapes.snapshot() == {f"Test: {MESSAGE_NAME}": 2}
    for other in ("ICorrespondenceAgencyExternalBasic_Tset_InputMessage", "{urn:x}" + test.input_message):
        wrapper = etree.Element(other)
        tolerance.strip(wrapper)
        assert wrapper.tag == other, "only the contract's own message names, as node-soap writes them"
    history = VARIANTS["basic"].operation("GetCorrespondenceStatusHistoryBasic")
    assert history.input_message == history.in_element, "a message contract"
    wrapper = etree.Element(history.input_message)  # its element's name without its namespace
    tolerance.strip(wrapper)
    assert wrapper.tag == history.input_message, "not taken: node-soap writes this one in its namespace"
