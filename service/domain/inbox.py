"""What the citizen's Altinn inbox (``/inbox/``, the ``local`` inbox backend) works with. Pure: no I/O.

The inbox repository (``uow.inbox``) answers with these; the inbox use cases
(``service_layer/inbox.py``) never see a database row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .security_level import SecurityLevel


@dataclass(frozen=True)
class InboxLetter:
    """A letter with an Altinn copy, as the inbox shows it (without its attachments' bytes)."""

    letter_id: int  # our CorrespondenceID
    owner_id: int
    reference: str  # ExternalShipmentReference
    reportee: str
    service_code: str
    service_edition: int
    title: str
    summary: str | None
    body: str | None
    created: datetime
    visible: datetime | None
    due: datetime | None
    altinn_status: str | None
    read: datetime | None  # the first Read / Confirmed of the copy's history
    confirmed: datetime | None
    contract_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def service(self) -> tuple[str, int]:
        return (self.service_code, self.service_edition)


@dataclass(frozen=True)
class AttachmentRow:
    attachment_id: int
    file_name: str
    name: str | None
    size: int


@dataclass(frozen=True)
class SessionRow:
    pid: str
    sign_in_mode: str
    security_level: SecurityLevel
    expires_at: datetime
