"""Every implemented operation of both variants through clients built from the published WSDLs (issue #2).

Basic (SOAP 1.1, credentials in the body or, for the status history, in SOAP headers) and WS (SOAP 1.2,
WS-Security UsernameToken with PasswordText and PasswordDigest) against the running service: receipts
(docs/specification.md §2.3), status filters (§3), authentication faults (§4), the served WSDLs (§1) used by zeep and
suds-community without an address override, /health and /metrics. LimitReached is tested against the
status use case with a small limit on a temporary SQLite database (the shared stack keeps the default).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from tests.support import altinn as a
from tests.support.harness import BASIC_PATH, REPO, WS_PATH, Stack, wait_until

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep
    import zeep.exceptions
    from zeep.wsse.username import UsernameToken

FILTER = {"ServiceCode": "4503", "ServiceEditionCode": 1}
HISTORY_LINE = re.compile(
    r"(?P<date>.+?) - (?P<status>OK|Rejected|ValidationFailed|UnExpectedError) - (?P<text>.+)"
)
HISTORY_DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M")
PLAIN = None  # no SdpOptions
COPY_NO_POSTBOX = a.sdp("CopyAltinn", backup=None)


def _refs(receipt: Any) -> dict[str, str]:
    return {r.ReferenceTypeName: r.ReferenceValue for r in receipt.References.Reference}


def _history_date(value: str) -> dt.datetime:
    for fmt in HISTORY_DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise AssertionError(f"ReceiptHistory date {value!r} is not a date")


def assert_receipt(
    r: Any, reference: str, reportee: str, status: str = "OK", archive: str | None = "ARK-1"
) -> None:
    """docs/specification.md §2.3 fields of a fresh receipt."""
    now = dt.datetime.now(dt.UTC)
    assert r.ReceiptStatusCode == status, r.ReceiptText
    assert r.ReceiptTypeName == "Correspondence"
    assert isinstance(r.ReceiptId, int) and r.ReceiptId > 0
    assert r.LastChanged is not None and abs(r.LastChanged - now) < dt.timedelta(minutes=2)
    assert r.ReceiptText
    lines = [line for line in r.ReceiptHistory.splitlines() if line.strip()]
    assert lines, "empty ReceiptHistory"
    for line in lines:
        m = HISTORY_LINE.fullmatch(line.strip())
        assert m, f"ReceiptHistory line {line!r} is not '<date> - <status> - <text>'"
        assert abs(_history_date(m["date"]) - now) < dt.timedelta(minutes=2)
    last = HISTORY_LINE.fullmatch(lines[-1].strip())
    assert last and last["status"] == status and last["text"] == r.ReceiptText
    refs = _refs(r)
    assert refs["ExternalShipmentReference"] == reference
    assert refs["OwnerPartyReference"] == reportee
    if archive is None:
        assert "ArchiveReference" not in refs
    else:
        assert refs["ArchiveReference"] == archive


def _statuses(result: Any) -> list[Any]:
    """StatusV2 entries of a V2 result or of a V3 CorrespondenceStatusInformation."""
    lst = getattr(result, "StatusList", None)
    if lst is None and getattr(result, "CorrespondenceStatusDetailsList", None) is not None:
        lst = result.CorrespondenceStatusDetailsList
    return list(lst.StatusV2) if lst is not None and lst.StatusV2 else []


def _sdp(info: Any) -> list[Any]:
    if info is None or info.SdpStatusDetailsList is None:
        return []
    return list(info.SdpStatusDetailsList.SdpStatusDetails or [])


# ------------------------------------------------------------------------------------------------ Test


def test_basic_test_operation(stack: Stack) -> None:
    assert a.basic(stack.basic_url).Test() is None


@pytest.mark.parametrize("digest", [False, True], ids=["text", "digest"])
def test_ws_test_operation(stack: Stack, digest: bool) -> None:
    assert a.ws_cached(stack.ws_url, digest=digest).Test() is None


# -------------------------------------------------------------------------------------------- receipts


def test_basic_insert_receipt_fields(stack: Stack) -> None:
    ref1, ref2 = a.ref("rcpt"), a.ref("rcpt")
    r1 = a.insert(stack.basic_url, ref1, a.letter(a.DIGIPOST))
    assert_receipt(r1, ref1, a.DIGIPOST)
    assert r1.SubReceipts is None  # no SdpOptions: no forwarding sub-receipt
    r2 = a.insert(stack.basic_url, ref2, a.letter(a.ORGANISATION, ArchiveReference=None))
    assert_receipt(r2, ref2, a.ORGANISATION, archive=None)
    assert r2.ReceiptId != r1.ReceiptId
    assert stack.stored_for(ref1) == {"receipts": 1, "correspondences": 1, "forwardings": 0}


def test_basic_insert_with_sdp_has_sub_receipt(stack: Stack) -> None:
    reference = a.ref("rcpt-sdp")
    r = a.insert(stack.basic_url, reference, a.letter(a.NO_POSTBOX, COPY_NO_POSTBOX))
    assert_receipt(r, reference, a.NO_POSTBOX)
    (sub,) = r.SubReceipts.ReceiptExternal
    assert sub.ParentReceiptId == r.ReceiptId and sub.ReceiptText
    assert sub.ReceiptTypeName == "Correspondence" and sub.ReceiptStatusCode != "NotSet"
    assert stack.stored_for(reference) == {"receipts": 1, "correspondences": 1, "forwardings": 1}


@pytest.mark.parametrize("digest", [False, True], ids=["text", "digest"])
def test_ws_insert_receipt_fields(stack: Stack, digest: bool) -> None:
    reference = a.ref("ws-rcpt")
    svc = a.ws_cached(stack.ws_url, digest=digest)
    r = svc.InsertCorrespondenceV2("DEMO", reference, a.letter(a.EBOKS))
    assert_receipt(r, reference, a.EBOKS)
    assert stack.stored_for(reference) == {"receipts": 1, "correspondences": 1, "forwardings": 0}
    # the stored owner is the authenticated one
    assert (
        stack.count(
            "SELECT count(*) FROM receipts r JOIN service_owners o ON o.id = r.owner_id "
            "WHERE r.external_shipment_reference=:r AND o.system_user_code='DEMO'",
            r=reference,
        )
        == 1
    )


# --------------------------------------------------------------------------------- status operations


def _check_v2(result: Any, reference: str, reportee: str) -> None:
    assert result.ServiceCode == "4503" and result.ServiceEditionCode == 1
    assert result.LimitReached is False
    (s,) = _statuses(result)
    assert s.SendersReference == reference and s.Reportee == reportee and s.CorrespondenceID > 0
    assert [c.StatusType for c in s.StatusChanges.StatusChangeV2] == ["Created"]


def test_status_details_v2_both_variants(stack: Stack) -> None:
    reference = a.ref("v2")
    a.insert(stack.basic_url, reference, a.letter(a.DIGIPOST))
    flt = {**FILTER, "SendersReference": reference}
    _check_v2(
        a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV2("10001", "demo-password", flt),
        reference,
        a.DIGIPOST,
    )
    for digest in (False, True):
        _check_v2(
            a.ws_cached(stack.ws_url, digest=digest).GetCorrespondenceStatusDetailsV2(flt),
            reference,
            a.DIGIPOST,
        )


def _v3_calls(stack: Stack, flt: dict[str, Any]) -> list[Any]:
    return [
        a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV3("10001", "demo-password", flt),
        a.ws_cached(stack.ws_url).GetCorrespondenceStatusDetailsV3(flt),
        a.ws_cached(stack.ws_url, digest=True).GetCorrespondenceStatusDetailsV3(flt),
    ]


def test_status_details_v3_without_sdp_search_options(stack: Stack) -> None:
    reference = a.ref("v3")
    a.insert(stack.basic_url, reference, a.letter(a.NO_POSTBOX, COPY_NO_POSTBOX))
    for result in _v3_calls(stack, {**FILTER, "SendersReference": reference}):
        assert result.ServiceCode == "4503" and result.ServiceEditionCode == 1
        info = result.CorrespondenceStatusInformation
        assert info is not None and info.LimitReached is False
        (s,) = _statuses(info)
        assert s.SendersReference == reference
        assert result.SdpStatusInformation is None  # only with SdpSearchOptions


@pytest.mark.parametrize("include", [True, False], ids=["with-correspondence", "sdp-only"])
def test_status_details_v3_with_sdp_search_options(stack: Stack, include: bool) -> None:
    reference = a.ref("v3sdp")
    r = a.insert(stack.basic_url, reference, a.letter(a.NO_POSTBOX, COPY_NO_POSTBOX))
    assert r.ReceiptStatusCode == "OK"
    flt = {**FILTER, "SendersReference": reference, "SdpSearchOptions": {"IncludeCorrespondence": include}}
    for result in _v3_calls(stack, flt):
        (d,) = _sdp(result.SdpStatusInformation)
        assert result.SdpStatusInformation.LimitReached is False
        assert d.Reference == reference and d.Reportee == a.NO_POSTBOX and d.SdpId > 0
        assert [c.Status for c in d.StatusHistory.SdpStatusChange] == ["NoMailBox"]
        if include:
            (s,) = _statuses(result.CorrespondenceStatusInformation)
            assert d.CorrespondenceId == s.CorrespondenceID  # the Altinn copy
        else:
            assert result.CorrespondenceStatusInformation is None
            assert d.CorrespondenceId is not None


def test_status_details_v3_rejected_forwarding_has_null_correspondence_id(stack: Stack) -> None:
    reference = a.ref("v3rej")
    r = a.insert(stack.basic_url, reference, a.letter(a.NO_POSTBOX, a.sdp("ForwardOnly", backup=False)))
    assert r.ReceiptStatusCode == "Rejected"
    flt = {**FILTER, "SendersReference": reference, "SdpSearchOptions": {"IncludeCorrespondence": True}}
    for result in _v3_calls(stack, flt):
        (d,) = _sdp(result.SdpStatusInformation)
        assert d.CorrespondenceId is None and d.Reference == reference
        assert _statuses(result.CorrespondenceStatusInformation) == []


def test_status_filters(stack: Stack) -> None:
    """Reportee, SendersReference, CreatedAfter/Before and CurrentStatus, on V2 (Basic) and V3 (WS)."""
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    refs = {"dp": a.ref("flt"), "eb": a.ref("flt"), "res": a.ref("flt")}
    assert a.insert(stack.basic_url, refs["dp"], a.letter(a.DIGIPOST)).ReceiptStatusCode == "OK"
    assert a.insert(stack.basic_url, refs["eb"], a.letter(a.EBOKS)).ReceiptStatusCode == "OK"
    # reserved, IsReservable: stored with status Reserved, receipt Rejected (docs/specification.md §2.2)
    res = a.insert(stack.basic_url, refs["res"], a.letter(a.RESERVED, IsReservable=True))
    assert res.ReceiptStatusCode == "Rejected"
    t1 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    mine = set(refs.values())
    window = {"CreatedAfterDate": t0, "CreatedBeforeDate": t1}

    def v2(**flt: Any) -> set[str]:
        res = a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV2(
            "10001", "demo-password", {**FILTER, **flt}
        )
        return {s.SendersReference for s in _statuses(res)} & mine

    def v3(**flt: Any) -> set[str]:
        res = a.ws_cached(stack.ws_url).GetCorrespondenceStatusDetailsV3({**FILTER, **flt})
        return {s.SendersReference for s in _statuses(res.CorrespondenceStatusInformation)} & mine

    for query in (v2, v3):
        assert query(**window) == mine
        assert query(SendersReference=refs["eb"]) == {refs["eb"]}
        assert query(Reportee=a.DIGIPOST, **window) == {refs["dp"]}
        assert query(Reportee=a.RESERVED, **window) == {refs["res"]}
        assert query(CurrentStatus="Reserved", **window) == {refs["res"]}
        assert query(CurrentStatus="Created", **window) == {refs["dp"], refs["eb"]}
        assert query(CurrentStatus="Read", **window) == set()
        assert query(CreatedAfterDate=t1) == set()
        assert query(CreatedBeforeDate=t0) == set()
        assert query(CreatedAfterDate=t0) == mine
        assert query(CreatedBeforeDate=t1, SendersReference=refs["dp"]) == {refs["dp"]}

    # the Reserved correspondence carries its status change
    (s,) = _statuses(
        a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV2(
            "10001", "demo-password", {**FILTER, "SendersReference": refs["res"]}
        )
    )
    assert [c.StatusType for c in s.StatusChanges.StatusChangeV2] == ["Reserved"]


def test_status_history_basic_and_ws(stack: Stack) -> None:
    plain, fwd, rejected, unknown = a.ref("sh"), a.ref("sh"), a.ref("sh"), a.ref("sh-unknown")
    a.insert(stack.basic_url, plain, a.letter(a.DIGIPOST))
    a.insert(stack.basic_url, fwd, a.letter(a.NO_POSTBOX, COPY_NO_POSTBOX))
    a.insert(stack.basic_url, rejected, a.letter(a.NO_POSTBOX, a.sdp("ForwardOnly", backup=False)))
    refs = [plain, fwd, rejected, unknown]
    results = [
        a.history_basic(stack.basic_url, refs),
        a.ws_cached(stack.ws_url).GetCorrespondenceStatusHistory(
            CorrespondenceSendersReferences={"string": refs}
        ),
        a.ws_cached(stack.ws_url, digest=True).GetCorrespondenceStatusHistory(
            CorrespondenceSendersReferences={"string": refs}
        ),
    ]
    for result in results:
        corr = {s.SendersReference: s for s in _statuses(result.CorrespondenceStatusInformation)}
        assert set(corr) == {plain, fwd}
        assert all(
            [c.StatusType for c in s.StatusChanges.StatusChangeV2] == ["Created"] for s in corr.values()
        )
        sdp = {d.Reference: d for d in _sdp(result.SdpStatusInformation)}
        assert set(sdp) == {fwd, rejected}
        assert sdp[fwd].CorrespondenceId == corr[fwd].CorrespondenceID
        assert sdp[rejected].CorrespondenceId is None
        assert [c.Status for c in sdp[rejected].StatusHistory.SdpStatusChange] == ["NoMailBox"]
        assert result.CorrespondenceStatusInformation.LimitReached is False


@pytest.mark.parametrize(
    "headers",
    [
        {"SystemUserName": "10001", "SystemPassword": "wrong-password"},
        {"SystemUserName": "", "SystemPassword": "demo-password"},
        {"SystemUserName": "nobody", "SystemPassword": "demo-password"},
    ],
    ids=["wrong-password", "empty-user", "unknown-user"],
)
def test_status_history_basic_header_auth(stack: Stack, headers: dict[str, str]) -> None:
    with pytest.raises(zeep.exceptions.Fault) as err:
        a.basic(stack.basic_url).GetCorrespondenceStatusHistoryBasic(
            CorrespondenceSendersReferences={"string": ["x"]}, _soapheaders=headers
        )
    assert a.fault_error_id(err.value) == 989


# --------------------------------------------------------------------------------- authentication


def _ws_calls(svc: Any, reference: str) -> list[tuple[str, Any]]:
    return [
        ("InsertCorrespondenceV2", lambda: svc.InsertCorrespondenceV2("DEMO", reference, a.letter())),
        ("GetCorrespondenceStatusDetailsV2", lambda: svc.GetCorrespondenceStatusDetailsV2(FILTER)),
        ("GetCorrespondenceStatusDetailsV3", lambda: svc.GetCorrespondenceStatusDetailsV3(FILTER)),
        (
            "GetCorrespondenceStatusHistory",
            lambda: svc.GetCorrespondenceStatusHistory(
                CorrespondenceSendersReferences={"string": [reference]}
            ),
        ),
    ]


@pytest.mark.parametrize(
    "how",
    ["wrong-password-text", "wrong-password-digest", "unknown-user", "no-security-header"],
)
def test_ws_authentication_failures(stack: Stack, how: str) -> None:
    if how == "no-security-header":
        svc = a.ws_anonymous(stack.ws_url)
    elif how == "unknown-user":
        svc = a.ws_cached(stack.ws_url, user="99999", password="demo-password")
    else:
        svc = a.ws_cached(stack.ws_url, password="wrong-password", digest=how.endswith("digest"))
    reference = a.ref("ws-auth")
    for name, call in _ws_calls(svc, reference):
        with pytest.raises(zeep.exceptions.Fault) as err:
            call()
        assert a.fault_error_id(err.value) == 989, name
        assert "authentication" in err.value.message.lower(), name
    assert stack.stored_for(reference) == {"receipts": 0, "correspondences": 0, "forwardings": 0}


def test_basic_wrong_password(stack: Stack) -> None:
    reference = a.ref("basic-auth")
    svc = a.basic(stack.basic_url)
    calls = [
        lambda: svc.InsertCorrespondenceBasicV2("10001", "wrong", "DEMO", reference, a.letter()),
        lambda: svc.GetCorrespondenceStatusDetailsBasicV2("10001", "wrong", FILTER),
        lambda: svc.GetCorrespondenceStatusDetailsBasicV3("10001", "wrong", FILTER),
        lambda: svc.InsertCorrespondenceBasicV2("", "demo-password", "DEMO", reference, a.letter()),
    ]
    for call in calls:
        with pytest.raises(zeep.exceptions.Fault) as err:
            call()
        assert a.fault_error_id(err.value) == 989
    assert stack.stored_for(reference) == {"receipts": 0, "correspondences": 0, "forwardings": 0}


def _ws_envelope(url: str, operation: str, *args: Any, password: str = "demo-password") -> bytes:
    client = zeep.Client(
        str(a.altinn_reference(a.WS_WSDL)), wsse=UsernameToken("10001", password, use_digest=True)
    )
    svc = client.create_service(a.WS_BINDING, url)
    return etree.tostring(client.create_message(svc, operation, *args))


def _fault_id(body: bytes) -> int:
    root = etree.fromstring(body)
    found = root.find(f".//{a.FAULT_NS}ErrorID")
    assert found is not None, body[:500]
    return int(found.text or "")


def test_ws_replayed_nonce_is_refused(stack: Stack) -> None:
    reference = a.ref("replay")
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    body = _ws_envelope(stack.ws_url, "InsertCorrespondenceV2", "DEMO", reference, a.letter())
    first = requests.post(stack.ws_url, data=body, headers=headers, timeout=30)
    assert first.status_code == 200, first.text[:1000]
    assert b"ReceiptStatusCode>OK<" in first.content, first.text[:1000]
    # the same envelope again (same Nonce and Created): refused even though the receipt would be a repeat
    for _ in range(2):  # two gunicorn workers: the replay cache is shared
        again = requests.post(stack.ws_url, data=body, headers=headers, timeout=30)
        assert again.status_code == 500
        assert _fault_id(again.content) == 989
        assert b"Nonce" in again.content or b"replay" in again.content.lower()
    assert stack.stored_for(reference)["receipts"] == 1
    # a read-only operation is protected the same way
    body = _ws_envelope(stack.ws_url, "GetCorrespondenceStatusDetailsV2", FILTER)
    assert requests.post(stack.ws_url, data=body, headers=headers, timeout=30).status_code == 200
    again = requests.post(stack.ws_url, data=body, headers=headers, timeout=30)
    assert again.status_code == 500 and _fault_id(again.content) == 989


def test_ws_digest_with_long_nonce(stack: Stack) -> None:
    """Nonces are client-chosen: a long one (here 400 base64 characters) is remembered and checked too."""
    nonce = uuid.uuid4().hex * 9 + "abcd"  # 300 characters, sent base64-encoded
    wsse = UsernameToken("10001", "demo-password", use_digest=True, nonce=nonce)
    client = zeep.Client(str(a.altinn_reference(a.WS_WSDL)), wsse=wsse)
    svc = client.create_service(a.WS_BINDING, stack.ws_url)
    res = svc.GetCorrespondenceStatusDetailsV2(FILTER)
    assert res.ServiceCode == "4503"
    with pytest.raises(zeep.exceptions.Fault) as err:  # zeep reuses the fixed nonce: a replay
        svc.GetCorrespondenceStatusDetailsV2(FILTER)
    assert a.fault_error_id(err.value) == 989


# ------------------------------------------------------------------------------ older operations


OLD_BASIC = [
    ("CreateSimpleCorrespondenceServiceBasic", ("10001", "demo-password", "4503", 1)),
    ("GetCorrespondenceStatusDetailsBasic", ("10001", "demo-password", FILTER)),
    (
        "InsertCorrespondenceBasic",
        (
            "10001",
            "demo-password",
            "DEMO",
            "old-basic-insert",
            {"ServiceCode": "4503", "ServiceEdition": "1", "Reportee": a.DIGIPOST},
        ),
    ),
]
OLD_WS = [
    ("CreateSimpleCorrespondenceService", ("4503", 1)),
    ("GetCorrespondenceStatusDetails", (FILTER,)),
    (
        "InsertCorrespondence",
        ("DEMO", "old-ws-insert", {"ServiceCode": "4503", "ServiceEdition": "1", "Reportee": a.DIGIPOST}),
    ),
]


@pytest.mark.parametrize(
    "variant,name,args",
    [("basic", n, x) for n, x in OLD_BASIC] + [("ws", n, x) for n, x in OLD_WS],
    ids=[n for n, _ in OLD_BASIC] + [n for n, _ in OLD_WS],
)
def test_older_operations_answer_with_altinn_fault(
    stack: Stack, variant: str, name: str, args: tuple
) -> None:
    svc = a.basic(stack.basic_url) if variant == "basic" else a.ws_cached(stack.ws_url)
    before = stack.count("SELECT count(*) FROM receipts")
    with pytest.raises(zeep.exceptions.Fault) as err:
        getattr(svc, name)(*args)
    assert a.fault_error_id(err.value) == 0
    assert "not supported" in err.value.message.lower() or "not implemented" in err.value.message.lower()
    assert "Traceback" not in err.value.message and "Internal Error" not in err.value.message
    assert stack.count("SELECT count(*) FROM receipts") == before


# ---------------------------------------------------------------------------------- served WSDLs


def _golden(variant: str) -> bytes:
    name = a.BASIC_WSDL if variant == "basic" else a.WS_WSDL
    return (REPO / "wsdl" / "altinn" / name).read_bytes()


@pytest.mark.parametrize("query", ["wsdl", "singleWsdl", "WSDL"])
@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_served_wsdl_is_golden_with_public_address(stack: Stack, variant: str, query: str) -> None:
    path = BASIC_PATH if variant == "basic" else WS_PATH
    r = requests.get(f"{stack.url}{path}?{query}", timeout=10)
    assert r.status_code == 200 and "xml" in r.headers["Content-Type"]
    golden = _golden(variant)
    expected = golden.replace(f"https://www.altinn.no{path}".encode(), f"{stack.url}{path}".encode())
    assert expected != golden
    assert r.content == expected
    root = etree.fromstring(r.content)
    soap_ns = (
        "http://schemas.xmlsoap.org/wsdl/soap/"
        if variant == "basic"
        else "http://schemas.xmlsoap.org/wsdl/soap12/"
    )
    (address,) = root.iter(f"{{{soap_ns}}}address")
    assert address.get("location") == stack.url + path
    assert b"www.altinn.no/ServiceEngineExternal" not in r.content


def test_zeep_client_from_served_basic_wsdl(stack: Stack) -> None:
    client = zeep.Client(stack.basic_url + "?wsdl")
    assert client.service._binding_options["address"] == stack.basic_url
    assert client.service.Test() is None
    reference = a.ref("served-zeep")
    r = client.service.InsertCorrespondenceBasicV2(
        "10001", "demo-password", "DEMO", reference, a.letter(a.EBOKS)
    )
    assert_receipt(r, reference, a.EBOKS)
    res = client.service.GetCorrespondenceStatusDetailsBasicV3(
        "10001", "demo-password", {**FILTER, "SendersReference": reference}
    )
    (s,) = _statuses(res.CorrespondenceStatusInformation)
    assert s.SendersReference == reference
    hist = client.service.GetCorrespondenceStatusHistoryBasic(
        CorrespondenceSendersReferences={"string": [reference]},
        _soapheaders={"SystemUserName": "10001", "SystemPassword": "demo-password"},
    )
    assert [x.SendersReference for x in _statuses(hist.CorrespondenceStatusInformation)] == [reference]


@pytest.mark.parametrize("digest", [False, True], ids=["text", "digest"])
def test_zeep_client_from_served_ws_wsdl(stack: Stack, digest: bool) -> None:
    client = zeep.Client(
        stack.ws_url + "?wsdl", wsse=UsernameToken("10001", "demo-password", use_digest=digest)
    )
    assert client.service._binding_options["address"] == stack.ws_url
    assert client.service.Test() is None
    reference = a.ref("served-ws")
    r = client.service.InsertCorrespondenceV2("DEMO", reference, a.letter(a.DIGIPOST))
    assert_receipt(r, reference, a.DIGIPOST)
    res = client.service.GetCorrespondenceStatusDetailsV2({**FILTER, "SendersReference": reference})
    assert [s.SendersReference for s in _statuses(res)] == [reference]


def test_suds_client_from_served_basic_wsdl(stack: Stack) -> None:
    from suds.client import Client as SudsClient

    client = SudsClient(stack.basic_url + "?wsdl", cache=None, timeout=30)
    assert client.service.Test() is None
    n10 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10"
    rel = "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2010/10"
    f = client.factory
    att = f.create(f"{{{rel}}}BinaryAttachmentV2")
    att.FunctionType, att.FileName, att.Name, att.Encrypted = "Unspecified", "brev.pdf", "Brev", False
    att.Data = "JVBERi0xLjQKc3Vkcw=="  # suds sends base64Binary as given
    atts = f.create(f"{{{rel}}}BinaryAttachmentExternalBEV2List")
    atts.BinaryAttachmentV2 = [att]
    content = f.create(f"{{{n10}}}ExternalContentV2")
    content.LanguageCode, content.MessageTitle = "1044", "Brev fra suds"
    content.Attachments = f.create(f"{{{n10}}}AttachmentsV2")
    content.Attachments.BinaryAttachments = atts
    corr = f.create(f"{{{n10}}}InsertCorrespondenceV2")
    corr.ServiceCode, corr.ServiceEdition, corr.Reportee = "4503", "1", a.DIGIPOST
    corr.Content = content
    corr.ArchiveReference = "ARK-SUDS"
    corr.VisibleDateTime = dt.datetime.now(dt.UTC)
    corr.DueDateTime = dt.datetime.now(dt.UTC) + dt.timedelta(days=14)
    reference = a.ref("suds")
    r = client.service.InsertCorrespondenceBasicV2("10001", "demo-password", "DEMO", reference, corr)
    assert_receipt(r, reference, a.DIGIPOST, archive="ARK-SUDS")
    assert (
        stack.count(
            "SELECT count(*) FROM attachments t JOIN correspondences c ON c.id = t.correspondence_id "
            "WHERE c.external_shipment_reference=:r",
            r=reference,
        )
        == 1
    )

    flt = f.create(
        "{http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02}CorrespondenceStatusFilterV3"
    )
    flt.ServiceCode, flt.ServiceEditionCode, flt.SendersReference = "4503", 1, reference
    res = client.service.GetCorrespondenceStatusDetailsBasicV3("10001", "demo-password", flt)
    statuses = res.CorrespondenceStatusInformation.CorrespondenceStatusDetailsList.StatusV2
    assert [s.SendersReference for s in statuses] == [reference]
    assert [c.StatusType for c in statuses[0].StatusChanges.StatusChangeV2] == ["Created"]


# ----------------------------------------------------------------------------- /health and /metrics


def test_health_with_worker(worker: Stack) -> None:
    def healthy() -> dict[str, Any] | None:
        r = requests.get(worker.url + "/health", timeout=10)
        return r.json() if r.status_code == 200 else None

    detail = wait_until(healthy, 20, "/health 200 with a running worker")
    assert detail["status"] == "ok" and detail["database"] == "ok"
    assert detail["workers"] and all("last_seen" in w for w in detail["workers"])
    r = requests.get(worker.url + "/health", timeout=10)
    assert r.headers["Content-Type"].startswith("application/json")


def test_metrics(stack: Stack) -> None:
    a.insert(stack.basic_url, a.ref("metrics"), a.letter(a.DIGIPOST))
    r = requests.get(stack.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert "# TYPE innbyggerpost_receipts gauge" in text
    assert "innbyggerpost_up 1" in text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            assert name and float(value) >= 0, line  # Prometheus text format: "<name>{labels} <value>"
            values[name] = float(value)
    ok = stack.count("SELECT count(*) FROM receipts WHERE status_code='OK' AND parent_id IS NULL")
    assert values['innbyggerpost_receipts{status="OK"}'] == ok > 0
    assert any(k.startswith("innbyggerpost_forwardings{") for k in values)


# --------------------------------------------------------------- LimitReached (service layer, SQLite)


def test_limit_reached_in_status_use_case(tmp_path: Path) -> None:
    from service.adapters.db import make_engine
    from service.adapters.migrate import upgrade
    from service.domain import model as dm
    from service.service_layer import correspondence, owners, status
    from service.service_layer.unit_of_work import unit_of_work_factory
    from tests.support import status_spyne

    url = f"sqlite:///{tmp_path}/limit.db"
    upgrade(url)
    uow = unit_of_work_factory(make_engine(url))
    owners.add_owner(
        uow(),
        system_user_code="LIM",
        name="Limit",
        organisation_number="910646192",
        username="20001",
        password="pw",
        services=[("7777", 1)],
    )
    principal = owners.Authenticator(uow).check_password("20001", "pw")
    assert principal is not None

    class NoRegistry:  # organisation reportees never need KRR
        def hent_personer(self, ids: Any) -> Any:
            raise AssertionError("KRR must not be asked for an organisation")

    for i in range(3):
        req = dm.InsertCorrespondence(
            system_user_code="LIM",
            external_shipment_reference=f"lim-{i}",
            service_code="7777",
            service_edition="1",
            reportee=a.ORGANISATION,
            language_code="1044",
            message_title="t",
            attachments=(dm.BinaryAttachment("brev.pdf", "Brev", a.PDF),),
            sdp_options=dm.SdpOptions("ForwardOnly", "brev.pdf", backup_altinn=True),
        )
        receipt = correspondence.insert_correspondence(uow, NoRegistry(), principal, req)  # type: ignore[arg-type]
        assert receipt.status_code == "OK", receipt.text

    flt = status.StatusFilter("7777", 1, sdp=True, include_correspondence=True)
    full = status.status_details(uow, principal, flt, limit=3)
    assert len(full.correspondences or []) == 3 and len(full.sdp or []) == 3
    assert not full.correspondences_limit_reached and not full.sdp_limit_reached
    cut = status.status_details(uow, principal, flt, limit=2)
    assert len(cut.correspondences or []) == 2 and len(cut.sdp or []) == 2
    assert cut.correspondences_limit_reached and cut.sdp_limit_reached
    v3 = status_spyne.status_result_v3(cut)
    assert (
        v3.CorrespondenceStatusInformation.LimitReached is True
        and v3.SdpStatusInformation.LimitReached is True
    )
    assert status_spyne.status_result_v2(cut).LimitReached is True
    assert status_spyne.status_result_v2(full).LimitReached is False
    hist = status.status_history(uow, principal, ["lim-0", "lim-1", "lim-2"], limit=2)
    assert hist.correspondences_limit_reached and hist.sdp_limit_reached
