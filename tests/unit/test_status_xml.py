"""The status answers written with lxml (soap/status_xml.py) are the documents spyne writes.

Differential: the web application in this process (both variants, SOAP 1.1 Basic and SOAP 1.2 WS
with WS-Security and WS-Addressing) answers the same zeep request twice for the same use-case
result: once through the handler of today (a ``StatusReply`` written by ``status_xml``), once
through a handler that returns the spyne model of that result (``status_spyne.history_result`` /
``status_result_v2`` / ``status_result_v3``, serialised by spyne). The two answers must be equal
byte for byte after canonicalisation (C14N), for varied results: empty, absent lists, one reference
with many changes, notifications with and without a date and a recipient, sub-second and whole-second
times (and other offsets), unicode and markup characters, LimitReached true and false.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from service.adapters.migrate import upgrade
from service.bootstrap import bootstrap
from service.config import load
from service.domain.status import NotificationView, SdpDetailsView, StatusResult, StatusV2View
from service.entrypoints.cli import ensure_demo_owners
from service.entrypoints.soap import handlers
from service.entrypoints.soap.app import make_wsgi_app
from service.entrypoints.soap.operations import VARIANTS
from service.entrypoints.soap.status_xml import StatusReply
from service.service_layer import status
from tests.support import altinn as a
from tests.support import status_spyne
from tests.support.fakes import FakeRegistry
from tests.support.wsgi import post as wsgi_post

SUB = datetime(2026, 12, 1, 10, 11, 12, 345678, tzinfo=UTC)
WHOLE = datetime(2026, 12, 1, 10, 11, 12, tzinfo=UTC)
OSLO = datetime(2026, 6, 1, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=2)))
NAIVE = datetime(2026, 1, 2, 3, 4, 5, 600000)

V2_STATUSES = ("Created", "Read", "Confirmed", "Archived")
SDP_STATUSES = ("Sent_Meldingsformidler", "Delivered_EndUser", "Delivery_EndUser_Failed")


def _view(i: int, changes: int, notes: tuple[NotificationView, ...] = ()) -> StatusV2View:
    times = (SUB, WHOLE, OSLO, NAIVE)
    return StatusV2View(
        correspondence_id=1000 + i,
        created_date=times[i % 4],
        reportee="01018010018" if i % 2 else "910076787",
        senders_reference=f"ref-{i}-æøå ÆØÅ 名前 <&>\"'",
        status_changes=tuple(
            (times[(i + k) % 4] + timedelta(seconds=k), V2_STATUSES[k % 4]) for k in range(changes)
        ),
        notifications=notes,
    )


def _sdp(i: int, changes: int, with_copy: bool) -> SdpDetailsView:
    return SdpDetailsView(
        sdp_id=50 + i,
        correspondence_id=2000 + i if with_copy else None,
        created=SUB if i % 2 else WHOLE,
        last_changed=OSLO if i % 3 else NAIVE,
        reference=f"sdp-{i} ü ß & <x>",
        reportee="01018010018",
        history=tuple(
            (SDP_STATUSES[k % 3], WHOLE + timedelta(microseconds=k * 250_001)) for k in range(changes)
        ),
    )


NOTES = (
    NotificationView("ola@example.no", SUB, "Email"),
    NotificationView("+4799999999", WHOLE, "SMS"),
    NotificationView(None, None, "SMS"),  # no address
    NotificationView("kari@example.no", None, "Email"),  # given up
)

RESULTS: dict[str, StatusResult] = {
    "empty": StatusResult(None, None, [], False, [], False),
    "absent": StatusResult(None, None, None, False, None, False),
    "one_reference_many_changes": StatusResult(
        None, None, [_view(1, 40, NOTES)], False, [_sdp(1, 25, True)], False
    ),
    "notifications_present_and_absent": StatusResult(
        None, None, [_view(i, i % 3, NOTES[: i % 5]) for i in range(8)], True, None, False
    ),
    "sdp_only_limit_reached": StatusResult(
        None, None, None, False, [_sdp(i, i % 4, i % 2 == 0) for i in range(6)], True
    ),
    "mixed": StatusResult(
        "4503",
        1,
        [_view(i, 3, NOTES[:2]) for i in range(5)],
        True,
        [_sdp(i, 2, True) for i in range(3)],
        False,
    ),
}


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, bytes], bytes]]:
    work = Path(tmp_path_factory.mktemp("status-xml"))
    url = f"sqlite:///{work}/db.sqlite"
    env = {
        **os.environ,
        "INNBYGGERPOST_DATABASE_URL": url,
        "INNBYGGERPOST_SECRET_KEY_FILE": str(work / "secret.key"),
    }
    config = load(env)
    upgrade(url)
    ensure_demo_owners(config)
    app = make_wsgi_app(bootstrap(config, registry=FakeRegistry(persons={})))

    def _post(variant: str, body: bytes) -> bytes:
        v = VARIANTS[variant]
        status, out = wsgi_post(app, v.path, body, v.soap_version)
        assert status.startswith("200"), out[:600]
        return out

    yield _post


def _request(variant: str, operation: str) -> bytes:
    """zeep's own request of ``operation`` (Basic: credentials in SOAP headers; WS: UsernameToken)."""
    if variant == "basic":
        svc = a.basic("http://127.0.0.1" + VARIANTS["basic"].path)
        creds: dict[str, Any] = (
            {"_soapheaders": {"SystemUserName": "10001", "SystemPassword": "demo-password"}}
            if "History" in operation
            else {"systemUserName": "10001", "systemPassword": "demo-password"}
        )
    else:
        svc = a.ws("http://127.0.0.1" + VARIANTS["ws"].path)
        creds = {}
    if "History" in operation:
        args: dict[str, Any] = {"CorrespondenceSendersReferences": {"string": ["ref-1", "ref-2"]}}
    else:
        flt = {"ServiceCode": "4503", "ServiceEditionCode": 1}
        if operation.endswith("V3"):
            flt["SdpSearchOptions"] = {"IncludeCorrespondence": True}
        args = {"filterCriteria": flt}
    env = svc._client.create_message(svc, operation, **args, **creds)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))


