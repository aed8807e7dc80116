"""The generated spyne models and operation table interoperate with clients of the published contract.

A tiny spyne application declares operations from ``operations.py`` with the models of ``types.py``
(``validator='lxml'``: spyne validates every request against the schema it derives from the models)
and is called by zeep clients built from the UNMODIFIED reference WSDLs, only the address changed.
zeep adds WS-Addressing headers on both bindings: the server must accept them.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from spyne import Application, ServiceBase, rpc
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication
from zeep import Client

from service import ns
from service.entrypoints.soap import types as t
from service.entrypoints.soap.operations import BASIC, VARIANTS, WS
from service.entrypoints.soap.spyne_compat import route_by_request_element
from tests.support.reference import BASIC_WSDL, WS_WSDL, altinn_reference

NS_WSDL = "{http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10}"
PDF = b"%PDF-1.4 primary document " + bytes(range(256))
XML_ATTACHMENT = "<skjema><felt>1</felt></skjema>"
WSA = "http://www.w3.org/2005/08/addressing"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server:
    def __init__(self, app: Application):
        self.httpd: WSGIServer = make_server(
            "127.0.0.1", 0, WsgiApplication(app), handler_class=_QuietHandler
        )
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _data(value: Any) -> bytes:
    """spyne hands ByteArray values over as a sequence of chunks."""
    return b"".join(value) if isinstance(value, list | tuple) else value


# ------------------------------------------------------------------------------------------- Basic

BASIC_RECEIVED: list[dict[str, Any]] = []
RECEIPT_TIME = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)

_INSERT_BASIC = BASIC.operation("InsertCorrespondenceBasicV2")


def _receipt() -> t.ReceiptExternal:
    sub = t.ReceiptExternal(
        LastChanged=RECEIPT_TIME,
        ParentReceiptId=4711,
        ReceiptId=4712,
        ReceiptStatusCode=t.ReceiptStatusEnum.OK,
        ReceiptText="Forwarded to Digipost",
        ReceiptTypeName=t.ReceiptTypeEnum.Correspondence,
    )
    return t.ReceiptExternal(
        LastChanged=RECEIPT_TIME,
        ParentReceiptId=0,
        ReceiptHistory="06.05.2024 07:08:09 - OK - Correspondence saved",
        ReceiptId=4711,
        ReceiptStatusCode=t.ReceiptStatusEnum.OK,
        ReceiptText="Correspondence saved",
        ReceiptTypeName=t.ReceiptTypeEnum.Correspondence,
        References=t.ReferenceList(
            Reference=[
                t.Reference(ReferenceTypeName="ExternalShipmentReference", ReferenceValue="ext-1"),
                t.Reference(ReferenceTypeName="OwnerPartyReference", ReferenceValue="01018010018"),
            ]
        ),
        SubReceipts=t.ReceiptExternalList(ReceiptExternal=[sub]),
    )


class BasicService(ServiceBase):
    @rpc(*_INSERT_BASIC.in_types, **_INSERT_BASIC.rpc_kwargs())
    def InsertCorrespondenceBasicV2(  # noqa: N802
        ctx,
        systemUserName,
        systemPassword,
        SystemUserCode,
        ExternalShipmentReference,
        Correspondence,  # noqa: N803
    ):
        BASIC_RECEIVED.append(
            {
                "systemUserName": systemUserName,
                "systemPassword": systemPassword,
                "SystemUserCode": SystemUserCode,
                "ExternalShipmentReference": ExternalShipmentReference,
                "Correspondence": Correspondence,
                "headers": [h.tag for h in (ctx.in_header_doc or [])],
            }
        )
        return _receipt()


@pytest.fixture(scope="module")
def basic_server() -> Iterator[_Server]:
    app = Application(
        [BasicService],
        tns=BASIC.target_namespace,
        name=BASIC.definitions_name,
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )
    route_by_request_element(app)
    server = _Server(app)
    yield server
    server.close()


def _full_correspondence() -> dict[str, Any]:
    visible = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    return {
        "ServiceCode": "4503",
        "ServiceEdition": "2",
        "Reportee": "01018010018",
        "Content": {
            "LanguageCode": "1044",
            "MessageTitle": "Vedtak om tilskudd",
            "MessageSummary": "Sammendrag",
            "MessageBody": "<p>Brødtekst æøå</p>",
            "Attachments": {
                "BinaryAttachments": {
                    "BinaryAttachmentV2": [
                        {
                            "DestinationType": "ShowToAll",
                            "FunctionType": "Unspecified",
                            "FileName": "vedtak.pdf",
                            "Name": "Vedtak",
                            "Encrypted": False,
                            "Data": PDF,
                            "SendersReference": "att-1",
                        },
                        {
                            "DestinationType": "PortalOnly",
                            "FunctionType": "Invoice",
                            "FileName": "faktura.pdf",
                            "Name": "Faktura",
                            "Encrypted": True,
                            "Data": b"\x00\x01\x02",
                            "SendersReference": None,
                        },
                    ]
                },
                "XmlAttachmentList": {
                    "XmlAttachmentV2": [
                        {
                            "SendersReference": "xml-1",
                            "FormDataXml": XML_ATTACHMENT,
                            "DataFormatId": "5703",
                            "DataFormatVersion": 34589,
                            "LogicalFormInFormSetID": 1,
                        }
                    ]
                },
            },
            "CustomMessageData": "custom",
        },
        "VisibleDateTime": visible,
        "AllowSystemDeleteDateTime": visible + dt.timedelta(days=365),
        "DueDateTime": visible + dt.timedelta(days=30),
        "ArchiveReference": "AR-1",
        "ReplyOptions": {
            "ReplyOption": [
                {"Service": {"ServiceCode": "1234", "ServiceEdition": "1"}},
                {"ArchiveReference": {"ArchiveRef": "AR-0"}},
                {"URL": {"LinkText": "Svar her", "LinkURL": "https://example.org/svar"}},
            ]
        },
        "Notifications": {
            "Notification": [
                {
                    "FromAddress": "no-reply@altinn.no",
                    "ShipmentDateTime": visible,
                    "LanguageCode": "1044",
                    "NotificationType": "VarselDPVUtenRevarsel",
                    "TextTokens": {
                        "TextToken": [
                            {"TokenNum": 0, "TokenValue": "Ny melding"},
                            {"TokenNum": 1, "TokenValue": "Du har fått post"},
                        ]
                    },
                    "ReceiverEndPoints": {
                        "ReceiverEndPoint": [
                            {"TransportType": "Email", "ReceiverAddress": "ola@example.org"},
                            {"TransportType": "SMS", "ReceiverAddress": None},
                        ]
                    },
                }
            ]
        },
        "AllowForwarding": False,
        "CaseID": 42,
        "MessageSender": "Etaten",
        "IsReservable": True,
        "SdpOptions": {
            "BackupAltinn": True,
            "NotSensitiveTitle": "Brev fra etaten",
            "PrimaryDocumentFileName": "vedtak.pdf",
            "SdpNotifications": {
                "EmailNotification": {
                    "NotificationText": "Du har fått digital post",
                    "Repetitions": {"DaysDelayed": [0, 7]},
                    "EmailAddress": "ola@example.org",
                },
                "SmsNotification": {
                    "NotificationText": "Digital post",
                    "Repetitions": {"DaysDelayed": [1]},
                    "MobileNumber": "+4799999999",
                },
            },
            "SdpSetting": "CopyAltinn",
            "Title": "Vedtak",
            "VisibleDateTime": visible,
        },
        "OnBehalfOfOrgNr": "910000000",
    }


def test_zeep_basic_insert_correspondence_v2_full_round_trip(basic_server: _Server) -> None:
    client = Client(str(altinn_reference(BASIC_WSDL)))
    service = client.create_service(f"{NS_WSDL}{BASIC.binding}", basic_server.url)
    BASIC_RECEIVED.clear()

    receipt = service.InsertCorrespondenceBasicV2(
        systemUserName="etat-system",
        systemPassword="hemmelig",
        SystemUserCode="ETAT_SYS",
        ExternalShipmentReference="ext-1",
        Correspondence=_full_correspondence(),
    )

    # --- what the server received
    (got,) = BASIC_RECEIVED
    assert got["systemUserName"] == "etat-system"
    assert got["systemPassword"] == "hemmelig"
    assert got["SystemUserCode"] == "ETAT_SYS"
    assert got["ExternalShipmentReference"] == "ext-1"
    assert f"{{{WSA}}}Action" in got["headers"], "zeep sends WS-Addressing headers, spyne must accept them"
    c = got["Correspondence"]
    assert isinstance(c, t.InsertCorrespondenceV2)
    assert (c.ServiceCode, c.ServiceEdition, c.Reportee) == ("4503", "2", "01018010018")
    visible = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert c.VisibleDateTime == visible
    assert c.AllowSystemDeleteDateTime == visible + dt.timedelta(days=365)
    assert c.DueDateTime == visible + dt.timedelta(days=30)
    assert c.ArchiveReference == "AR-1"
    assert (c.AllowForwarding, c.CaseID, c.MessageSender, c.IsReservable) == (False, 42, "Etaten", True)
    assert c.OnBehalfOfOrgNr == "910000000"

    content = c.Content
    assert (content.LanguageCode, content.MessageTitle, content.MessageSummary) == (
        "1044",
        "Vedtak om tilskudd",
        "Sammendrag",
    )
    assert content.MessageBody == "<p>Brødtekst æøå</p>"
    assert content.CustomMessageData == "custom"
    att1, att2 = content.Attachments.BinaryAttachments.BinaryAttachmentV2
    assert (att1.DestinationType, att1.FunctionType, att1.FileName, att1.Name, att1.Encrypted) == (
        "ShowToAll",
        "Unspecified",
        "vedtak.pdf",
        "Vedtak",
        False,
    )
    assert _data(att1.Data) == PDF
    assert att1.SendersReference == "att-1"
    assert (att2.DestinationType, att2.FunctionType, att2.Encrypted, _data(att2.Data)) == (
        "PortalOnly",
        "Invoice",
        True,
        b"\x00\x01\x02",
    )
    assert att2.SendersReference is None
    (xml_att,) = content.Attachments.XmlAttachmentList.XmlAttachmentV2
    assert (xml_att.SendersReference, xml_att.FormDataXml, xml_att.DataFormatId) == (
        "xml-1",
        XML_ATTACHMENT,
        "5703",
    )
    assert (xml_att.DataFormatVersion, xml_att.LogicalFormInFormSetID) == (34589, 1)

    service_opt, archive_opt, url_opt = c.ReplyOptions.ReplyOption
    assert (service_opt.Service.ServiceCode, service_opt.Service.ServiceEdition) == ("1234", "1")
    assert archive_opt.ArchiveReference.ArchiveRef == "AR-0"
    assert (url_opt.URL.LinkText, url_opt.URL.LinkURL) == ("Svar her", "https://example.org/svar")

    (notification,) = c.Notifications.Notification
    assert isinstance(notification, t.Notification)
    assert (notification.FromAddress, notification.ShipmentDateTime, notification.LanguageCode) == (
        "no-reply@altinn.no",
        visible,
        "1044",
    )
    assert notification.NotificationType == "VarselDPVUtenRevarsel"
    assert [(tt.TokenNum, tt.TokenValue) for tt in notification.TextTokens.TextToken] == [
        (0, "Ny melding"),
        (1, "Du har fått post"),
    ]
    assert [
        (e.TransportType, e.ReceiverAddress) for e in notification.ReceiverEndPoints.ReceiverEndPoint
    ] == [
        ("Email", "ola@example.org"),
        ("SMS", None),
    ]

    sdp = c.SdpOptions
    assert (sdp.BackupAltinn, sdp.NotSensitiveTitle, sdp.PrimaryDocumentFileName) == (
        True,
        "Brev fra etaten",
        "vedtak.pdf",
    )
    assert (sdp.SdpSetting, sdp.Title, sdp.VisibleDateTime) == ("CopyAltinn", "Vedtak", visible)
    email, sms = sdp.SdpNotifications.EmailNotification, sdp.SdpNotifications.SmsNotification
    assert isinstance(email, t.SdpEmailNotification) and isinstance(sms, t.SdpSmsNotification)
    assert (email.NotificationText, list(email.Repetitions.DaysDelayed), email.EmailAddress) == (
        "Du har fått digital post",
        [0, 7],
        "ola@example.org",
    )
    assert (sms.NotificationText, list(sms.Repetitions.DaysDelayed), sms.MobileNumber) == (
        "Digital post",
        [1],
        "+4799999999",
    )

    # --- what zeep parsed from the response
    assert receipt.ReceiptId == 4711
    assert receipt.ParentReceiptId == 0
    assert receipt.LastChanged == RECEIPT_TIME
    assert receipt.ReceiptStatusCode == "OK"
    assert receipt.ReceiptTypeName == "Correspondence"
    assert receipt.ReceiptText == "Correspondence saved"
    assert receipt.ReceiptHistory.startswith("06.05.2024")
    assert [(r.ReferenceTypeName, r.ReferenceValue) for r in receipt.References.Reference] == [
        ("ExternalShipmentReference", "ext-1"),
        ("OwnerPartyReference", "01018010018"),
    ]
    (sub,) = receipt.SubReceipts.ReceiptExternal
    assert (sub.ReceiptId, sub.ParentReceiptId, sub.ReceiptStatusCode) == (4712, 4711, "OK")
    assert sub.ReceiptText == "Forwarded to Digipost"
    assert sub.References is None and sub.SubReceipts is None


def test_basic_insert_rejects_request_violating_the_schema(basic_server: _Server) -> None:
    """validator='lxml' enforces the published cardinalities (SdpSetting is required)."""
    client = Client(str(altinn_reference(BASIC_WSDL)))
    service = client.create_service(f"{NS_WSDL}{BASIC.binding}", basic_server.url)
    correspondence = _full_correspondence()
    correspondence["SdpOptions"]["SdpSetting"] = "Bogus"
    from zeep.exceptions import Fault

    with pytest.raises(Fault):
        service.InsertCorrespondenceBasicV2(
            systemUserName="u",
            systemPassword="p",
            SystemUserCode="S",
            ExternalShipmentReference="x",
            Correspondence=correspondence,
        )


# ---------------------------------------------------------------------------------------------- WS

WS_RECEIVED: list[Any] = []
_TEST_WS = WS.operation("Test")
_V3_WS = WS.operation("GetCorrespondenceStatusDetailsV3")


class WsService(ServiceBase):
    @rpc(*_TEST_WS.in_types, **_TEST_WS.rpc_kwargs())
    def Test(ctx):  # noqa: N802
        WS_RECEIVED.append(("Test", [h.tag for h in (ctx.in_header_doc or [])]))

    @rpc(*_V3_WS.in_types, **_V3_WS.rpc_kwargs())
    def GetCorrespondenceStatusDetailsV3(ctx, filterCriteria):  # noqa: N802, N803
        WS_RECEIVED.append(("V3", filterCriteria))
        when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        return t.CorrespondenceStatusResultV3(
            CorrespondenceStatusInformation=t.CorrespondenceStatusInformation(
                CorrespondenceStatusDetailsList=t.ArrayOfStatusV2(
                    StatusV2=[
                        t.StatusV2(
                            CorrespondenceID=100,
                            CreatedDate=when,
                            Notifications=t.ArrayOfNotification(
                                Notification=[
                                    t.StatusNotification(
                                        Recipient="ola@example.org", SentDate=when, TransportType="Email"
                                    )
                                ]
                            ),
                            Reportee="01018010018",
                            SendersReference="ref-1",
                            StatusChanges=t.ArrayOfStatusChangeV2(
                                StatusChangeV2=[
                                    t.StatusChangeV2(StatusDate=when, StatusType="Created"),
                                    t.StatusChangeV2(StatusDate=when, StatusType="Reserved"),
                                ]
                            ),
                        )
                    ]
                ),
                LimitReached=False,
            ),
            SdpStatusInformation=t.SdpStatusInformation(
                LimitReached=True,
                SdpStatusDetailsList=t.ArrayOfSdpStatusDetails(
                    SdpStatusDetails=[
                        t.SdpStatusDetails(
                            CorrespondenceId=None,
                            CreatedDateTime=when,
                            LastChangedDateTime=when,
                            Reference="ext-1",
                            Reportee="01018010018",
                            SdpId=7,
                            StatusHistory=t.ArrayOfSdpStatusChange(
                                SdpStatusChange=[
                                    t.SdpStatusChange(Status="Sent_Meldingsformidler", StatusDateTime=when),
                                    t.SdpStatusChange(Status="Delivered_EndUser", StatusDateTime=when),
                                ]
                            ),
                        )
                    ]
                ),
            ),
            ServiceCode="4503",
            ServiceEditionCode=2,
        )


@pytest.fixture(scope="module")
def ws_server() -> Iterator[_Server]:
    app = Application(
        [WsService],
        tns=WS.target_namespace,
        name=WS.definitions_name,
        in_protocol=Soap12(validator="lxml"),
        out_protocol=Soap12(),
    )
    route_by_request_element(app)
    server = _Server(app)
    yield server
    server.close()


def _ws_service(url: str) -> Any:
    client = Client(str(altinn_reference(WS_WSDL)))
    return client.create_service(f"{NS_WSDL}{WS.binding}", url)


def test_zeep_ws_test_operation_with_ws_addressing(ws_server: _Server) -> None:
    WS_RECEIVED.clear()
    assert _ws_service(ws_server.url).Test() is None
    ((name, headers),) = WS_RECEIVED
    assert name == "Test"
    assert {f"{{{WSA}}}Action", f"{{{WSA}}}MessageID", f"{{{WSA}}}To"} <= set(headers)


def test_zeep_ws_get_correspondence_status_details_v3(ws_server: _Server) -> None:
    WS_RECEIVED.clear()
    after = dt.datetime(2023, 12, 1, tzinfo=dt.UTC)
    result = _ws_service(ws_server.url).GetCorrespondenceStatusDetailsV3(
        filterCriteria={
            "CreatedAfterDate": after,
            "CreatedBeforeDate": None,
            "CurrentStatus": "Reserved",
            "NotificationSent": True,
            "Reportee": "01018010018",
            "SdpSearchOptions": {"IncludeCorrespondence": True},
            "SendersReference": "ref-1",
            "ServiceCode": "4503",
            "ServiceEditionCode": 2,
        }
    )
    ((name, f),) = WS_RECEIVED
    assert name == "V3"
    assert isinstance(f, t.CorrespondenceStatusFilterV3)
    assert (f.CreatedAfterDate, f.CreatedBeforeDate, f.CurrentStatus, f.NotificationSent) == (
        after,
        None,
        "Reserved",
        True,
    )
    assert (f.Reportee, f.SendersReference, f.ServiceCode, f.ServiceEditionCode) == (
        "01018010018",
        "ref-1",
        "4503",
        2,
    )
    assert f.SdpSearchOptions.IncludeCorrespondence is True

    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert (result.ServiceCode, result.ServiceEditionCode) == ("4503", 2)
    info = result.CorrespondenceStatusInformation
    assert info.LimitReached is False
    (status,) = info.CorrespondenceStatusDetailsList.StatusV2
    assert (status.CorrespondenceID, status.CreatedDate, status.Reportee, status.SendersReference) == (
        100,
        when,
        "01018010018",
        "ref-1",
    )
    (n,) = status.Notifications.Notification
    assert (n.Recipient, n.SentDate, n.TransportType) == ("ola@example.org", when, "Email")
    assert [(s.StatusDate, s.StatusType) for s in status.StatusChanges.StatusChangeV2] == [
        (when, "Created"),
        (when, "Reserved"),
    ]
    sdp = result.SdpStatusInformation
    assert sdp.LimitReached is True
    (details,) = sdp.SdpStatusDetailsList.SdpStatusDetails
    assert details.CorrespondenceId is None
    assert (details.Reference, details.Reportee, details.SdpId) == ("ext-1", "01018010018", 7)
    assert [(s.Status, s.StatusDateTime) for s in details.StatusHistory.SdpStatusChange] == [
        ("Sent_Meldingsformidler", when),
        ("Delivered_EndUser", when),
    ]


# ----------------------------------------------------------------------------------- models, table


def test_every_published_type_has_a_model() -> None:
    names = {(cls.get_namespace(), cls.get_type_name()) for cls in t.ALL_TYPES}
    assert len(names) == len(t.ALL_TYPES) == 70
    assert (ns.ALTINN_CORRESPONDENCE_2010_10, "InsertCorrespondenceV2") in names
    assert (ns.ALTINN_CORRESPONDENCE_2013_11, "Notification") in names
    assert (ns.ALTINN_NOTIFICATION_2009_10, "Notification") in names
    assert t.StatusNotification.get_type_name() == t.Notification.get_type_name() == "Notification"


def test_operation_table_covers_both_variants() -> None:
    assert [op.name for op in VARIANTS["basic"].operations] == [
        "Test",
        "CreateSimpleCorrespondenceServiceBasic",
        "GetCorrespondenceStatusDetailsBasic",
        "GetCorrespondenceStatusDetailsBasicV2",
        "GetCorrespondenceStatusDetailsBasicV3",
        "GetCorrespondenceStatusHistoryBasic",
        "InsertCorrespondenceBasic",
        "InsertCorrespondenceBasicV2",
    ]
    assert [op.name for op in VARIANTS["ws"].operations] == [
        "Test",
        "CreateSimpleCorrespondenceService",
        "GetCorrespondenceStatusDetails",
        "GetCorrespondenceStatusDetailsV2",
        "GetCorrespondenceStatusDetailsV3",
        "GetCorrespondenceStatusHistory",
        "InsertCorrespondence",
        "InsertCorrespondenceV2",
    ]
    history = BASIC.operation("GetCorrespondenceStatusHistoryBasic")
    assert history.in_element == "CorrespondenceStatusHistoryRequest"
    assert [p.name for p in history.header_parts] == ["SystemPassword", "SystemUserName"]
    assert history.input_message == "CorrespondenceStatusHistoryRequest"
    assert (
        WS.operation("GetCorrespondenceStatusHistory").input_message
        == "CorrespondenceStatusHistoryRequestExternalBE"
    )
    assert (
        WS.operation("InsertCorrespondenceV2").in_params[2].type.get_namespace()
        == ns.ALTINN_CORRESPONDENCE_2010_10
    )


# ------------------------------------------------------------------- Basic history (SOAP headers)

HISTORY_RECEIVED: list[Any] = []
_HISTORY_BASIC = BASIC.operation("GetCorrespondenceStatusHistoryBasic")


def _header_text(ctx: Any, op: Any, part: str) -> str | None:
    """Read one soap:header part by QName (spyne's ``_in_header`` matches headers by position)."""
    for el in ctx.in_header_doc or []:
        if el.tag == op.header_qname(part):
            return el.text
    return None


class HistoryService(ServiceBase):
    @rpc(*_HISTORY_BASIC.in_types, **_HISTORY_BASIC.rpc_kwargs())
    def GetCorrespondenceStatusHistoryBasic(ctx, CorrespondenceSendersReferences):  # noqa: N802, N803
        HISTORY_RECEIVED.append(
            (
                _header_text(ctx, _HISTORY_BASIC, "SystemUserName"),
                _header_text(ctx, _HISTORY_BASIC, "SystemPassword"),
                list(CorrespondenceSendersReferences.string),
            )
        )
        return (
            t.CorrespondenceStatusInformation(LimitReached=False),
            t.SdpStatusInformation(LimitReached=True),
        )


def test_zeep_basic_history_with_soap_headers() -> None:
    app = Application(
        [HistoryService],
        tns=BASIC.target_namespace,
        name=BASIC.definitions_name,
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )
    route_by_request_element(app)
    server = _Server(app)
    try:
        client = Client(str(altinn_reference(BASIC_WSDL)))
        service = client.create_service(f"{NS_WSDL}{BASIC.binding}", server.url)
        HISTORY_RECEIVED.clear()
        result = service.GetCorrespondenceStatusHistoryBasic(
            CorrespondenceSendersReferences={"string": ["ref-1", "ref-2"]},
            _soapheaders={"SystemUserName": "etat-system", "SystemPassword": "hemmelig"},
        )
    finally:
        server.close()
    assert HISTORY_RECEIVED == [("etat-system", "hemmelig", ["ref-1", "ref-2"])]
    assert result.CorrespondenceStatusInformation.LimitReached is False
    assert result.SdpStatusInformation.LimitReached is True
