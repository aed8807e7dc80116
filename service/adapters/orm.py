"""Persistence model (SQLAlchemy 2, plain ORM; spyne's SQLAlchemy models do not work with 2.x).

One table per contract concept:
- ``service_owners`` / ``system_users`` / ``owner_services``: who may send and read what.
- ``receipts``: one per (SystemUserCode, ExternalShipmentReference) that passed validation; the
  idempotency key and the stored answer (``ReceiptExternal``), also for ``Rejected`` outcomes.
- ``correspondences``: the letter (all contract fields) and, when ``altinn_status`` is set, the
  Altinn inbox copy with its ``CorrespondenceID``; ``attachments`` its binary attachments.
- ``correspondence_status_changes``: ``StatusChangeV2`` history.
- ``forwardings``: one per SdpOptions request (Altinn's ``SdpStatusDetails``, ``SdpId``); one to be
  sent has its ``deliver`` job in ``jobs`` (reference: its ``message_id``).
- ``sdp_status_changes``: ``SdpStatusChange`` history.
- ``wsse_nonces``: WS-Security UsernameToken nonces seen (replay check across processes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import text as sa_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on SQLite (no time zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ServiceOwner(Base):
    __tablename__ = "service_owners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_user_code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_number: Mapped[str] = mapped_column(String(9))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    users: Mapped[list[SystemUser]] = relationship(back_populates="owner")
    services: Mapped[list[OwnerService]] = relationship(back_populates="owner")


class SystemUser(Base):
    __tablename__ = "system_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("service_owners.id"))
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # Encrypted password, only for users allowed to use WS-Security PasswordDigest (see README).
    digest_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[ServiceOwner] = relationship(back_populates="users")


class OwnerService(Base):
    __tablename__ = "owner_services"
    __table_args__ = (UniqueConstraint("service_code", "service_edition"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("service_owners.id"))
    service_code: Mapped[str] = mapped_column(String(50))
    service_edition: Mapped[int] = mapped_column(Integer)
    # The inbox offers a Confirm button (status Confirmed) for this service edition's letters.
    requires_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # 3 or 4 (domain/security_level.py): the DPI sikkerhetsnivaa and the inbox sign-in its letters need.
    security_level: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # The Altinn 3 resource this service edition's letters are published to (INBOX_BACKEND=altinn3;
    # `owner add ... --resource 4503:1=<resourceId>`; migration 0008).
    altinn3_resource_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    owner: Mapped[ServiceOwner] = relationship(back_populates="services")


class Receipt(Base):
    """``ReceiptExternal``. A sub-receipt (the forwarding outcome) is a row with ``parent_id`` set, so
    every ReceiptId, main or sub, comes from one sequence."""

    __tablename__ = "receipts"
    __table_args__ = (
        # (SystemUserCode, ExternalShipmentReference) is the idempotency key of main receipts.
        Index(
            "uq_receipt_shipment",
            "system_user_code",
            "external_shipment_reference",
            unique=True,
            sqlite_where=sa_text("parent_id IS NULL"),
            postgresql_where=sa_text("parent_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # ReceiptId
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), nullable=True, index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("service_owners.id"))
    system_user_code: Mapped[str] = mapped_column(String(50))
    external_shipment_reference: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    history: Mapped[str] = mapped_column(Text)
    last_changed: Mapped[datetime] = mapped_column(UTCDateTime())
    references: Mapped[list[list[str]]] = mapped_column(JSON)  # [[ReferenceTypeName, ReferenceValue], ...]
    sub_receipts: Mapped[list[Receipt]] = relationship(order_by="Receipt.id", lazy="selectin")


class Correspondence(Base):
    __tablename__ = "correspondences"
    __table_args__ = (
        Index("ix_corr_service", "service_code", "service_edition", "created_at"),
        Index("ix_corr_service_reportee", "service_code", "service_edition", "reportee"),
        Index("ix_corr_reference", "system_user_code", "external_shipment_reference"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # CorrespondenceID
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("service_owners.id"))
    system_user_code: Mapped[str] = mapped_column(String(50))
    external_shipment_reference: Mapped[str] = mapped_column(String(200))
    service_code: Mapped[str] = mapped_column(String(50))
    service_edition: Mapped[int] = mapped_column(Integer)
    reportee: Mapped[str] = mapped_column(String(11))
    language_code: Mapped[str] = mapped_column(String(4))
    message_title: Mapped[str] = mapped_column(Text)
    message_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    custom_message_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    visible_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    archive_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_reservable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    allow_forwarding: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    contract_fields: Mapped[dict] = mapped_column(JSON)  # every other InsertCorrespondenceV2 field, as given
    # CorrespondenceStatusTypeV2 of the Altinn inbox copy; NULL: no Altinn copy (forward only).
    altinn_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    notification_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", lazy="selectin")
    status_changes: Mapped[list[CorrespondenceStatusChange]] = relationship(
        order_by="CorrespondenceStatusChange.id", lazy="selectin"
    )


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    correspondence_id: Mapped[int] = mapped_column(ForeignKey("correspondences.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    function_type: Mapped[str] = mapped_column(String(30))
    destination_type: Mapped[str] = mapped_column(String(30))
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    senders_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CorrespondenceStatusChange(Base):
    __tablename__ = "correspondence_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    correspondence_id: Mapped[int] = mapped_column(ForeignKey("correspondences.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    status_date: Mapped[datetime] = mapped_column(UTCDateTime())


class Forwarding(Base):
    __tablename__ = "forwardings"
    __table_args__ = (
        Index("ix_fwd_service_reportee", "service_code", "service_edition", "reportee"),
        Index("ix_fwd_service_created", "service_code", "service_edition", "created_at"),
        Index("ix_fwd_reference", "system_user_code", "external_shipment_reference"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # SdpId
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), unique=True)
    correspondence_id: Mapped[int | None] = mapped_column(ForeignKey("correspondences.id"), nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("service_owners.id"))
    system_user_code: Mapped[str] = mapped_column(String(50))
    external_shipment_reference: Mapped[str] = mapped_column(String(200))
    service_code: Mapped[str] = mapped_column(String(50))
    service_edition: Mapped[int] = mapped_column(Integer)
    reportee: Mapped[str] = mapped_column(String(11))
    sdp_setting: Mapped[str] = mapped_column(String(20))
    backup_altinn: Mapped[bool] = mapped_column(Boolean)
    options: Mapped[dict] = mapped_column(
        JSON
    )  # SdpOptions as given + KRR contact data used for notifications
    vendor_orgnr: Mapped[str | None] = mapped_column(String(20), nullable=True)
    postkasseadresse: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # KRR's sertifikat (DER) of the postbox, to encrypt the document package to (migration 0007)
    postbox_certificate: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)  # SBDH InstanceIdentifier
    conversation_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(30))  # current SdpStatusType
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_changed: Mapped[datetime] = mapped_column(UTCDateTime())
    # Sending, retries and the receipt wait are the forwarding's ``deliver`` job (jobs, reference =
    # message_id; migration 0010); these two are what the status shows of its tries.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_changes: Mapped[list[SdpStatusChange]] = relationship(
        order_by="SdpStatusChange.id", lazy="selectin"
    )


class SdpStatusChange(Base):
    __tablename__ = "sdp_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forwarding_id: Mapped[int] = mapped_column(ForeignKey("forwardings.id"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    status_date: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text, default="")


class VendorReceiptSeen(Base):
    """Vendor receipts already applied (a receipt re-delivered after a lost ack is applied once)."""

    __tablename__ = "vendor_receipts_seen"
    __table_args__ = (UniqueConstraint("vendor_orgnr", "receipt_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    vendor_orgnr: Mapped[str] = mapped_column(String(20))
    receipt_id: Mapped[str] = mapped_column(String(100))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WsseNonce(Base):
    __tablename__ = "wsse_nonces"
    nonce: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WorkerHeartbeat(Base):
    """Delivery workers report here; /health reads it."""

    __tablename__ = "worker_heartbeats"
    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)


class NotificationRow(Base):
    """An Altinn notification message (outbox): one per channel of a ``ReceiverEndPoint``, plus a
    reminder row for ``...MedRevarsel`` types. ``channel``/``recipient`` NULL: the address comes from
    KRR, looked up by the worker. ``state``: pending -> sent | failed | no_address | skipped."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notif_job", "state", "next_attempt_at"),
        Index("ix_notif_corr", "correspondence_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    correspondence_id: Mapped[int] = mapped_column(ForeignKey("correspondences.id"))
    notification_index: Mapped[int] = mapped_column(Integer)  # position in Notifications
    endpoint_index: Mapped[int] = mapped_column(Integer)  # position in ReceiverEndPoints
    reminder_of: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"), nullable=True)
    transport_type: Mapped[str] = mapped_column(String(20))  # as requested (TransportType)
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)  # Email | SMS
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    from_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    notification_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    language_code: Mapped[str] = mapped_column(String(4))
    text_tokens: Mapped[list[list]] = mapped_column(JSON)  # [[TokenNum, TokenValue], ...]
    message_id: Mapped[str] = mapped_column(String(36), unique=True)  # Message-ID / SMS reference
    state: Mapped[str] = mapped_column(String(20))
    status_text: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboxSession(Base):
    """A signed-in inbox session (server-side, so sign-out ends it): the browser holds a random id in
    its signed cookie, the row is keyed by that id's SHA-256."""

    __tablename__ = "inbox_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pid: Mapped[str] = mapped_column(String(11))
    sign_in_mode: Mapped[str] = mapped_column(String(20))  # "demo" | "idporten"
    security_level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Job(Base):
    """Durable outbound work (service/domain/jobs.py): one row per job, claimed with a lease and a
    fencing token (``claim_token``), retried by one rule; ``kind`` picks the handler. Unique per
    (kind, reference): enqueuing the same work twice is a no-op (migration 0008)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("kind", "reference", name="uq_jobs_kind_reference"),
        Index("ix_jobs_due", "status", "run_after"),
        Index("ix_jobs_external", "kind", "external_id"),
        Index("ix_jobs_claim", "claimed_by", "claim_token"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # todo | succeeded | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