def _c14n(answer: bytes) -> bytes:
    return etree.tostring(etree.fromstring(answer), method="c14n")


_SPYNE_MODEL = {
    "GetCorrespondenceStatusHistory": lambda r: status_spyne.history_result(r),
    "GetCorrespondenceStatusDetailsV2": lambda r: status_spyne.status_result_v2(r),
    "GetCorrespondenceStatusDetailsV3": lambda r: status_spyne.status_result_v3(r),
}


_BASIC_NAMES = {
    "GetCorrespondenceStatusHistory": "GetCorrespondenceStatusHistoryBasic",
    "GetCorrespondenceStatusDetailsV2": "GetCorrespondenceStatusDetailsBasicV2",
    "GetCorrespondenceStatusDetailsV3": "GetCorrespondenceStatusDetailsBasicV3",
}


def _operation(variant: str, canonical: str) -> str:
    return _BASIC_NAMES[canonical] if variant == "basic" else canonical


def _both(
    monkeypatch: pytest.MonkeyPatch,
    post: Callable[[str, bytes], bytes],
    variant: str,
    canonical: str,
    r: StatusResult,
) -> tuple[bytes, bytes]:
    monkeypatch.setattr(status, "status_history", lambda *args, **kw: r)
    monkeypatch.setattr(status, "status_details", lambda *args, **kw: r)
    body = _request(variant, _operation(variant, canonical))
    ours = post(variant, body)
    today = handlers.HANDLERS[canonical]
    seen: list[Any] = []

    def spyne_way(app: Any, op: Any, principal: Any, params: Any) -> Any:
        reply = today(app, op, principal, params)
        seen.append(reply)
        return _SPYNE_MODEL[canonical](r)

    monkeypatch.setitem(handlers.HANDLERS, canonical, spyne_way)
    theirs = post(variant, body)
    monkeypatch.setitem(handlers.HANDLERS, canonical, today)
    assert seen, "the spyne-model handler was not called"
    reply = seen[0][0] if isinstance(seen[0], tuple) else seen[0]
    assert isinstance(reply, StatusReply)  # today's handler answers with the lxml-written reply
    return ours, theirs


@pytest.mark.parametrize("name", sorted(RESULTS))
@pytest.mark.parametrize("variant", ["basic", "ws"])
@pytest.mark.parametrize(
    "canonical",
    [
        "GetCorrespondenceStatusHistory",
        "GetCorrespondenceStatusDetailsV2",
        "GetCorrespondenceStatusDetailsV3",
    ],
)
def test_same_answer_as_spyne(
    monkeypatch: pytest.MonkeyPatch,
    post: Callable[[str, bytes], bytes],
    canonical: str,
    variant: str,
    name: str,
) -> None:
    r = RESULTS[name]
    ours, theirs = _both(monkeypatch, post, variant, canonical, r)
    assert _c14n(ours) == _c14n(theirs)
    assert b"Fault" not in ours
    if variant == "ws":  # WS-Addressing reply headers on the lxml-written answer too
        assert b"RelatesTo" in ours and b"Action" in ours


def test_differs_when_the_data_differs(
    monkeypatch: pytest.MonkeyPatch, post: Callable[[str, bytes], bytes]
) -> None:
    """The comparison can fail: one microsecond apart is a different answer."""
    r = RESULTS["one_reference_many_changes"]
    ours, _ = _both(monkeypatch, post, "basic", "GetCorrespondenceStatusHistory", r)
    v = r.correspondences[0]  # type: ignore[index]
    shifted = StatusResult(
        None,
        None,
        [
            StatusV2View(
                v.correspondence_id,
                v.created_date + timedelta(microseconds=1),
                v.reportee,
                v.senders_reference,
                v.status_changes,
                v.notifications,
            )
        ],
        False,
        r.sdp,
        False,
    )
    _, theirs = _both(monkeypatch, post, "basic", "GetCorrespondenceStatusHistory", shifted)
    assert _c14n(ours) != _c14n(theirs)
