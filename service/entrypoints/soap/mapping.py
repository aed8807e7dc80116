"""Contract types (spyne, ``types.py``) <-> domain objects and use-case results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from spyne.model.complex import ComplexModelBase

from ...domain import model as dm
from ...service_layer.status import StatusFilter
from . import types as T


def _s(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _dt(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    chunks = list(value)  # spyne's ByteArray arrives as a sequence of chunks (one, when decoded from base64)
    return chunks[0] if len(chunks) == 1 and isinstance(chunks[0], bytes) else b"".join(chunks)


def _list(container: Any, field: str) -> list[Any]:
    if container is None:
        return []
    items = getattr(container, field, None)
    return [i for i in (items or []) if i is not None]


def as_dict(obj: Any) -> Any:
    """A spyne object as plain JSON-able data (for storing contract fields as given)."""
    if isinstance(obj, ComplexModelBase):
        out = {}
        for name in type(obj).get_flat_type_info(type(obj)):
            v = getattr(obj, name, None)
            if v is not None:
                out[name] = as_dict(v)
        return out
    if isinstance(obj, list | tuple):
        return [as_dict(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return None
    return obj


def _notification(n: Any, kind: str, address_field: str) -> dm.SdpNotification | None:
    if n is None:
        return None
    return dm.SdpNotification(
        kind=kind,
        address=_s(getattr(n, address_field, None)),
        text=_s(n.NotificationText),
        days_delayed=tuple(int(d) for d in _list(n.Repetitions, "DaysDelayed")),
    )


def sdp_options(sdp: Any) -> dm.SdpOptions | None:
    if sdp is None:
        return None
    notes: list[dm.SdpNotification] = []
    if sdp.SdpNotifications is not None:
        for n in (
            _notification(sdp.SdpNotifications.EmailNotification, "epost", "EmailAddress"),
            _notification(sdp.SdpNotifications.SmsNotification, "sms", "MobileNumber"),
        ):
            if n is not None:
                notes.append(n)
    return dm.SdpOptions(
        sdp_setting=_s(sdp.SdpSetting),
        primary_document_file_name=_s(sdp.PrimaryDocumentFileName),
        backup_altinn=True if sdp.BackupAltinn is None else bool(sdp.BackupAltinn),
        title=_s(sdp.Title),
        not_sensitive_title=_s(sdp.NotSensitiveTitle),
        visible_date_time=_dt(sdp.VisibleDateTime),
        notifications=tuple(notes),
    )


def insert_request(system_user_code: Any, reference: Any, corr: Any) -> dm.InsertCorrespondence:
    if corr is None:
        corr = T.InsertCorrespondenceV2()
    content = corr.Content
    attachments: list[dm.BinaryAttachment] = []
    extra: dict[str, Any] = {}
    if content is not None and content.Attachments is not None:
        for a in _list(content.Attachments.BinaryAttachments, "BinaryAttachmentV2"):
            attachments.append(
                dm.BinaryAttachment(
                    file_name=_s(a.FileName),
                    name=_s(a.Name),
                    data=_bytes(a.Data),
                    function_type=_s(a.FunctionType) or "Unspecified",
                    destination_type=_s(a.DestinationType) or "Default",
                    encrypted=bool(a.Encrypted),
                    senders_reference=_s(a.SendersReference),
                )
            )
        if content.Attachments.XmlAttachmentList is not None:
            extra["XmlAttachmentList"] = as_dict(content.Attachments.XmlAttachmentList)
    for name in ("ReplyOptions", "Notifications"):
        value = getattr(corr, name, None)
        if value is not None:
            extra[name] = as_dict(value)
    return dm.InsertCorrespondence(
        system_user_code=_s(system_user_code),
        external_shipment_reference=_s(reference),
        service_code=_s(corr.ServiceCode),
        service_edition=_s(corr.ServiceEdition),
        reportee=_s(corr.Reportee),
        language_code=_s(content.LanguageCode) if content else None,
        message_title=_s(content.MessageTitle) if content else None,
        message_summary=_s(content.MessageSummary) if content else None,
        message_body=_s(content.MessageBody) if content else None,
        custom_message_data=_s(content.CustomMessageData) if content else None,
        visible_date_time=_dt(corr.VisibleDateTime),
        due_date_time=_dt(corr.DueDateTime),
        allow_system_delete_date_time=_dt(corr.AllowSystemDeleteDateTime),
        archive_reference=_s(corr.ArchiveReference),
        allow_forwarding=corr.AllowForwarding,
        is_reservable=corr.IsReservable,
        message_sender=_s(corr.MessageSender),
        case_id=corr.CaseID,
        on_behalf_of_org_nr=_s(corr.OnBehalfOfOrgNr),
        attachments=tuple(attachments),
        sdp_options=sdp_options(corr.SdpOptions),
        extra=extra,
    )


def strings(array: Any) -> list[str]:
    return [str(s) for s in _list(array, "string")]


def status_filter(f: Any, v3: bool) -> StatusFilter:
    if f is None:
        return StatusFilter(None, None)
    sdp = getattr(f, "SdpSearchOptions", None) if v3 else None
    return StatusFilter(
        service_code=_s(f.ServiceCode),
        service_edition=f.ServiceEditionCode,
        reportee=_s(f.Reportee),
        senders_reference=_s(f.SendersReference),
        created_after=_dt(f.CreatedAfterDate),
        created_before=_dt(f.CreatedBeforeDate),
        current_status=_s(f.CurrentStatus),
        notification_sent=f.NotificationSent,
        sdp=sdp is not None,
        include_correspondence=bool(sdp.IncludeCorrespondence) if sdp is not None else True,
    )
