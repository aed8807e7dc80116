"""Use cases: GetCorrespondenceStatusDetailsV2/V3 and GetCorrespondenceStatusHistory (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..adapters import orm
from . import owners
from .correspondence import NotAuthorised
from .owners import Principal
from .unit_of_work import UnitOfWork

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
class StatusV2View:
    correspondence_id: int
    created_date: datetime
    reportee: str
    senders_reference: str
    status_changes: tuple[tuple[datetime, str], ...]


@dataclass(frozen=True)
class SdpDetailsView:
    sdp_id: int
    correspondence_id: int | None
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


def _corr_view(c: orm.Correspondence) -> StatusV2View:
    return StatusV2View(
        correspondence_id=c.id,
        created_date=c.created_at,
        reportee=c.reportee,
        senders_reference=c.external_shipment_reference,
        status_changes=tuple((ch.status_date, ch.status) for ch in c.status_changes),
    )


def _sdp_view(f: orm.Forwarding, altinn_ids: set[int]) -> SdpDetailsView:
    return SdpDetailsView(
        sdp_id=f.id,
        correspondence_id=f.correspondence_id if f.correspondence_id in altinn_ids else None,
        created=f.created_at,
        last_changed=f.last_changed,
        reference=f.external_shipment_reference,
        reportee=f.reportee,
        history=tuple((ch.status, ch.status_date) for ch in f.status_changes),
    )


def _limited(session: Session, stmt: Select, limit: int) -> tuple[list, bool]:
    rows = list(session.scalars(stmt.limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def _altinn_ids(session: Session, ids: Sequence[int | None]) -> set[int]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return set()
    stmt = select(orm.Correspondence.id).where(
        orm.Correspondence.id.in_(wanted), orm.Correspondence.altinn_status.is_not(None)
    )
    return set(session.scalars(stmt))


def _common_filters(
    stmt: Select, model: type[orm.Correspondence] | type[orm.Forwarding], flt: StatusFilter
) -> Select:
    """The filter criteria correspondences and forwardings share (SendersReference = ExternalShipmentReference)."""
    if flt.reportee:
        stmt = stmt.where(model.reportee == flt.reportee)
    if flt.senders_reference:
        stmt = stmt.where(model.external_shipment_reference == flt.senders_reference)
    if flt.created_after:
        stmt = stmt.where(model.created_at >= flt.created_after)
    if flt.created_before:
        stmt = stmt.where(model.created_at <= flt.created_before)
    return stmt


def status_details(
    uow_factory: Callable[[], UnitOfWork], principal: Principal, flt: StatusFilter, limit: int
) -> StatusResult:
    if not flt.service_code or flt.service_edition is None:
        raise NotAuthorised(0, "filterCriteria: ServiceCode and ServiceEditionCode are required")
    with uow_factory().for_reading() as uow:
        if not owners.owns_service(uow, principal.owner_id, flt.service_code, flt.service_edition):
            raise NotAuthorised(
                5, f"Not authorised for service {flt.service_code} edition {flt.service_edition}"
            )
        s = uow.session
        corrs: list[StatusV2View] | None = None
        corr_limit = False
        if flt.include_correspondence or not flt.sdp:
            C = orm.Correspondence
            stmt = select(C).where(
                C.owner_id == principal.owner_id,
                C.service_code == flt.service_code,
                C.service_edition == flt.service_edition,
                C.altinn_status.is_not(None),
            )
            stmt = _common_filters(stmt, C, flt)
            if flt.current_status and flt.current_status != "NotSet":
                stmt = stmt.where(C.altinn_status == flt.current_status)
            if flt.notification_sent is not None:
                stmt = stmt.where(C.notification_sent == flt.notification_sent)
            rows, corr_limit = _limited(s, stmt.order_by(C.id), limit)
            corrs = [_corr_view(c) for c in rows]
        sdp: list[SdpDetailsView] | None = None
        sdp_limit = False
        if flt.sdp:
            F = orm.Forwarding
            fstmt = select(F).where(
                F.owner_id == principal.owner_id,
                F.service_code == flt.service_code,
                F.service_edition == flt.service_edition,
            )
            fstmt = _common_filters(fstmt, F, flt)
            frows, sdp_limit = _limited(s, fstmt.order_by(F.id), limit)
            ids = _altinn_ids(s, [f.correspondence_id for f in frows])
            sdp = [_sdp_view(f, ids) for f in frows]
        return StatusResult(flt.service_code, flt.service_edition, corrs, corr_limit, sdp, sdp_limit)


def status_history(
    uow_factory: Callable[[], UnitOfWork], principal: Principal, references: Sequence[str], limit: int
) -> StatusResult:
    refs = [r for r in references if r]
    if len(refs) > MAX_HISTORY_REFERENCES:
        raise NotAuthorised(
            0, f"CorrespondenceSendersReferences: at most {MAX_HISTORY_REFERENCES} references"
        )
    with uow_factory().for_reading() as uow:
        s = uow.session
        corrs: list[StatusV2View] = []
        sdp: list[SdpDetailsView] = []
        corr_limit = sdp_limit = False
        for i in range(0, len(refs), 500):
            chunk = refs[i : i + 500]
            C = orm.Correspondence
            rows = s.scalars(
                select(C)
                .where(
                    C.system_user_code == principal.system_user_code,
                    C.external_shipment_reference.in_(chunk),
                    C.altinn_status.is_not(None),
                )
                .order_by(C.id)
            )
            corrs.extend(_corr_view(c) for c in rows)
            F = orm.Forwarding
            frows = list(
                s.scalars(
                    select(F)
                    .where(
                        F.system_user_code == principal.system_user_code,
                        F.external_shipment_reference.in_(chunk),
                    )
                    .order_by(F.id)
                )
            )
            ids = _altinn_ids(s, [f.correspondence_id for f in frows])
            sdp.extend(_sdp_view(f, ids) for f in frows)
        if len(corrs) > limit:
            corrs, corr_limit = corrs[:limit], True
        if len(sdp) > limit:
            sdp, sdp_limit = sdp[:limit], True
        return StatusResult(None, None, corrs, corr_limit, sdp, sdp_limit)
