"""Use case: InsertCorrespondenceV2 (SPEC §2): validate, de-duplicate, look up KRR, decide, store."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..adapters import orm
from ..domain import forwarding, validation
from ..domain.model import InsertCorrespondence, ReceiptStatus
from ..domain.ports import ContactRegistry, Person
from . import owners
from .owners import Principal
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class NotAuthorised(Exception):
    def __init__(self, error_id: int, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


@dataclass(frozen=True)
class ReceiptView:
    """``ReceiptExternal`` as answered to the client."""

    receipt_id: int
    status_code: str
    text: str
    history: str
    last_changed: datetime
    references: tuple[tuple[str, str], ...]
    parent_receipt_id: int = 0
    sub_receipts: tuple[ReceiptView, ...] = ()


def history_line(when: datetime, status: str, text: str) -> str:
    return f"{when.astimezone(UTC).strftime('%d.%m.%Y %H:%M:%S')} - {status} - {text}"


def _references(req: InsertCorrespondence) -> tuple[tuple[str, str], ...]:
    refs = [("ExternalShipmentReference", req.external_shipment_reference or "")]
    refs.append(("OwnerPartyReference", req.reportee or ""))
    if req.archive_reference:
        refs.append(("ArchiveReference", req.archive_reference))
    return tuple(refs)


def receipt_view(r: orm.Receipt) -> ReceiptView:
    return ReceiptView(
        receipt_id=r.id,
        status_code=r.status_code,
        text=r.text,
        history=r.history,
        last_changed=r.last_changed,
        references=tuple((a, b) for a, b in r.references),
        parent_receipt_id=r.parent_id or 0,
        sub_receipts=tuple(receipt_view(sub) for sub in r.sub_receipts),
    )


def _validation_failed(req: InsertCorrespondence, errors: list[validation.ValidationError]) -> ReceiptView:
    now = datetime.now(UTC)
    text = "Validation failed: " + "; ".join(str(e) for e in errors)
    return ReceiptView(
        0,
        ReceiptStatus.VALIDATION_FAILED,
        text,
        history_line(now, "ValidationFailed", text),
        now,
        _references(req),
    )


def _find_receipt(uow: UnitOfWork, system_user_code: str, reference: str) -> orm.Receipt | None:
    return uow.session.scalar(
        select(orm.Receipt).where(
            orm.Receipt.system_user_code == system_user_code,
            orm.Receipt.external_shipment_reference == reference,
            orm.Receipt.parent_id.is_(None),
        )
    )


def insert_correspondence(
    uow_factory: Callable[[], UnitOfWork],
    registry: ContactRegistry,
    principal: Principal,
    req: InsertCorrespondence,
) -> ReceiptView:
    errors = validation.validate(req)
    if errors:
        return _validation_failed(req, errors)
    assert req.system_user_code and req.external_shipment_reference and req.reportee and req.service_code
    if req.system_user_code != principal.system_user_code:
        raise NotAuthorised(5, f"SystemUserCode '{req.system_user_code}' does not belong to this system user")
    edition = int(req.service_edition or "0")
    with uow_factory().for_reading() as uow:
        existing = _find_receipt(uow, req.system_user_code, req.external_shipment_reference)
        if existing is not None:
            return receipt_view(existing)
        if not owners.owns_service(uow, principal.owner_id, req.service_code, edition):
            raise NotAuthorised(
                5,
                f"Not authorised for service {req.service_code} edition {edition} (ServiceCode/ServiceEdition)",
            )

    kind = validation.reportee_kind(req.reportee) or "person"
    person: Person | None = None
    if forwarding.needs_lookup(kind, req.sdp_options, req.is_reservable):
        # May raise RegistryUnavailable: nothing has been stored yet.
        person = registry.hent_personer([req.reportee]).get(req.reportee)
    decision = forwarding.decide(kind, req.sdp_options, req.is_reservable, person)

    with uow_factory() as uow:
        try:
            receipt = _store(uow, principal, req, edition, decision, person)
            uow.commit()
            return receipt_view(receipt)
        except IntegrityError:
            uow.rollback()  # a concurrent repeat committed first: answer with its receipt
    with uow_factory().for_reading() as uow:
        existing = _find_receipt(uow, req.system_user_code, req.external_shipment_reference)
        if existing is None:
            raise RuntimeError("receipt vanished after a unique-constraint conflict")
        return receipt_view(existing)


def _store(
    uow: UnitOfWork,
    principal: Principal,
    req: InsertCorrespondence,
    edition: int,
    decision: forwarding.Decision,
    person: Person | None,
) -> orm.Receipt:
    s = uow.session
    now = datetime.now(UTC)
    assert req.system_user_code and req.external_shipment_reference and req.reportee and req.service_code
    subs = []
    if decision.sub_receipt_status is not None:
        sub_text = decision.sub_receipt_text or ""
        subs.append(
            orm.Receipt(
                owner_id=principal.owner_id,
                system_user_code=req.system_user_code,
                external_shipment_reference=req.external_shipment_reference,
                status_code=decision.sub_receipt_status,
                text=sub_text,
                history=history_line(now, decision.sub_receipt_status, sub_text),
                last_changed=now,
                references=[["ExternalShipmentReference", req.external_shipment_reference]],
            )
        )
    receipt = orm.Receipt(
        owner_id=principal.owner_id,
        system_user_code=req.system_user_code,
        external_shipment_reference=req.external_shipment_reference,
        status_code=decision.receipt_status,
        text=decision.receipt_text,
        history=history_line(now, decision.receipt_status, decision.receipt_text),
        last_changed=now,
        references=[list(r) for r in _references(req)],
        sub_receipts=subs,
    )
    s.add(receipt)
    s.flush()  # the unique (SystemUserCode, ExternalShipmentReference) check happens here

    # The columns a letter and its forwarding record share.
    shipment = {
        "owner_id": principal.owner_id,
        "system_user_code": req.system_user_code,
        "external_shipment_reference": req.external_shipment_reference,
        "service_code": req.service_code,
        "service_edition": edition,
        "reportee": req.reportee,
    }
    corr: orm.Correspondence | None = None
    if decision.stores_letter:
        corr = orm.Correspondence(
            receipt_id=receipt.id,
            **shipment,
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
            created_at=now,
        )
        for a in req.attachments:
            corr.attachments.append(
                orm.Attachment(
                    file_name=a.file_name or "",
                    name=a.name,
                    function_type=a.function_type,
                    destination_type=a.destination_type,
                    encrypted=a.encrypted,
                    senders_reference=a.senders_reference,
                    data=a.data,
                )
            )
        if decision.altinn_status is not None:
            corr.status_changes.append(
                orm.CorrespondenceStatusChange(status=decision.altinn_status, status_date=now)
            )
        s.add(corr)
        s.flush()
    elif decision.altinn_status is not None:  # pragma: no cover - stores_letter covers it
        raise AssertionError("Altinn copy without a letter")

    sdp = req.sdp_options
    if sdp is not None:
        options = _jsonable(asdict(sdp))
        if person is not None:
            options["krr"] = {
                "epostadresse": person.epostadresse,
                "mobiltelefonnummer": person.mobiltelefonnummer,
            }
        fwd = orm.Forwarding(
            receipt_id=receipt.id,
            correspondence_id=corr.id if corr is not None else None,
            **shipment,
            sdp_setting=sdp.sdp_setting or "",
            backup_altinn=sdp.backup_altinn,
            options=options,
            vendor_orgnr=decision.vendor_orgnr,
            postkasseadresse=decision.postkasseadresse,
            message_id=str(uuid.uuid4()),
            conversation_id=str(uuid.uuid4()),
            status=decision.sdp_status or "Unknown",
            created_at=now,
            last_changed=now,
            job_state="pending" if decision.forward else None,
            attempts=0,
            next_attempt_at=now if decision.forward else None,
        )
        if decision.sdp_status is not None:
            fwd.status_changes.append(
                orm.SdpStatusChange(
                    status=decision.sdp_status, status_date=now, text=decision.sub_receipt_text or ""
                )
            )
        s.add(fwd)
    s.flush()
    return receipt


def _jsonable(value: object) -> dict:
    def conv(v: object) -> object:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, bytes):
            return None
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    out = conv(value)
    assert isinstance(out, dict)
    return out
