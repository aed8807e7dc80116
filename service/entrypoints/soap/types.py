"""Spyne models of the Altinn 2 correspondence contract (CorrespondenceAgencyExternal).

GENERATED FILE: do not edit. Written by ``make generate`` (service/tools/codegen.py) from the
published WSDL schemas (type names, namespaces, element order, minOccurs/maxOccurs/nillable as
published). Declarations only; hand-written code lives in the other modules of this package.

WCF conventions kept as published: value types (int, bool, dateTime, enums) are ``minOccurs=0`` and
not nillable unless the contract says so; strings and complex types are ``minOccurs=0`` and
nillable; list types are wrapper complex types with one repeated child element.
"""

# ruff: noqa: E501

from spyne.model.binary import ByteArray
from spyne.model.complex import ComplexModel
from spyne.model.primitive import (
    Boolean,
    DateTime,
    Duration,
    Integer32,
    Unicode,
    UnsignedInteger32,
)

from ... import ns
from .spyne_compat import EnumModel


class MsChar(Integer32):
    __type_name__ = "char"
    __namespace__ = ns.MS_SERIALIZATION


class MsDuration(Duration):
    __type_name__ = "duration"
    __namespace__ = ns.MS_SERIALIZATION


MsGuid = Unicode.customize(
    type_name="guid",
    __namespace__=ns.MS_SERIALIZATION,
    pattern="[\\da-fA-F]{8}-[\\da-fA-F]{4}-[\\da-fA-F]{4}-[\\da-fA-F]{4}-[\\da-fA-F]{12}",
)


class AltinnFault(ComplexModel):
    __type_name__ = "AltinnFault"
    __namespace__ = ns.ALTINN_FAULT_2009_10
    _type_info = [
        ("AltinnErrorMessage", Unicode(min_occurs=0, nillable=True)),
        ("AltinnExtendedErrorMessage", Unicode(min_occurs=0, nillable=True)),
        ("AltinnLocalizedErrorMessage", Unicode(min_occurs=0, nillable=True)),
        ("ErrorGuid", Unicode(min_occurs=0, nillable=True)),
        ("ErrorID", Integer32(min_occurs=0, nillable=False)),
        ("UserGuid", Unicode(min_occurs=0, nillable=True)),
        ("UserId", Unicode(min_occurs=0, nillable=True)),
    ]


class CorrespondenceServiceInfo(ComplexModel):
    __type_name__ = "CorrespondenceServiceInfo"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_06
    _type_info = [
        ("ExternalServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ExternalServiceEditionCode", Integer32(min_occurs=0, nillable=False)),
    ]


class CorrespondenceStatusType(EnumModel):
    __type_name__ = "CorrespondenceStatusType"
    __namespace__ = ns.ALTINN_SERVICE_ENTITY_2013_11
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "Created",
            "Read",
            "Confirmed",
        )

    Created = "Created"
    Read = "Read"
    Confirmed = "Confirmed"

    # WCF data contract values of the members (published as ser:EnumerationValue)
    _enumeration_values = {"Created": 1, "Read": 2, "Confirmed": 6}


class CorrespondenceStatusFilter(ComplexModel):
    __type_name__ = "CorrespondenceStatusFilter"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("CreatedAfterDate", DateTime(min_occurs=0, nillable=True)),
        ("CreatedBeforeDate", DateTime(min_occurs=0, nillable=True)),
        ("CurrentStatus", CorrespondenceStatusType.customize(min_occurs=0, nillable=False)),
        ("NotificationSent", Boolean(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("ServiceCode", Unicode(min_occurs=1, nillable=True)),
        ("ServiceEditionCode", Integer32(min_occurs=1, nillable=False)),
    ]


class TransportType(EnumModel):
    __type_name__ = "TransportType"
    __namespace__ = ns.ALTINN_FORMSENGINE_2009_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "SMS",
            "Email",
            "IM",
            "Both",
            "SMSPreferred",
            "EmailPreferred",
        )

    SMS = "SMS"
    Email = "Email"
    IM = "IM"
    Both = "Both"
    SMSPreferred = "SMSPreferred"
    EmailPreferred = "EmailPreferred"

    # WCF data contract values of the members (published as ser:EnumerationValue)
    _enumeration_values = {"SMS": 1, "Email": 2, "IM": 3, "Both": 4, "SMSPreferred": 5, "EmailPreferred": 6}


class StatusNotification(ComplexModel):
    __type_name__ = "Notification"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("Recipient", Unicode(min_occurs=0, nillable=True)),
        ("SentDate", DateTime(min_occurs=0, nillable=True)),
        ("TransportType", TransportType.customize(min_occurs=0, nillable=False)),
    ]


class ArrayOfNotification(ComplexModel):
    __type_name__ = "ArrayOfNotification"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("Notification", StatusNotification.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class StatusChange(ComplexModel):
    __type_name__ = "StatusChange"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("StatusDate", DateTime(min_occurs=0, nillable=False)),
        ("StatusType", CorrespondenceStatusType.customize(min_occurs=0, nillable=False)),
    ]


