"""spyne's models of the status answers (history, details V2/V3): spyne's own way of writing the
answers that the service writes with lxml (service/entrypoints/soap/status_xml.py). Reference only:
tests/unit/test_status_xml.py, the status tests and tests/bench/status_history.py compare with it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service.entrypoints.soap import types as T
from service.service_layer.status import SdpDetailsView, StatusResult, StatusV2View


def _status_v2(s: StatusV2View) -> Any:
    return T.StatusV2(
        CorrespondenceID=s.correspondence_id,
        CreatedDate=s.created_date,
        Notifications=T.ArrayOfNotification(
            Notification=[
                T.StatusNotification(
                    Recipient=n.recipient, SentDate=n.sent_date, TransportType=n.transport_type
                )
                for n in s.notifications
            ]
        ),
        Reportee=s.reportee,
        SendersReference=s.senders_reference,
        StatusChanges=T.ArrayOfStatusChangeV2(
            StatusChangeV2=[T.StatusChangeV2(StatusDate=d, StatusType=st) for d, st in s.status_changes]
        ),
    )


def _status_list(items: Iterable[StatusV2View]) -> Any:
    return T.ArrayOfStatusV2(StatusV2=[_status_v2(s) for s in items])


def _sdp_details(d: SdpDetailsView) -> Any:
    return T.SdpStatusDetails(
        CorrespondenceId=d.correspondence_id,
        CreatedDateTime=d.created,
        LastChangedDateTime=d.last_changed,
        Reference=d.reference,
        Reportee=d.reportee,
        SdpId=d.sdp_id,
        StatusHistory=T.ArrayOfSdpStatusChange(
            SdpStatusChange=[T.SdpStatusChange(Status=st, StatusDateTime=when) for st, when in d.history]
        ),
    )


def _corr_info(r: StatusResult) -> Any:
    if r.correspondences is None:
        return None
    return T.CorrespondenceStatusInformation(
        CorrespondenceStatusDetailsList=_status_list(r.correspondences),
        LimitReached=r.correspondences_limit_reached,
    )


def _sdp_info(r: StatusResult) -> Any:
    if r.sdp is None:
        return None
    return T.SdpStatusInformation(
        LimitReached=r.sdp_limit_reached,
        SdpStatusDetailsList=T.ArrayOfSdpStatusDetails(SdpStatusDetails=[_sdp_details(d) for d in r.sdp]),
    )


def status_result_v2(r: StatusResult) -> Any:
    return T.CorrespondenceStatusResultV2(
        LimitReached=r.correspondences_limit_reached,
        ServiceCode=r.service_code,
        ServiceEditionCode=r.service_edition,
        StatusList=_status_list(r.correspondences or []),
    )


def status_result_v3(r: StatusResult) -> Any:
    return T.CorrespondenceStatusResultV3(
        CorrespondenceStatusInformation=_corr_info(r),
        SdpStatusInformation=_sdp_info(r),
        ServiceCode=r.service_code,
        ServiceEditionCode=r.service_edition,
    )


def history_result(r: StatusResult) -> tuple[Any, Any]:
    return _corr_info(r), _sdp_info(r)
