"""The status answers written straight with lxml, without spyne's serialiser (issue 17).

``GetCorrespondenceStatusHistory`` answers up to 10 000 references: 15 000 entries and some 150 000
elements. spyne builds a model object for each (``tests/support/status_spyne.history_result``) and walks them to write
XML, about 70 % of the request's time. This module writes the same document from the use case's
:class:`~service.domain.status.StatusResult`: the elements, order and namespaces of the contract
types in ``types.py`` (each child in its parent type's namespace, the namespaces taken from those
types), a value of ``None`` omitted as spyne omits it, ``dateTime`` as ``isoformat()`` (spyne's
``DateTime`` default), booleans ``true``/``false``; the envelope declares the application's
namespace prefixes and keeps only those used (spyne's ``cleanup_namespaces``), so the answer is the
one spyne writes, byte for byte after canonicalisation (``tests/unit/test_status_xml.py`` compares
them through the web application, both variants).

The handler returns a :class:`StatusReply` (the history: as the first of its two out values); the
protocol's ``serialize`` (``protocol.py``) asks :func:`reply_document` for the envelope. The V2/V3
status details answers are written the same way (``kind`` ``"v2"`` / ``"v3"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lxml import etree

from ...domain.status import SdpDetailsView, StatusResult, StatusV2View
from . import types as T
from .receipt_xml import SOAP_ENV

Kind = Literal["history", "v2", "v3"]

# The namespace of each contract type's children (spyne writes a child in its parent type's namespace).
_V2 = T.StatusV2.get_namespace()  # StatusV2, ArrayOfStatusV2, StatusChangeV2, ArrayOfStatusChangeV2
_NOTE = T.ArrayOfNotification.get_namespace()  # ArrayOfNotification, StatusNotification
_V3 = T.SdpStatusDetails.get_namespace()  # 2016/02: the SDP types, the V3 result, the information types
assert T.ArrayOfStatusV2.get_namespace() == _V2 == T.StatusChangeV2.get_namespace()
assert T.ArrayOfStatusChangeV2.get_namespace() == _V2 == T.CorrespondenceStatusResultV2.get_namespace()
assert T.StatusNotification.get_namespace() == _NOTE
assert T.CorrespondenceStatusInformation.get_namespace() == _V3 == T.SdpStatusInformation.get_namespace()
assert T.CorrespondenceStatusResultV3.get_namespace() == _V3 == T.ArrayOfSdpStatusDetails.get_namespace()
assert T.SdpStatusChange.get_namespace() == _V3 == T.ArrayOfSdpStatusChange.get_namespace()


def _q(ns: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{{{ns}}}{n}" for n in names)


# StatusV2 and its children (in _V2)
(
    _STATUS_V2,
    _CORRESPONDENCE_ID,
    _CREATED_DATE,
    _NOTIFICATIONS,
    _REPORTEE,
    _SENDERS_REFERENCE,
    _STATUS_CHANGES,
    _STATUS_CHANGE_V2,
    _STATUS_DATE,
    _STATUS_TYPE,
) = _q(
    _V2,
    "StatusV2",
    "CorrespondenceID",
    "CreatedDate",
    "Notifications",
    "Reportee",
    "SendersReference",
    "StatusChanges",
    "StatusChangeV2",
    "StatusDate",
    "StatusType",
)
_NOTIFICATION, _RECIPIENT, _SENT_DATE, _TRANSPORT_TYPE = _q(
    _NOTE, "Notification", "Recipient", "SentDate", "TransportType"
)
(
    _SDP_DETAILS,
    _SDP_CORRESPONDENCE_ID,
    _CREATED_DATETIME,
    _LAST_CHANGED_DATETIME,
    _REFERENCE,
    _SDP_REPORTEE,
    _SDP_ID,
    _STATUS_HISTORY,
    _SDP_CHANGE,
    _SDP_STATUS,
    _SDP_STATUS_DATETIME,
    _DETAILS_LIST,
    _LIMIT_REACHED,
    _SDP_DETAILS_LIST,
    _CORR_INFO,
    _SDP_INFO,
    _V3_SERVICE_CODE,
    _V3_SERVICE_EDITION,
) = _q(
    _V3,
    "SdpStatusDetails",
    "CorrespondenceId",
    "CreatedDateTime",
    "LastChangedDateTime",
    "Reference",
    "Reportee",
    "SdpId",
    "StatusHistory",
    "SdpStatusChange",
    "Status",
    "StatusDateTime",
    "CorrespondenceStatusDetailsList",
    "LimitReached",
    "SdpStatusDetailsList",
    "CorrespondenceStatusInformation",
    "SdpStatusInformation",
    "ServiceCode",
    "ServiceEditionCode",
)
_V2_LIMIT_REACHED, _V2_SERVICE_CODE, _V2_SERVICE_EDITION, _V2_STATUS_LIST = _q(
    _V2, "LimitReached", "ServiceCode", "ServiceEditionCode", "StatusList"
)

_sub = etree.SubElement


@dataclass(frozen=True)
class StatusReply:
    """A handler's status answer: the response wrapper's names, the out values' names and the result.

    ``kind``: ``"history"`` (out values CorrespondenceStatusInformation and SdpStatusInformation),
    ``"v2"`` (one CorrespondenceStatusResultV2) or ``"v3"`` (one CorrespondenceStatusResultV3)."""

    kind: Kind
    out_ns: str
    out_element: str
    out_names: tuple[str, ...]
    result: StatusResult


def _text(parent: etree._Element, tag: str, value: str | None) -> None:
    if value is not None:
        _sub(parent, tag).text = value


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _status_v2(parent: etree._Element, s: StatusV2View) -> None:
    el = _sub(parent, _STATUS_V2)
    _sub(el, _CORRESPONDENCE_ID).text = str(s.correspondence_id)
    _text(el, _CREATED_DATE, _dt(s.created_date))
    notes = _sub(el, _NOTIFICATIONS)
    for n in s.notifications:
        note = _sub(notes, _NOTIFICATION)
        _text(note, _RECIPIENT, n.recipient)
        _text(note, _SENT_DATE, _dt(n.sent_date))
        _text(note, _TRANSPORT_TYPE, n.transport_type)
    _text(el, _REPORTEE, s.reportee)
    _text(el, _SENDERS_REFERENCE, s.senders_reference)
    changes = _sub(el, _STATUS_CHANGES)
    for when, status_type in s.status_changes:
        change = _sub(changes, _STATUS_CHANGE_V2)
        _text(change, _STATUS_DATE, _dt(when))
        _text(change, _STATUS_TYPE, status_type)


def _status_list(parent: etree._Element, tag: str, items: Iterable[StatusV2View]) -> None:
    el = _sub(parent, tag)
    for s in items:
        _status_v2(el, s)


def _sdp_details(parent: etree._Element, d: SdpDetailsView) -> None:
    el = _sub(parent, _SDP_DETAILS)
    if d.correspondence_id is not None:
        _sub(el, _SDP_CORRESPONDENCE_ID).text = str(d.correspondence_id)
    _text(el, _CREATED_DATETIME, _dt(d.created))
    _text(el, _LAST_CHANGED_DATETIME, _dt(d.last_changed))
    _text(el, _REFERENCE, d.reference)
    _text(el, _SDP_REPORTEE, d.reportee)
    _sub(el, _SDP_ID).text = str(d.sdp_id)
    history = _sub(el, _STATUS_HISTORY)
    for status_name, when in d.history:
        change = _sub(history, _SDP_CHANGE)
        _text(change, _SDP_STATUS, status_name)
        _text(change, _SDP_STATUS_DATETIME, _dt(when))


def _corr_info(parent: etree._Element, tag: str, r: StatusResult) -> None:
    if r.correspondences is None:
        return
    el = _sub(parent, tag)
    _status_list(el, _DETAILS_LIST, r.correspondences)
    _sub(el, _LIMIT_REACHED).text = _bool(r.correspondences_limit_reached)


def _sdp_info(parent: etree._Element, tag: str, r: StatusResult) -> None:
    if r.sdp is None:
        return
    el = _sub(parent, tag)
    _sub(el, _LIMIT_REACHED).text = _bool(r.sdp_limit_reached)
    details = _sub(el, _SDP_DETAILS_LIST)
    for d in r.sdp:
        _sdp_details(details, d)


def _result_v2(el: etree._Element, r: StatusResult) -> None:
    _sub(el, _V2_LIMIT_REACHED).text = _bool(r.correspondences_limit_reached)
    _text(el, _V2_SERVICE_CODE, r.service_code)
    if r.service_edition is not None:
        _sub(el, _V2_SERVICE_EDITION).text = str(r.service_edition)
    _status_list(el, _V2_STATUS_LIST, r.correspondences or [])


def _result_v3(el: etree._Element, r: StatusResult) -> None:
    _corr_info(el, _CORR_INFO, r)
    _sdp_info(el, _SDP_INFO, r)
    _text(el, _V3_SERVICE_CODE, r.service_code)
    if r.service_edition is not None:
        _sub(el, _V3_SERVICE_EDITION).text = str(r.service_edition)


def reply_document(soap_version: str, nsmap: Mapping[str | None, str], reply: StatusReply) -> etree._Element:
    """The answer's envelope; ``nsmap``: the spyne application's prefixes (``app.interface.nsmap``)."""
    env_ns = SOAP_ENV[soap_version]
    envelope = etree.Element(f"{{{env_ns}}}Envelope", nsmap=dict(nsmap))
    body = _sub(envelope, f"{{{env_ns}}}Body")
    response = _sub(body, f"{{{reply.out_ns}}}{reply.out_element}")
    r = reply.result
    if reply.kind == "history":
        corr_name, sdp_name = reply.out_names
        _corr_info(response, f"{{{reply.out_ns}}}{corr_name}", r)
        _sdp_info(response, f"{{{reply.out_ns}}}{sdp_name}", r)
    elif reply.kind == "v2":
        _result_v2(_sub(response, f"{{{reply.out_ns}}}{reply.out_names[0]}"), r)
    else:
        _result_v3(_sub(response, f"{{{reply.out_ns}}}{reply.out_names[0]}"), r)
    etree.cleanup_namespaces(envelope)  # as spyne: only the prefixes used stay declared
    return envelope
