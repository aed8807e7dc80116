"""Domain objects of innbyggerpost: pure Python, no I/O.

Names follow the Altinn contract (``InsertCorrespondenceV2``, ``SdpOptions``, ``ReceiptStatusEnum``,
``SdpStatusType``, ``CorrespondenceStatusTypeV2``) so that the code reads like the contract.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ReceiptStatus(enum.StrEnum):  # ReceiptStatusEnum (NotSet is never used)
    OK = "OK"
    REJECTED = "Rejected"
    VALIDATION_FAILED = "ValidationFailed"
    UNEXPECTED_ERROR = "UnExpectedError"


class CorrespondenceStatus(enum.StrEnum):  # CorrespondenceStatusTypeV2
    CREATED = "Created"
    READ = "Read"
    CONFIRMED = "Confirmed"
    RESERVED = "Reserved"


class SdpStatus(enum.StrEnum):  # SdpStatusType
    UNKNOWN = "Unknown"
    SENT = "Sent_Meldingsformidler"
    DELIVERED = "Delivered_EndUser"
    FAILED = "Delivery_EndUser_Failed"
    RESERVED = "Reserved"
    NO_MAILBOX = "NoMailBox"

    @property
    def final(self) -> bool:
        return self in (SdpStatus.DELIVERED, SdpStatus.FAILED, SdpStatus.RESERVED, SdpStatus.NO_MAILBOX)


class SdpSetting(enum.StrEnum):
    FORWARD_ONLY = "ForwardOnly"
    COPY_ALTINN = "CopyAltinn"


LANGUAGE_CODES = ("1033", "1044", "2068")  # English, Norwegian bokmål, Norwegian nynorsk

VENDOR_NAMES = {"984661185": "Digipost", "922020175": "e-Boks", "996460320": "e-Boks"}


def vendor_name(orgnr: str | None) -> str:
    return VENDOR_NAMES.get(orgnr or "", f"postbox vendor {orgnr}" if orgnr else "unknown vendor")


@dataclass(frozen=True)
class BinaryAttachment:  # BinaryAttachmentV2
    file_name: str | None
    name: str | None
    data: bytes
    function_type: str = "Unspecified"
    destination_type: str = "Default"
    encrypted: bool = False
    senders_reference: str | None = None


@dataclass(frozen=True)
class SdpNotification:  # SdpEmailNotification / SdpSmsNotification
    kind: str  # "epost" | "sms"
    address: str | None  # EmailAddress / MobileNumber (None: use KRR's)
    text: str | None
    days_delayed: tuple[int, ...] = ()


@dataclass(frozen=True)
class SdpOptions:
    sdp_setting: str | None  # ForwardOnly | CopyAltinn (validated)
    primary_document_file_name: str | None
    backup_altinn: bool = True
    title: str | None = None
    not_sensitive_title: str | None = None
    visible_date_time: datetime | None = None
    notifications: tuple[SdpNotification, ...] = ()

    # The stored form (``forwardings.options``, JSON). The keys are an explicit schema, not the
    # field names: renaming a field must not change (or silently drop) what is stored, and
    # tests/unit/test_sdp_options_record.py round-trips every field. ``asdict()`` of older rows has
    # the same keys, so rows stored before ``to_record`` existed read back alike.
    def to_record(self) -> dict[str, Any]:
        return {
            "sdp_setting": self.sdp_setting,
            "primary_document_file_name": self.primary_document_file_name,
            "backup_altinn": self.backup_altinn,
            "title": self.title,
            "not_sensitive_title": self.not_sensitive_title,
            "visible_date_time": (
                self.visible_date_time.isoformat() if self.visible_date_time is not None else None
            ),
            "notifications": [
                {"kind": n.kind, "address": n.address, "text": n.text, "days_delayed": list(n.days_delayed)}
                for n in self.notifications
            ],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SdpOptions:
        visible = record.get("visible_date_time")
        if isinstance(visible, str):
            visible = datetime.fromisoformat(visible)
        return cls(
            sdp_setting=record.get("sdp_setting"),
            primary_document_file_name=record.get("primary_document_file_name"),
            backup_altinn=bool(record.get("backup_altinn", True)),
            title=record.get("title"),
            not_sensitive_title=record.get("not_sensitive_title"),
            visible_date_time=visible,
            notifications=tuple(
                SdpNotification(
                    kind=n["kind"],
                    address=n.get("address"),
                    text=n.get("text"),
                    days_delayed=tuple(n.get("days_delayed") or ()),
                )
                for n in record.get("notifications") or ()
            ),
        )


@dataclass(frozen=True)
class InsertCorrespondence:
    """One ``InsertCorrespondenceV2`` call, after transport concerns (authentication) are done."""

    system_user_code: str | None
    external_shipment_reference: str | None
    service_code: str | None
    service_edition: str | None
    reportee: str | None
    language_code: str | None
    message_title: str | None
    message_summary: str | None = None
    message_body: str | None = None
    custom_message_data: str | None = None
    visible_date_time: datetime | None = None
    due_date_time: datetime | None = None
    allow_system_delete_date_time: datetime | None = None
    archive_reference: str | None = None
    allow_forwarding: bool | None = None
    is_reservable: bool | None = None
    message_sender: str | None = None
    case_id: int | None = None
    on_behalf_of_org_nr: str | None = None
    attachments: tuple[BinaryAttachment, ...] = ()
    sdp_options: SdpOptions | None = None
    # Every other contract field (notifications, reply options, XML attachments), kept as given.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
