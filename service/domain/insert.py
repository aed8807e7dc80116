"""What one accepted ``InsertCorrespondenceV2`` stores: pure, built from the request and the decision.

:func:`plan` turns the validated request, the forwarding decision (docs/specification.md §2.2, ``forwarding.py``)
and KRR's answer into an :class:`InsertPlan`: the receipt (with its forwarding sub-receipt), the
letter (``Correspondence``, with or without an Altinn inbox copy) and the forwarding record (the
SDP status record and, when it is forwarded, its delivery job). The repository stores a plan as it
is, in one transaction; nothing here knows about tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import notifications as dn
from .forwarding_decision import Decision
from .model import BinaryAttachment, CorrespondenceStatus, InsertCorrespondence, SdpOptions, SdpStatus
from .ports import Person
from .receipt import Receipt
from .validation import reportee_kind


@dataclass(frozen=True)
class NewCorrespondence:
    """The letter. ``altinn_status`` None: no Altinn inbox copy (forwarded only)."""

    language_code: str
    message_title: str
    message_summary: str | None
    message_body: str | None
    custom_message_data: str | None
    visible_date_time: datetime | None
    due_date_time: datetime | None
    archive_reference: str | None
    is_reservable: bool | None
    allow_forwarding: bool | None
    contract_fields: dict[str, Any]  # every other InsertCorrespondenceV2 field, as given
    altinn_status: CorrespondenceStatus | None
    attachments: tuple[BinaryAttachment, ...]


@dataclass(frozen=True)
class NewForwarding:
    """Altinn's ``SdpStatusDetails`` record; with ``forward`` also the delivery job."""

    sdp_options: SdpOptions
    krr_contact: dict[str, str | None]  # KRR's e-mail/mobile, for the vendor's notifications
    vendor_orgnr: str | None
    postkasseadresse: str | None
    postbox_certificate: bytes | None  # KRR's sertifikat (DER) of a forwarded letter's postbox
    message_id: str  # SBDH InstanceIdentifier: the same on every send (the vendor de-duplicates)
    conversation_id: str
    status: SdpStatus  # Unknown while queued; Reserved / NoMailBox are final at insert
    status_text: str
    forward: bool


@dataclass(frozen=True)
class InsertPlan:
    owner_id: int
    system_user_code: str
    external_shipment_reference: str
    service_code: str
    service_edition: int
    reportee: str
    now: datetime
    receipt: Receipt  # with its sub-receipt, ids not yet assigned
    correspondence: NewCorrespondence | None
    forwarding: NewForwarding | None
    # The letter's Notifications (outbox rows committed with it); only with an Altinn inbox copy.
    notifications: tuple[dn.Planned, ...] = ()
    # The Altinn copy is published by an inbox_copy job (INBOX_BACKEND=altinn3; domain/altinn_copy.py),
    # committed with the letter; Altinn 3 then sends the notifications (none planned here).
    inbox_copy: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key (SystemUserCode, ExternalShipmentReference)."""
        return (self.system_user_code, self.external_shipment_reference)


def references(req: InsertCorrespondence) -> tuple[tuple[str, str], ...]:
    refs = [("ExternalShipmentReference", req.external_shipment_reference or "")]
    refs.append(("OwnerPartyReference", req.reportee or ""))
    if req.archive_reference:
        refs.append(("ArchiveReference", req.archive_reference))
    return tuple(refs)


def _jsonable(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(x) for x in value]
    return value


def plan(
    req: InsertCorrespondence,
    owner_id: int,
    decision: Decision,
    person: Person | None,
    now: datetime,
    inbox_backend: str = "local",
) -> InsertPlan:
    """The records of one validated request (``validation.validate`` returned no errors).
    ``inbox_backend`` ``altinn3``: the Altinn copy goes to Altinn 3 by a job, with its notifications."""
    assert req.system_user_code and req.external_shipment_reference and req.reportee and req.service_code
    reference = req.external_shipment_reference
    subs: tuple[Receipt, ...] = ()
    if decision.sub_receipt_status is not None:
        subs = (
            Receipt.new(
                decision.sub_receipt_status,
                decision.sub_receipt_text or "",
                now,
                (("ExternalShipmentReference", reference),),
            ),
        )
    main = Receipt.new(decision.receipt_status, decision.receipt_text, now, references(req))
    receipt = Receipt(
        main.receipt_id, main.status_code, main.text, main.history, now, main.references, sub_receipts=subs
    )
    corr = None
    if decision.stores_letter:
        corr = NewCorrespondence(
            language_code=req.language_code or "",
            message_title=req.message_title or "",
            message_summary=req.message_summary,
            message_body=req.message_body,
            custom_message_data=req.custom_message_data,
            visible_date_time=req.visible_date_time,
            due_date_time=req.due_date_time,
            archive_reference=req.archive_reference,
            is_reservable=req.is_reservable,
            allow_forwarding=req.allow_forwarding,
            contract_fields=_jsonable(
                {
                    **req.extra,
                    "AllowSystemDeleteDateTime": req.allow_system_delete_date_time,
                    "MessageSender": req.message_sender,
                    "CaseID": req.case_id,
                    "OnBehalfOfOrgNr": req.on_behalf_of_org_nr,
                }
            ),
            altinn_status=decision.altinn_status,
            attachments=req.attachments,
        )
    fwd = None
    if req.sdp_options is not None:
        krr: dict[str, str | None] = {}
        if person is not None:
            krr = {
                "epostadresse": person.epostadresse,
                "mobiltelefonnummer": person.mobiltelefonnummer,
                # for the Altinn notifications of a BackupAltinn copy made later (service_layer/notify.py)
                "status": person.status,
                "varslingsstatus": person.varslingsstatus,
            }
        fwd = NewForwarding(
            sdp_options=req.sdp_options,
            krr_contact=krr,
            vendor_orgnr=decision.vendor_orgnr,
            postkasseadresse=decision.postkasseadresse,
            postbox_certificate=decision.postbox_certificate,
            message_id=str(uuid.uuid4()),
            conversation_id=str(uuid.uuid4()),
            status=decision.sdp_status or SdpStatus.UNKNOWN,
            status_text=decision.sub_receipt_text or "",
            forward=decision.forward,
        )
    notes: tuple[dn.Planned, ...] = ()
    inbox_copy = (
        inbox_backend == "altinn3" and corr is not None and corr.altinn_status == CorrespondenceStatus.CREATED
    )
    if corr is not None and dn.notifiable(corr.altinn_status) and inbox_backend != "altinn3":
        notes = tuple(
            dn.plan_for_letter(
                corr.contract_fields.get("Notifications"),
                reportee_kind(req.reportee) or "person",
                person,
                corr.visible_date_time,
                now,
            )
        )
    return InsertPlan(
        owner_id=owner_id,
        system_user_code=req.system_user_code,
        external_shipment_reference=reference,
        service_code=req.service_code,
        service_edition=int(req.service_edition or "0"),
        reportee=req.reportee,
        now=now,
        receipt=receipt,
        correspondence=corr,
        forwarding=fwd,
        notifications=notes,
        inbox_copy=inbox_copy,
    )
