"""What the status operations answer (docs/specification.md §3), as plain values.

``GetCorrespondenceStatusDetailsV2/V3`` take a :class:`StatusFilter`; every answer is a
:class:`StatusResult` of :class:`StatusV2View` (``StatusV2``: one Altinn correspondence with its
``StatusChanges``) and :class:`SdpDetailsView` (``SdpStatusDetails``: one forwarding with its
``StatusHistory``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_HISTORY_REFERENCES = 10000


@dataclass(frozen=True)
class StatusFilter:
    service_code: str | None
    service_edition: int | None
    reportee: str | None = None
    senders_reference: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    current_status: str | None = None
    notification_sent: bool | None = None
    sdp: bool = False  # SdpSearchOptions given
    include_correspondence: bool = True


@dataclass(frozen=True)
class NotificationView:
    """The contract's status ``Notification`` (Recipient, SentDate, TransportType): a message sent
    (``SentDate`` set), or one given up or without an address (no ``SentDate``; no ``Recipient``
    when there was no address). Messages still waiting are not listed."""

    recipient: str | None
    sent_date: datetime | None
    transport_type: str


@dataclass(frozen=True)
class StatusV2View:
    correspondence_id: int
    created_date: datetime
    reportee: str
    senders_reference: str
    status_changes: tuple[tuple[datetime, str], ...]
    notifications: tuple[NotificationView, ...] = ()


@dataclass(frozen=True)
class SdpDetailsView:
    sdp_id: int
    correspondence_id: int | None  # set only while an Altinn copy exists
    created: datetime
    last_changed: datetime
    reference: str
    reportee: str
    history: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True)
class StatusResult:
    service_code: str | None
    service_edition: int | None
    correspondences: list[StatusV2View] | None = None
    correspondences_limit_reached: bool = False
    sdp: list[SdpDetailsView] | None = None
    sdp_limit_reached: bool = False
