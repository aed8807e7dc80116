"""Use cases: GetCorrespondenceStatusDetailsV2/V3 and GetCorrespondenceStatusHistory
(docs/specification.md §3). A service owner sees only its own correspondence."""

from __future__ import annotations

from collections.abc import Sequence

from ..domain.status import (
    MAX_HISTORY_REFERENCES,
    SdpDetailsView,
    StatusFilter,
    StatusResult,
    StatusV2View,
)
from .correspondence import NotAuthorised
from .owners import Principal, owns_service
from .unit_of_work import UnitOfWorkFactory

__all__ = [
    "SdpDetailsView",
    "StatusFilter",
    "StatusResult",
    "StatusV2View",
    "status_details",
    "status_history",
]


def status_details(
    uow_factory: UnitOfWorkFactory, principal: Principal, flt: StatusFilter, limit: int
) -> StatusResult:
    if not flt.service_code or flt.service_edition is None:
        raise NotAuthorised(0, "filterCriteria: ServiceCode and ServiceEditionCode are required")
    with uow_factory().for_reading() as uow:
        if not owns_service(uow, principal, flt.service_code, flt.service_edition):
            raise NotAuthorised(
                5, f"Not authorised for service {flt.service_code} edition {flt.service_edition}"
            )
        corrs: list[StatusV2View] | None = None
        corr_limit = False
        if flt.include_correspondence or not flt.sdp:
            corrs, corr_limit = uow.status.correspondences(principal.owner_id, flt, limit)
        sdp: list[SdpDetailsView] | None = None
        sdp_limit = False
        if flt.sdp:
            sdp, sdp_limit = uow.status.forwardings(principal.owner_id, flt, limit)
        return StatusResult(flt.service_code, flt.service_edition, corrs, corr_limit, sdp, sdp_limit)


def status_history(
    uow_factory: UnitOfWorkFactory, principal: Principal, references: Sequence[str], limit: int
) -> StatusResult:
    refs = list(dict.fromkeys(r for r in references if r))
    if len(refs) > MAX_HISTORY_REFERENCES:
        raise NotAuthorised(
            0, f"CorrespondenceSendersReferences: at most {MAX_HISTORY_REFERENCES} references"
        )
    with uow_factory().for_reading() as uow:
        corrs, sdp = uow.status.by_references(principal.system_user_code, refs)
    corr_limit = len(corrs) > limit
    sdp_limit = len(sdp) > limit
    return StatusResult(None, None, corrs[:limit], corr_limit, sdp[:limit], sdp_limit)