class ArrayOfStatusChange(ComplexModel):
    __type_name__ = "ArrayOfStatusChange"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("StatusChange", StatusChange.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class Status(ComplexModel):
    __type_name__ = "Status"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("CorrespondenceID", Integer32(min_occurs=0, nillable=False)),
        ("CreatedDate", DateTime(min_occurs=0, nillable=False)),
        ("Notifications", ArrayOfNotification.customize(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("StatusChanges", ArrayOfStatusChange.customize(min_occurs=0, nillable=True)),
    ]


class ArrayOfStatus(ComplexModel):
    __type_name__ = "ArrayOfStatus"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("Status", Status.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class CorrespondenceStatusResult(ComplexModel):
    __type_name__ = "CorrespondenceStatusResult"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2013_11
    _type_info = [
        ("LimitReached", Boolean(min_occurs=0, nillable=False)),
        ("ServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ServiceEditionCode", Integer32(min_occurs=0, nillable=False)),
        ("StatusList", ArrayOfStatus.customize(min_occurs=0, nillable=True)),
    ]


class CorrespondenceStatusTypeV2(EnumModel):
    __type_name__ = "CorrespondenceStatusTypeV2"
    __namespace__ = ns.ALTINN_SERVICE_ENTITY_2014_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "NotSet",
            "Created",
            "Read",
            "Confirmed",
            "Reserved",
        )

    NotSet = "NotSet"
    Created = "Created"
    Read = "Read"
    Confirmed = "Confirmed"
    Reserved = "Reserved"

    # WCF data contract values of the members (published as ser:EnumerationValue)
    _enumeration_values = {"Confirmed": 6, "Reserved": 10}


class CorrespondenceStatusFilterV2(ComplexModel):
    __type_name__ = "CorrespondenceStatusFilterV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2014_10
    _type_info = [
        ("CreatedAfterDate", DateTime(min_occurs=0, nillable=True)),
        ("CreatedBeforeDate", DateTime(min_occurs=0, nillable=True)),
        ("CurrentStatus", CorrespondenceStatusTypeV2.customize(min_occurs=0, nillable=False)),
        ("NotificationSent", Boolean(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("ServiceCode", Unicode(min_occurs=1, nillable=True)),
        ("ServiceEditionCode", Integer32(min_occurs=1, nillable=False)),
    ]


class StatusChangeV2(ComplexModel):
    __type_name__ = "StatusChangeV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2014_10
    _type_info = [
        ("StatusDate", DateTime(min_occurs=0, nillable=False)),
        ("StatusType", CorrespondenceStatusTypeV2.customize(min_occurs=0, nillable=False)),
    ]


class ArrayOfStatusChangeV2(ComplexModel):
    __type_name__ = "ArrayOfStatusChangeV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2014_10
    _type_info = [
        ("StatusChangeV2", StatusChangeV2.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class StatusV2(ComplexModel):
    __type_name__ = "StatusV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2014_10
    _type_info = [
        ("CorrespondenceID", Integer32(min_occurs=0, nillable=False)),
        ("CreatedDate", DateTime(min_occurs=0, nillable=False)),
        ("Notifications", ArrayOfNotification.customize(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("StatusChanges", ArrayOfStatusChangeV2.customize(min_occurs=0, nillable=True)),
    ]


class ArrayOfStatusV2(ComplexModel):
    __type_name__ = "ArrayOfStatusV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2014_10
    _type_info = [
        ("StatusV2", StatusV2.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class CorrespondenceStatusResultV2(ComplexModel):
    __type_name__ = "CorrespondenceStatusResultV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2014_10
    _type_info = [
        ("LimitReached", Boolean(min_occurs=0, nillable=False)),
        ("ServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ServiceEditionCode", Integer32(min_occurs=0, nillable=False)),
        ("StatusList", ArrayOfStatusV2.customize(min_occurs=0, nillable=True)),
    ]


class SdpStatusSearchOptions(ComplexModel):
    __type_name__ = "SdpStatusSearchOptions"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("IncludeCorrespondence", Boolean(min_occurs=1, nillable=False)),
    ]


class CorrespondenceStatusFilterV3(ComplexModel):
    __type_name__ = "CorrespondenceStatusFilterV3"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("CreatedAfterDate", DateTime(min_occurs=0, nillable=True)),
        ("CreatedBeforeDate", DateTime(min_occurs=0, nillable=True)),
        ("CurrentStatus", CorrespondenceStatusTypeV2.customize(min_occurs=0, nillable=False)),
        ("NotificationSent", Boolean(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("SdpSearchOptions", SdpStatusSearchOptions.customize(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("ServiceCode", Unicode(min_occurs=1, nillable=True)),
        ("ServiceEditionCode", Integer32(min_occurs=1, nillable=False)),
    ]


class CorrespondenceStatusInformation(ComplexModel):
    __type_name__ = "CorrespondenceStatusInformation"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("CorrespondenceStatusDetailsList", ArrayOfStatusV2.customize(min_occurs=0, nillable=True)),
        ("LimitReached", Boolean(min_occurs=0, nillable=False)),
    ]


class SdpStatusType(EnumModel):
    __type_name__ = "SdpStatusType"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "Unknown",
            "Sent_Meldingsformidler",
            "Delivered_EndUser",
            "Delivery_EndUser_Failed",
            "Reserved",
            "NoMailBox",
        )

    Unknown = "Unknown"
    Sent_Meldingsformidler = "Sent_Meldingsformidler"
    Delivered_EndUser = "Delivered_EndUser"
    Delivery_EndUser_Failed = "Delivery_EndUser_Failed"
    Reserved = "Reserved"
    NoMailBox = "NoMailBox"


class SdpStatusChange(ComplexModel):
    __type_name__ = "SdpStatusChange"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("Status", SdpStatusType.customize(min_occurs=0, nillable=False)),
        ("StatusDateTime", DateTime(min_occurs=0, nillable=False)),
    ]


class ArrayOfSdpStatusChange(ComplexModel):
    __type_name__ = "ArrayOfSdpStatusChange"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("SdpStatusChange", SdpStatusChange.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class SdpStatusDetails(ComplexModel):
    __type_name__ = "SdpStatusDetails"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("CorrespondenceId", Integer32(min_occurs=0, nillable=True)),
        ("CreatedDateTime", DateTime(min_occurs=0, nillable=False)),
        ("LastChangedDateTime", DateTime(min_occurs=0, nillable=False)),
        ("Reference", Unicode(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("SdpId", Integer32(min_occurs=0, nillable=False)),
        ("StatusHistory", ArrayOfSdpStatusChange.customize(min_occurs=0, nillable=True)),
    ]


class ArrayOfSdpStatusDetails(ComplexModel):
    __type_name__ = "ArrayOfSdpStatusDetails"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("SdpStatusDetails", SdpStatusDetails.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class SdpStatusInformation(ComplexModel):
    __type_name__ = "SdpStatusInformation"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("LimitReached", Boolean(min_occurs=0, nillable=False)),
        ("SdpStatusDetailsList", ArrayOfSdpStatusDetails.customize(min_occurs=0, nillable=True)),
    ]


class CorrespondenceStatusResultV3(ComplexModel):
    __type_name__ = "CorrespondenceStatusResultV3"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        (
            "CorrespondenceStatusInformation",
            CorrespondenceStatusInformation.customize(min_occurs=0, nillable=True),
        ),
        ("SdpStatusInformation", SdpStatusInformation.customize(min_occurs=0, nillable=True)),
        ("ServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ServiceEditionCode", Integer32(min_occurs=0, nillable=False)),
    ]


class DaysDelayedList(ComplexModel):
    __type_name__ = "DaysDelayedList"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("DaysDelayed", UnsignedInteger32(min_occurs=0, max_occurs="unbounded", nillable=False)),
    ]


class SdpNotification(ComplexModel):
    __type_name__ = "SdpNotification"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("NotificationText", Unicode(min_occurs=1, nillable=True)),
        ("Repetitions", DaysDelayedList.customize(min_occurs=1, nillable=True)),
    ]


class SdpEmailNotification(SdpNotification):
    __type_name__ = "SdpEmailNotification"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("EmailAddress", Unicode(min_occurs=0, nillable=True)),
    ]


class SdpSmsNotification(SdpNotification):
    __type_name__ = "SdpSmsNotification"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("MobileNumber", Unicode(min_occurs=0, nillable=True)),
    ]


class SdpNotifications(ComplexModel):
    __type_name__ = "SdpNotifications"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("EmailNotification", SdpEmailNotification.customize(min_occurs=0, nillable=True)),
        ("SmsNotification", SdpSmsNotification.customize(min_occurs=0, nillable=True)),
    ]


class SdpSetting(EnumModel):
    __type_name__ = "SdpSetting"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "ForwardOnly",
            "CopyAltinn",
        )

    ForwardOnly = "ForwardOnly"
    CopyAltinn = "CopyAltinn"


class SdpOptions(ComplexModel):
    __type_name__ = "SdpOptions"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2016_02
    _type_info = [
        ("BackupAltinn", Boolean(min_occurs=0, nillable=True)),
        ("NotSensitiveTitle", Unicode(min_occurs=0, nillable=True)),
        ("PrimaryDocumentFileName", Unicode(min_occurs=1, nillable=True)),
        ("SdpNotifications", SdpNotifications.customize(min_occurs=0, nillable=True)),
        ("SdpSetting", SdpSetting.customize(min_occurs=1, nillable=False)),
        ("Title", Unicode(min_occurs=0, nillable=True)),
        ("VisibleDateTime", DateTime(min_occurs=0, nillable=True)),
    ]


class ArrayOfstring(ComplexModel):
    __type_name__ = "ArrayOfstring"
    __namespace__ = ns.MS_ARRAYS
    _type_info = [
        ("string", Unicode(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class AttachmentFunctionType(EnumModel):
    __type_name__ = "AttachmentFunctionType"
    __namespace__ = ns.ALTINN_SUBSCRIPTION_2009_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "Unspecified",
            "Invoice",
        )

    Unspecified = "Unspecified"
    Invoice = "Invoice"

    # WCF data contract values of the members (published as ser:EnumerationValue)
    _enumeration_values = {"Unspecified": 1, "Invoice": 2}


class BinaryAttachment(ComplexModel):
    __type_name__ = "BinaryAttachment"
    __namespace__ = ns.ALTINN_REPORTEE_ELEMENT_LIST_2009_10
    _type_info = [
        ("FunctionType", AttachmentFunctionType.customize(min_occurs=0, nillable=False)),
        ("FileName", Unicode(min_occurs=0, nillable=True)),
        ("Name", Unicode(min_occurs=0, nillable=True)),
        ("Encrypted", Boolean(min_occurs=0, nillable=False)),
        ("Data", ByteArray(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
    ]


class BinaryAttachmentBEList(ComplexModel):
    __type_name__ = "BinaryAttachmentBEList"
    __namespace__ = ns.ALTINN_REPORTEE_ELEMENT_LIST_2009_10
    _type_info = [
        ("BinaryAttachment", BinaryAttachment.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class XmlAttachment(ComplexModel):
    __type_name__ = "XmlAttachment"
    __namespace__ = ns.ALTINN_REPORTEE_ELEMENT_LIST_2009_10
    _type_info = [
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("FormDataXml", Unicode(min_occurs=0, nillable=True)),
    ]


class Attachments(ComplexModel):
    __type_name__ = "Attachments"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("BinaryAttachments", BinaryAttachmentBEList.customize(min_occurs=0, nillable=True)),
        ("XmlAttachment", XmlAttachment.customize(min_occurs=0, nillable=True)),
    ]


class ExternalContent(ComplexModel):
    __type_name__ = "ExternalContent"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("LanguageCode", Unicode(min_occurs=0, nillable=True)),
        ("MessageTitle", Unicode(min_occurs=0, nillable=True)),
        ("MessageSummary", Unicode(min_occurs=0, nillable=True)),
        ("MessageBody", Unicode(min_occurs=0, nillable=True)),
        ("Attachments", Attachments.customize(min_occurs=0, nillable=True)),
        ("CustomMessageData", Unicode(min_occurs=0, nillable=True)),
    ]


class InsertCorrespondenceLinkServiceCode(ComplexModel):
    __type_name__ = "InsertCorrespondenceLinkServiceCode"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("ServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ServiceEdition", Unicode(min_occurs=0, nillable=True)),
    ]


class InsertCorrespondenceLinkArchiveRef(ComplexModel):
    __type_name__ = "InsertCorrespondenceLinkArchiveRef"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("ArchiveRef", Unicode(min_occurs=0, nillable=True)),
    ]


class InsertCorrespondenceLinkServiceURL(ComplexModel):
    __type_name__ = "InsertCorrespondenceLinkServiceURL"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("LinkText", Unicode(min_occurs=0, nillable=True)),
        ("LinkURL", Unicode(min_occurs=0, nillable=True)),
    ]


class ReplyOption(ComplexModel):
    __type_name__ = "ReplyOption"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("Service", InsertCorrespondenceLinkServiceCode.customize(min_occurs=0, nillable=True)),
        ("ArchiveReference", InsertCorrespondenceLinkArchiveRef.customize(min_occurs=0, nillable=True)),
        ("URL", InsertCorrespondenceLinkServiceURL.customize(min_occurs=0, nillable=True)),
    ]


class CorrespondenceInsertLinkBEList(ComplexModel):
    __type_name__ = "CorrespondenceInsertLinkBEList"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("ReplyOption", ReplyOption.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class TextToken(ComplexModel):
    __type_name__ = "TextToken"
    __namespace__ = ns.ALTINN_NOTIFICATION_2009_10
    _type_info = [
        ("TokenNum", Integer32(min_occurs=0, nillable=False)),
        ("TokenValue", Unicode(min_occurs=0, nillable=True)),
    ]


class TextTokenSubstitutionBEList(ComplexModel):
    __type_name__ = "TextTokenSubstitutionBEList"
    __namespace__ = ns.ALTINN_NOTIFICATION_2009_10
    _type_info = [
        ("TextToken", TextToken.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class ReceiverEndPoint(ComplexModel):
    __type_name__ = "ReceiverEndPoint"
    __namespace__ = ns.ALTINN_NOTIFICATION_2009_10
    _type_info = [
        ("TransportType", TransportType.customize(min_occurs=0, nillable=True)),
        ("ReceiverAddress", Unicode(min_occurs=0, nillable=True)),
    ]


class ReceiverEndPointBEList(ComplexModel):
    __type_name__ = "ReceiverEndPointBEList"
    __namespace__ = ns.ALTINN_NOTIFICATION_2009_10
    _type_info = [
        ("ReceiverEndPoint", ReceiverEndPoint.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class Notification(ComplexModel):
    __type_name__ = "Notification"
    __namespace__ = ns.ALTINN_NOTIFICATION_2009_10
    _type_info = [
        ("FromAddress", Unicode(min_occurs=0, nillable=True)),
        ("ShipmentDateTime", DateTime(min_occurs=0, nillable=False)),
        ("LanguageCode", Unicode(min_occurs=0, nillable=True)),
        ("NotificationType", Unicode(min_occurs=0, nillable=True)),
        ("TextTokens", TextTokenSubstitutionBEList.customize(min_occurs=0, nillable=True)),
        ("ReceiverEndPoints", ReceiverEndPointBEList.customize(min_occurs=0, nillable=True)),
    ]


class NotificationBEList(ComplexModel):
    __type_name__ = "NotificationBEList"
    __namespace__ = ns.ALTINN_NOTIFICATION_2009_10
    _type_info = [
        ("Notification", Notification.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class InsertCorrespondence(ComplexModel):
    __type_name__ = "InsertCorrespondence"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2009_10
    _type_info = [
        ("ServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ServiceEdition", Unicode(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("Content", ExternalContent.customize(min_occurs=0, nillable=True)),
        ("VisibleDateTime", DateTime(min_occurs=0, nillable=False)),
        ("AllowSystemDeleteDateTime", DateTime(min_occurs=0, nillable=True)),
        ("DueDateTime", DateTime(min_occurs=0, nillable=False)),
        ("ArchiveReference", Unicode(min_occurs=0, nillable=True)),
        ("ReplyOptions", CorrespondenceInsertLinkBEList.customize(min_occurs=0, nillable=True)),
        ("Notifications", NotificationBEList.customize(min_occurs=0, nillable=True)),
    ]


class ReceiptStatusEnum(EnumModel):
    __type_name__ = "ReceiptStatusEnum"
    __namespace__ = ns.ALTINN_RECEIPT_2009_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "NotSet",
            "OK",
            "UnExpectedError",
            "ValidationFailed",
            "Rejected",
        )

    NotSet = "NotSet"
    OK = "OK"
    UnExpectedError = "UnExpectedError"
    ValidationFailed = "ValidationFailed"
    Rejected = "Rejected"


class ReceiptTypeEnum(EnumModel):
    __type_name__ = "ReceiptTypeEnum"
    __namespace__ = ns.ALTINN_RECEIPT_2009_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "NotSet",
            "FormTask",
            "Correspondence",
            "PINCODE",
            "Subscription",
            "Outbound",
            "PreFill",
            "RegisterDLS",
            "RegisterDSF",
            "RegisterER",
            "RegisterDSFProperty",
            "RegisterDSFStreet",
            "RegisterDSFCountry",
            "RegisterDSFUser",
            "LookUp",
            "RegisterDSFStreetAdd",
            "RegisterDSFPropertyAdd",
        )

    NotSet = "NotSet"
    FormTask = "FormTask"
    Correspondence = "Correspondence"
    PINCODE = "PINCODE"
    Subscription = "Subscription"
    Outbound = "Outbound"
    PreFill = "PreFill"
    RegisterDLS = "RegisterDLS"
    RegisterDSF = "RegisterDSF"
    RegisterER = "RegisterER"
    RegisterDSFProperty = "RegisterDSFProperty"
    RegisterDSFStreet = "RegisterDSFStreet"
    RegisterDSFCountry = "RegisterDSFCountry"
    RegisterDSFUser = "RegisterDSFUser"
    LookUp = "LookUp"
    RegisterDSFStreetAdd = "RegisterDSFStreetAdd"
    RegisterDSFPropertyAdd = "RegisterDSFPropertyAdd"


class ReferenceType(EnumModel):
    __type_name__ = "ReferenceType"
    __namespace__ = ns.ALTINN_SHIPMENT_2009_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "NotSet",
            "ExternalShipmentReference",
            "EndUserSystemReference",
            "ParentReference",
            "SendersReference",
            "WorkFlowReference",
            "BatchReference",
            "OutboundShipmentReference",
            "ReceiversReference",
            "Altinn1Reference",
            "OwnerPartyReference",
            "PartyReference",
            "ArchiveReference",
        )

    NotSet = "NotSet"
    ExternalShipmentReference = "ExternalShipmentReference"
    EndUserSystemReference = "EndUserSystemReference"
    ParentReference = "ParentReference"
    SendersReference = "SendersReference"
    WorkFlowReference = "WorkFlowReference"
    BatchReference = "BatchReference"
    OutboundShipmentReference = "OutboundShipmentReference"
    ReceiversReference = "ReceiversReference"
    Altinn1Reference = "Altinn1Reference"
    OwnerPartyReference = "OwnerPartyReference"
    PartyReference = "PartyReference"
    ArchiveReference = "ArchiveReference"


class Reference(ComplexModel):
    __type_name__ = "Reference"
    __namespace__ = ns.ALTINN_RECEIPT_2009_10
    _type_info = [
        ("ReferenceTypeName", ReferenceType.customize(min_occurs=0, nillable=False)),
        ("ReferenceValue", Unicode(min_occurs=0, nillable=True)),
    ]


class ReferenceList(ComplexModel):
    __type_name__ = "ReferenceList"
    __namespace__ = ns.ALTINN_RECEIPT_2009_10
    _type_info = [
        ("Reference", Reference.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class ReceiptExternalList(ComplexModel):
    __type_name__ = "ReceiptExternalList"
    __namespace__ = ns.ALTINN_RECEIPT_2009_10
    _type_info: list = []


class ReceiptExternal(ComplexModel):
    __type_name__ = "ReceiptExternal"
    __namespace__ = ns.ALTINN_RECEIPT_2009_10
    _type_info = [
        ("LastChanged", DateTime(min_occurs=0, nillable=False)),
        ("ParentReceiptId", Integer32(min_occurs=0, nillable=False)),
        ("ReceiptHistory", Unicode(min_occurs=0, nillable=True)),
        ("ReceiptId", Integer32(min_occurs=0, nillable=False)),
        ("ReceiptStatusCode", ReceiptStatusEnum.customize(min_occurs=0, nillable=False)),
        ("ReceiptText", Unicode(min_occurs=0, nillable=True)),
        ("ReceiptTypeName", ReceiptTypeEnum.customize(min_occurs=0, nillable=False)),
        ("References", ReferenceList.customize(min_occurs=0, nillable=True)),
        ("SubReceipts", ReceiptExternalList.customize(min_occurs=0, nillable=True)),
    ]


# ReceiptExternalList.ReceiptExternal refers back to ReceiptExternalList through ReceiptExternal: added once both exist.
ReceiptExternalList.insert_field(
    0, "ReceiptExternal", ReceiptExternal.customize(min_occurs=0, max_occurs="unbounded", nillable=True)
)


class UserTypeRestriction(EnumModel):
    __type_name__ = "UserTypeRestriction"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2010_10
    __extends__ = Unicode

    class Attributes(Unicode.Attributes):
        values = (
            "Default",
            "PortalOnly",
            "EndUserSystemOnly",
            "ShowToAll",
        )

    Default = "Default"
    PortalOnly = "PortalOnly"
    EndUserSystemOnly = "EndUserSystemOnly"
    ShowToAll = "ShowToAll"


class BinaryAttachmentV2(ComplexModel):
    __type_name__ = "BinaryAttachmentV2"
    __namespace__ = ns.ALTINN_REPORTEE_ELEMENT_LIST_2010_10
    _type_info = [
        ("DestinationType", UserTypeRestriction.customize(min_occurs=0, nillable=False)),
        ("FunctionType", AttachmentFunctionType.customize(min_occurs=0, nillable=False)),
        ("FileName", Unicode(min_occurs=0, nillable=True)),
        ("Name", Unicode(min_occurs=0, nillable=True)),
        ("Encrypted", Boolean(min_occurs=0, nillable=False)),
        ("Data", ByteArray(min_occurs=0, nillable=True)),
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
    ]


class BinaryAttachmentExternalBEV2List(ComplexModel):
    __type_name__ = "BinaryAttachmentExternalBEV2List"
    __namespace__ = ns.ALTINN_REPORTEE_ELEMENT_LIST_2010_10
    _type_info = [
        (
            "BinaryAttachmentV2",
            BinaryAttachmentV2.customize(min_occurs=0, max_occurs="unbounded", nillable=True),
        ),
    ]


class XmlAttachmentV2(ComplexModel):
    __type_name__ = "XmlAttachmentV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2010_10
    _type_info = [
        ("SendersReference", Unicode(min_occurs=0, nillable=True)),
        ("FormDataXml", Unicode(min_occurs=0, nillable=True)),
        ("DataFormatId", Unicode(min_occurs=0, nillable=True)),
        ("DataFormatVersion", Integer32(min_occurs=0, nillable=False)),
        ("LogicalFormInFormSetID", Integer32(min_occurs=0, nillable=False)),
    ]


class XmlAttachmentListV2(ComplexModel):
    __type_name__ = "XmlAttachmentListV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2010_10
    _type_info = [
        ("XmlAttachmentV2", XmlAttachmentV2.customize(min_occurs=0, max_occurs="unbounded", nillable=True)),
    ]


class AttachmentsV2(ComplexModel):
    __type_name__ = "AttachmentsV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2010_10
    _type_info = [
        ("BinaryAttachments", BinaryAttachmentExternalBEV2List.customize(min_occurs=0, nillable=True)),
        ("XmlAttachmentList", XmlAttachmentListV2.customize(min_occurs=0, nillable=True)),
    ]


class ExternalContentV2(ComplexModel):
    __type_name__ = "ExternalContentV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2010_10
    _type_info = [
        ("LanguageCode", Unicode(min_occurs=0, nillable=True)),
        ("MessageTitle", Unicode(min_occurs=0, nillable=True)),
        ("MessageSummary", Unicode(min_occurs=0, nillable=True)),
        ("MessageBody", Unicode(min_occurs=0, nillable=True)),
        ("Attachments", AttachmentsV2.customize(min_occurs=0, nillable=True)),
        ("CustomMessageData", Unicode(min_occurs=0, nillable=True)),
    ]


class InsertCorrespondenceV2(ComplexModel):
    __type_name__ = "InsertCorrespondenceV2"
    __namespace__ = ns.ALTINN_CORRESPONDENCE_2010_10
    _type_info = [
        ("ServiceCode", Unicode(min_occurs=0, nillable=True)),
        ("ServiceEdition", Unicode(min_occurs=0, nillable=True)),
        ("Reportee", Unicode(min_occurs=0, nillable=True)),
        ("Content", ExternalContentV2.customize(min_occurs=0, nillable=True)),
        ("VisibleDateTime", DateTime(min_occurs=0, nillable=False)),
        ("AllowSystemDeleteDateTime", DateTime(min_occurs=0, nillable=True)),
        ("DueDateTime", DateTime(min_occurs=0, nillable=False)),
        ("ArchiveReference", Unicode(min_occurs=0, nillable=True)),
        ("ReplyOptions", CorrespondenceInsertLinkBEList.customize(min_occurs=0, nillable=True)),
        ("Notifications", NotificationBEList.customize(min_occurs=0, nillable=True)),
        ("AllowForwarding", Boolean(min_occurs=0, nillable=True)),
        ("CaseID", Integer32(min_occurs=0, nillable=True)),
        ("MessageSender", Unicode(min_occurs=0, nillable=True)),
        ("IsReservable", Boolean(min_occurs=0, nillable=True)),
        ("SdpOptions", SdpOptions.customize(min_occurs=0, nillable=True)),
        ("OnBehalfOfOrgNr", Unicode(min_occurs=0, nillable=True)),
    ]


# Schemas in the published order: (targetNamespace, imported namespaces, models in document order).
# Every model is followed in its schema by a global element of the same name (nillable).
SCHEMAS: list[tuple[str, tuple[str, ...], tuple[type, ...]]] = [
    (ns.ALTINN_SERVICES_2009_10, (), ()),
    (ns.MS_SERIALIZATION, (), ()),
    (ns.ALTINN_FAULT_2009_10, (), (AltinnFault,)),
    (
        ns.ALTINN_SERVICE,
        (
            ns.ALTINN_CORRESPONDENCE_2013_06,
            ns.ALTINN_CORRESPONDENCE_2013_11,
            ns.ALTINN_CORRESPONDENCE_2014_10,
            ns.ALTINN_CORRESPONDENCE_2016_02,
            ns.MS_ARRAYS,
            ns.ALTINN_CORRESPONDENCE_2009_10,
            ns.ALTINN_RECEIPT_2009_10,
            ns.ALTINN_CORRESPONDENCE_2010_10,
        ),
        (),
    ),
    (ns.ALTINN_CORRESPONDENCE_2013_06, (), (CorrespondenceServiceInfo,)),
    (
        ns.ALTINN_CORRESPONDENCE_2013_11,
        (ns.ALTINN_SERVICE_ENTITY_2013_11, ns.ALTINN_FORMSENGINE_2009_10),
        (
            CorrespondenceStatusFilter,
            CorrespondenceStatusResult,
            ArrayOfStatus,
            Status,
            ArrayOfNotification,
            StatusNotification,
            ArrayOfStatusChange,
            StatusChange,
        ),
    ),
    (ns.ALTINN_SERVICE_ENTITY_2013_11, (ns.MS_SERIALIZATION,), (CorrespondenceStatusType,)),
    (ns.ALTINN_FORMSENGINE_2009_10, (ns.MS_SERIALIZATION,), (TransportType,)),
    (
        ns.ALTINN_CORRESPONDENCE_2014_10,
        (ns.ALTINN_SERVICE_ENTITY_2014_10, ns.ALTINN_CORRESPONDENCE_2013_11),
        (
            CorrespondenceStatusFilterV2,
            CorrespondenceStatusResultV2,
            ArrayOfStatusV2,
            StatusV2,
            ArrayOfStatusChangeV2,
            StatusChangeV2,
        ),
    ),
    (ns.ALTINN_SERVICE_ENTITY_2014_10, (ns.MS_SERIALIZATION,), (CorrespondenceStatusTypeV2,)),
    (
        ns.ALTINN_CORRESPONDENCE_2016_02,
        (ns.ALTINN_SERVICE_ENTITY_2014_10, ns.ALTINN_CORRESPONDENCE_2014_10),
        (
            CorrespondenceStatusFilterV3,
            SdpStatusSearchOptions,
            CorrespondenceStatusResultV3,
            CorrespondenceStatusInformation,
            SdpStatusInformation,
            ArrayOfSdpStatusDetails,
            SdpStatusDetails,
            ArrayOfSdpStatusChange,
            SdpStatusChange,
            SdpStatusType,
            SdpOptions,
            SdpNotifications,
            SdpEmailNotification,
            SdpNotification,
            DaysDelayedList,
            SdpSmsNotification,
            SdpSetting,
        ),
    ),
    (ns.MS_ARRAYS, (), (ArrayOfstring,)),
    (
        ns.ALTINN_CORRESPONDENCE_2009_10,
        (ns.ALTINN_NOTIFICATION_2009_10, ns.ALTINN_REPORTEE_ELEMENT_LIST_2009_10),
        (
            InsertCorrespondence,
            ExternalContent,
            Attachments,
            CorrespondenceInsertLinkBEList,
            ReplyOption,
            InsertCorrespondenceLinkServiceCode,
            InsertCorrespondenceLinkArchiveRef,
            InsertCorrespondenceLinkServiceURL,
        ),
    ),
    (
        ns.ALTINN_REPORTEE_ELEMENT_LIST_2009_10,
        (ns.ALTINN_SUBSCRIPTION_2009_10,),
        (BinaryAttachmentBEList, BinaryAttachment, XmlAttachment),
    ),
    (ns.ALTINN_SUBSCRIPTION_2009_10, (ns.MS_SERIALIZATION,), (AttachmentFunctionType,)),
    (
        ns.ALTINN_NOTIFICATION_2009_10,
        (ns.ALTINN_FORMSENGINE_2009_10,),
        (
            NotificationBEList,
            Notification,
            TextTokenSubstitutionBEList,
            TextToken,
            ReceiverEndPointBEList,
            ReceiverEndPoint,
        ),
    ),
    (
        ns.ALTINN_RECEIPT_2009_10,
        (ns.ALTINN_SHIPMENT_2009_10,),
        (ReceiptExternal, ReceiptStatusEnum, ReceiptTypeEnum, ReferenceList, Reference, ReceiptExternalList),
    ),
    (ns.ALTINN_SHIPMENT_2009_10, (), (ReferenceType,)),
    (
        ns.ALTINN_CORRESPONDENCE_2010_10,
        (
            ns.ALTINN_CORRESPONDENCE_2009_10,
            ns.ALTINN_NOTIFICATION_2009_10,
            ns.ALTINN_CORRESPONDENCE_2016_02,
            ns.ALTINN_REPORTEE_ELEMENT_LIST_2010_10,
        ),
        (
            InsertCorrespondenceV2,
            ExternalContentV2,
            AttachmentsV2,
            UserTypeRestriction,
            XmlAttachmentListV2,
            XmlAttachmentV2,
        ),
    ),
    (
        ns.ALTINN_REPORTEE_ELEMENT_LIST_2010_10,
        (ns.ALTINN_CORRESPONDENCE_2010_10, ns.ALTINN_SUBSCRIPTION_2009_10),
        (BinaryAttachmentExternalBEV2List, BinaryAttachmentV2),
    ),
]

ALL_TYPES: tuple[type, ...] = tuple(cls for _ns, _imports, classes in SCHEMAS for cls in classes)

MS_SIMPLE_TYPES: tuple[type, ...] = (MsChar, MsDuration, MsGuid)

__all__ = [
    "AltinnFault",
    "ArrayOfNotification",
    "ArrayOfSdpStatusChange",
    "ArrayOfSdpStatusDetails",
    "ArrayOfStatus",
    "ArrayOfStatusChange",
    "ArrayOfStatusChangeV2",
    "ArrayOfStatusV2",
    "ArrayOfstring",
    "AttachmentFunctionType",
    "Attachments",
    "AttachmentsV2",
    "BinaryAttachment",
    "BinaryAttachmentBEList",
    "BinaryAttachmentExternalBEV2List",
    "BinaryAttachmentV2",
    "CorrespondenceInsertLinkBEList",
    "CorrespondenceServiceInfo",
    "CorrespondenceStatusFilter",
    "CorrespondenceStatusFilterV2",
    "CorrespondenceStatusFilterV3",
    "CorrespondenceStatusInformation",
    "CorrespondenceStatusResult",
    "CorrespondenceStatusResultV2",
    "CorrespondenceStatusResultV3",
    "CorrespondenceStatusType",
    "CorrespondenceStatusTypeV2",
    "DaysDelayedList",
    "ExternalContent",
    "ExternalContentV2",
    "InsertCorrespondence",
    "InsertCorrespondenceLinkArchiveRef",
    "InsertCorrespondenceLinkServiceCode",
    "InsertCorrespondenceLinkServiceURL",
    "InsertCorrespondenceV2",
    "MsChar",
    "MsDuration",
    "MsGuid",
    "Notification",
    "NotificationBEList",
    "ReceiptExternal",
    "ReceiptExternalList",
    "ReceiptStatusEnum",
    "ReceiptTypeEnum",
    "ReceiverEndPoint",
    "ReceiverEndPointBEList",
    "Reference",
    "ReferenceList",
    "ReferenceType",
    "ReplyOption",
    "SdpEmailNotification",
    "SdpNotification",
    "SdpNotifications",
    "SdpOptions",
    "SdpSetting",
    "SdpSmsNotification",
    "SdpStatusChange",
    "SdpStatusDetails",
    "SdpStatusInformation",
    "SdpStatusSearchOptions",
    "SdpStatusType",
    "Status",
    "StatusChange",
    "StatusChangeV2",
    "StatusNotification",
    "StatusV2",
    "TextToken",
    "TextTokenSubstitutionBEList",
    "TransportType",
    "UserTypeRestriction",
    "XmlAttachment",
    "XmlAttachmentListV2",
    "XmlAttachmentV2",
    "SCHEMAS",
    "ALL_TYPES",
    "MS_SIMPLE_TYPES",
]
