"""docs/specification.md §2.1 validation, §2.4 idempotency and the owner/authorisation rules, through the running service.

Each validation rule gives a ``ValidationFailed`` receipt whose text names the field and stores nothing;
a repeated (SystemUserCode, ExternalShipmentReference) answers the original receipt and stores nothing
new (also when the outcome was ``Rejected``, and when 8 clients send it at the same moment); a service
owner can neither write to nor read another owner's service.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import requests
from lxml import etree

from tests.support import altinn as a
from tests.support.harness import Stack

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep
    import zeep.exceptions
    from zeep.wsse.username import UsernameToken

NOTHING = {"receipts": 0, "correspondences": 0, "forwardings": 0}
RECEIPT_NS = "{http://schemas.altinn.no/services/Intermediary/Receipt/2009/10}"
FILTER_4503 = {"ServiceCode": "4503", "ServiceEditionCode": 1}


def _mod11_ok(digits: str, weights: tuple[int, ...]) -> bool:
    """Independent mod-11 check of the last digit (to keep the test data honest)."""
    rest = sum(int(d) * w for d, w in zip(digits[:-1], weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    return check != 10 and check == int(digits[-1])


def _valid_fnr(v: str) -> bool:
    return (
        len(v) == 11
        and v.isdigit()
        and _mod11_ok(v[:10], (3, 7, 6, 1, 8, 9, 4, 5, 2))
        and _mod11_ok(v, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    )


def _valid_orgnr(v: str) -> bool:
    return len(v) == 9 and v.isdigit() and _mod11_ok(v, (3, 2, 7, 6, 5, 4, 3, 2))


BAD_FIRST_CHECK_DIGIT = "01018010028"  # 10th digit wrong (11th recomputed would not help)
BAD_SECOND_CHECK_DIGIT = "01018010019"
BAD_ORGNR = "910646193"


def test_reportee_test_data_is_what_it_claims() -> None:
    assert _valid_fnr(a.DIGIPOST) and _valid_fnr(a.NO_POSTBOX) and _valid_orgnr(a.ORGANISATION)
    assert not _valid_fnr(BAD_FIRST_CHECK_DIGIT) and not _valid_fnr(BAD_SECOND_CHECK_DIGIT)
    assert not _valid_orgnr(BAD_ORGNR)


def _email(text: str, days: list[int] | None = None) -> dict[str, Any]:
    return {
        "SdpNotifications": {
            "EmailNotification": {
                "NotificationText": text,
                "Repetitions": {"DaysDelayed": days if days is not None else [0]},
                "EmailAddress": "ola@example.com",
            }
        }
    }


def _sms(text: str, days: list[int] | None = None) -> dict[str, Any]:
    return {
        "SdpNotifications": {
            "SmsNotification": {
                "NotificationText": text,
                "Repetitions": {"DaysDelayed": days if days is not None else [0]},
                "MobileNumber": "+4799999999",
            }
        }
    }


def _content(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(corr: dict[str, Any]) -> None:
        corr["Content"].update(changes)

    return apply


def _corr(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(corr: dict[str, Any]) -> None:
        corr.update(changes)

    return apply


def _sdp(**options: Any) -> Callable[[dict[str, Any]], None]:
    def apply(corr: dict[str, Any]) -> None:
        corr["SdpOptions"] = a.sdp("CopyAltinn", backup=None, **options)

    return apply


def _no_attachments(corr: dict[str, Any]) -> None:
    _sdp()(corr)
    corr["Content"]["Attachments"] = None


# id, SystemUserCode, reference ("" = empty), change to the letter, words the receipt text must contain
INVALID: list[tuple[str, str, str | None, Callable[[dict[str, Any]], None] | None, str]] = [
    ("no-SystemUserCode", "", None, None, "SystemUserCode"),
    ("blank-SystemUserCode", "   ", None, None, "SystemUserCode"),
    ("no-ExternalShipmentReference", "DEMO", "", None, "ExternalShipmentReference"),
    ("no-ServiceCode", "DEMO", None, _corr(ServiceCode=None), "ServiceCode"),
    ("no-ServiceEdition", "DEMO", None, _corr(ServiceEdition=None), "ServiceEdition"),
    ("no-Reportee", "DEMO", None, _corr(Reportee=None), "Reportee"),
    ("empty-Reportee", "DEMO", None, _corr(Reportee=""), "Reportee"),
    ("no-LanguageCode", "DEMO", None, _content(LanguageCode=None), "LanguageCode"),
    ("LanguageCode-1053", "DEMO", None, _content(LanguageCode="1053"), "LanguageCode"),
    ("LanguageCode-nb", "DEMO", None, _content(LanguageCode="nb"), "LanguageCode"),
    ("no-MessageTitle", "DEMO", None, _content(MessageTitle=None), "MessageTitle"),
    ("empty-MessageTitle", "DEMO", None, _content(MessageTitle=""), "MessageTitle"),
    ("fnr-bad-first-check-digit", "DEMO", None, _corr(Reportee=BAD_FIRST_CHECK_DIGIT), "Reportee"),
    ("fnr-bad-second-check-digit", "DEMO", None, _corr(Reportee=BAD_SECOND_CHECK_DIGIT), "Reportee"),
    ("orgnr-bad-check-digit", "DEMO", None, _corr(Reportee=BAD_ORGNR), "Reportee"),
    ("reportee-10-digits", "DEMO", None, _corr(Reportee=a.DIGIPOST[:10]), "Reportee"),
    ("reportee-12-digits", "DEMO", None, _corr(Reportee=a.DIGIPOST + "0"), "Reportee"),
    ("reportee-8-digits", "DEMO", None, _corr(Reportee=a.ORGANISATION[:8]), "Reportee"),
    ("reportee-not-digits", "DEMO", None, _corr(Reportee="0101801001X"), "Reportee"),
    ("sdp-primary-not-attached", "DEMO", None, _sdp(primary="hovedbrev.pdf"), "PrimaryDocumentFileName"),
    ("sdp-no-attachments", "DEMO", None, _no_attachments, "PrimaryDocumentFileName"),
    ("email-text-501", "DEMO", None, _sdp(**_email("e" * 501)), "EmailNotification"),
    ("email-text-empty", "DEMO", None, _sdp(**_email("")), "EmailNotification"),
    ("sms-text-161", "DEMO", None, _sdp(**_sms("s" * 161)), "SmsNotification"),
    ("sms-text-empty", "DEMO", None, _sdp(**_sms("")), "SmsNotification"),
    ("email-11-repetitions", "DEMO", None, _sdp(**_email("hei", list(range(11)))), "Repetitions"),
    ("sms-11-repetitions", "DEMO", None, _sdp(**_sms("hei", [1] * 11)), "Repetitions"),
    ("email-DaysDelayed-26", "DEMO", None, _sdp(**_email("hei", [0, 26])), "DaysDelayed"),
    ("sms-DaysDelayed-26", "DEMO", None, _sdp(**_sms("hei", [26])), "DaysDelayed"),
]


def _send(stack: Stack, variant: str, code: str, reference: str, corr: dict[str, Any]) -> Any:
    if variant == "basic":
        return a.basic(stack.basic_url).InsertCorrespondenceBasicV2(
            "10001", "demo-password", code, reference, corr
        )
    return a.ws_cached(stack.ws_url).InsertCorrespondenceV2(code, reference, corr)


@pytest.mark.parametrize("variant", ["basic", "ws"])
@pytest.mark.parametrize("case_id,code,reference,change,words", INVALID, ids=[c[0] for c in INVALID])
def test_validation_failed_names_field_and_stores_nothing(
    stack: Stack,
    variant: str,
    case_id: str,
    code: str,
    reference: str | None,
    change: Callable[[dict[str, Any]], None] | None,
    words: str,
) -> None:
    ref = a.ref("inv") if reference is None else reference
    corr = a.letter(a.NO_POSTBOX)
    if change is not None:
        change(corr)
    before = stack.count("SELECT count(*) FROM receipts")
    krr_before = stack.sim_stats()["krr"]["calls"]
    r = _send(stack, variant, code, ref, corr)
    assert r.ReceiptStatusCode == "ValidationFailed", (case_id, r.ReceiptText)
    assert words in r.ReceiptText, r.ReceiptText
    assert r.ReceiptTypeName == "Correspondence"
    assert r.ReceiptHistory and " - ValidationFailed - " in r.ReceiptHistory
    assert stack.stored_for(ref) == NOTHING
    assert stack.count("SELECT count(*) FROM receipts") == before
    assert stack.sim_stats()["krr"]["calls"] == krr_before  # refused before any look-up
    # The same reference is still free: a corrected request is accepted.
    if ref and code.strip():
        fixed = _send(stack, variant, "DEMO", ref, a.letter(a.NO_POSTBOX))
        assert fixed.ReceiptStatusCode == "OK", fixed.ReceiptText
        assert stack.stored_for(ref)["receipts"] == 1


VALID_EDGES = [
    ("email-text-500", _email("e" * 500)),
    ("sms-text-160", _sms("s" * 160)),
    ("sms-text-1", _sms("s")),
    ("10-repetitions", _email("hei", list(range(10)))),
    ("DaysDelayed-25", _sms("hei", [0, 25])),
    ("no-repetitions", _email("hei", [])),
]


@pytest.mark.parametrize("options", [o for _, o in VALID_EDGES], ids=[i for i, _ in VALID_EDGES])
def test_limits_are_inclusive(stack: Stack, options: dict[str, Any]) -> None:
    reference = a.ref("edge")
    r = a.insert(
        stack.basic_url, reference, a.letter(a.NO_POSTBOX, a.sdp("CopyAltinn", backup=None, **options))
    )
    assert r.ReceiptStatusCode == "OK", r.ReceiptText
    assert stack.stored_for(reference) == {"receipts": 1, "correspondences": 1, "forwardings": 1}


@pytest.mark.parametrize("reportee", ["01018010018", "41018010001", "910646192"], ids=["fnr", "dnr", "orgnr"])
def test_valid_reportees_are_accepted(stack: Stack, reportee: str) -> None:
    assert _valid_fnr(reportee) or _valid_orgnr(reportee)
    r = a.insert(stack.basic_url, a.ref("rep"), a.letter(reportee))
    assert r.ReceiptStatusCode == "OK", r.ReceiptText


# ----------------------------------------------------------------------------------- idempotency


def _counts(stack: Stack) -> tuple[int, int, int]:
    return (
        stack.count("SELECT count(*) FROM receipts"),
        stack.count("SELECT count(*) FROM correspondences"),
        stack.count("SELECT count(*) FROM forwardings"),
    )


def test_repeat_returns_original_receipt(stack: Stack) -> None:
    reference = a.ref("rep")
    first = a.insert(stack.basic_url, reference, a.letter(a.DIGIPOST))
    assert first.ReceiptStatusCode == "OK"
    totals = _counts(stack)
    # repeats: identical, with other content, and through the other variant
    repeats = [
        a.insert(stack.basic_url, reference, a.letter(a.DIGIPOST)),
        a.insert(stack.basic_url, reference, a.letter(a.EBOKS, title="Annen tittel")),
        a.ws_cached(stack.ws_url).InsertCorrespondenceV2("DEMO", reference, a.letter(a.DIGIPOST)),
    ]
    for again in repeats:
        assert again.ReceiptId == first.ReceiptId
        assert again.ReceiptStatusCode == first.ReceiptStatusCode and again.ReceiptText == first.ReceiptText
        assert {r.ReferenceValue for r in again.References.Reference} >= {reference, a.DIGIPOST}
    assert _counts(stack) == totals
    assert stack.stored_for(reference) == {"receipts": 1, "correspondences": 1, "forwardings": 0}


def test_repeat_of_rejected_outcome(stack: Stack) -> None:
    reference = a.ref("rep-rej")
    letter = a.letter(a.NO_POSTBOX, a.sdp("ForwardOnly", backup=False))
    first = a.insert(stack.basic_url, reference, letter)
    assert first.ReceiptStatusCode == "Rejected"
    assert stack.stored_for(reference) == {"receipts": 1, "correspondences": 0, "forwardings": 1}
    totals = _counts(stack)
    krr = stack.sim_stats()["krr"]["calls"]
    again = a.insert(stack.basic_url, reference, letter)
    assert again.ReceiptId == first.ReceiptId and again.ReceiptStatusCode == "Rejected"
    assert again.ReceiptText == first.ReceiptText
    (sub,) = again.SubReceipts.ReceiptExternal
    assert sub.ReceiptText == first.SubReceipts.ReceiptExternal[0].ReceiptText
    assert _counts(stack) == totals  # nothing stored twice
    # No repeat check per letter before the insert (issue 17: PostgreSQL round trips): the repeat
    # is looked up by KRR like any letter, then found by the group commit, which answers it with the
    # stored receipt (test_insert_use_case: while KRR is down, the stored receipt is still answered).
    assert stack.sim_stats()["krr"]["calls"] == krr + 1


def test_repeat_of_reserved_outcome(stack: Stack) -> None:
    reference = a.ref("rep-res")
    first = a.insert(stack.basic_url, reference, a.letter(a.RESERVED, IsReservable=True))
    assert first.ReceiptStatusCode == "Rejected"
    totals = _counts(stack)
    again = a.insert(stack.basic_url, reference, a.letter(a.RESERVED, IsReservable=True))
    assert (again.ReceiptId, again.ReceiptStatusCode) == (first.ReceiptId, "Rejected")
    assert _counts(stack) == totals


def test_same_reference_for_another_owner_is_another_shipment(stack: Stack) -> None:
    reference = a.ref("two-owners")
    demo = a.insert(stack.basic_url, reference, a.letter(a.DIGIPOST))
    other = a.insert(stack.basic_url, reference, a.letter(a.EBOKS, service_code="4504"), owner=a.OTHER)
    assert demo.ReceiptStatusCode == other.ReceiptStatusCode == "OK"
    assert other.ReceiptId != demo.ReceiptId  # OTHER never sees DEMO's receipt
    refs = {r.ReferenceTypeName: r.ReferenceValue for r in other.References.Reference}
    assert refs["OwnerPartyReference"] == a.EBOKS
    assert stack.stored_for(reference)["receipts"] == 2


def _insert_envelope(
    stack: Stack, variant: str, reference: str, corr: dict[str, Any]
) -> tuple[str, bytes, str]:
    """(url, body, content type) of one InsertCorrespondence(Basic)V2 request (reusable: no nonce)."""
    if variant == "basic":
        client = zeep.Client(str(a.altinn_reference(a.BASIC_WSDL)))
        svc = client.create_service(a.BASIC_BINDING, stack.basic_url)
        env = client.create_message(
            svc, "InsertCorrespondenceBasicV2", "10001", "demo-password", "DEMO", reference, corr
        )
        return stack.basic_url, etree.tostring(env), "text/xml; charset=utf-8"
    client = zeep.Client(str(a.altinn_reference(a.WS_WSDL)), wsse=UsernameToken("10001", "demo-password"))
    svc = client.create_service(a.WS_BINDING, stack.ws_url)
    env = client.create_message(svc, "InsertCorrespondenceV2", "DEMO", reference, corr)
    return stack.ws_url, etree.tostring(env), "application/soap+xml; charset=utf-8"


@pytest.mark.parametrize(
    "variant,reportee,sdp",
    [
        ("basic", a.DIGIPOST, a.sdp("CopyAltinn", backup=None)),
        ("ws", a.NO_POSTBOX, a.sdp("ForwardOnly", backup=False)),
        ("ws", a.EBOKS, None),
    ],
    ids=["basic-copy", "ws-rejected", "ws-plain"],
)
def test_concurrent_repeat_creates_one(stack: Stack, variant: str, reportee: str, sdp: Any) -> None:
    n = 8
    reference = a.ref("race")
    url, body, content_type = _insert_envelope(stack, variant, reference, a.letter(reportee, sdp))
    barrier = threading.Barrier(n)
    answers: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            with requests.Session() as session:
                barrier.wait(10)
                r = session.post(url, data=body, headers={"Content-Type": content_type}, timeout=60)
            with lock:
                answers.append((r.status_code, r.content))
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors
    assert len(answers) == n
    ids, codes = set(), set()
    for status, content in answers:
        assert status == 200, content[:1000]
        root = etree.fromstring(content)
        ids.add(root.findtext(f".//{RECEIPT_NS}ReceiptId"))
        codes.add(root.findtext(f".//{RECEIPT_NS}ReceiptStatusCode"))
    assert len(ids) == 1 and None not in ids, ids
    assert codes == {"Rejected" if sdp and not sdp.get("BackupAltinn", True) else "OK"}
    stored = stack.stored_for(reference)
    assert stored["receipts"] == 1
    assert stored["forwardings"] == (1 if sdp else 0)
    assert stored["correspondences"] == (0 if codes == {"Rejected"} else 1)
    (receipt_id,) = ids
    assert stack.count("SELECT id FROM receipts WHERE external_shipment_reference=:r", r=reference) == int(
        receipt_id
    )


# --------------------------------------------------------------------------------- authorisation


def test_other_owner_cannot_insert_into_demo_service(stack: Stack) -> None:
    reference = a.ref("authz")
    for call in (
        lambda: a.insert(
            stack.basic_url, reference, a.letter(a.DIGIPOST, service_code="4503"), owner=a.OTHER
        ),
        lambda: a.ws_cached(stack.ws_url, "10002", "other-password").InsertCorrespondenceV2(
            "OTHER", reference, a.letter(a.DIGIPOST, service_code="4503")
        ),
    ):
        with pytest.raises(zeep.exceptions.Fault) as err:
            call()
        assert a.fault_error_id(err.value) == 5
        assert "4503" in err.value.message
    assert stack.stored_for(reference) == NOTHING
    # positive control: OTHER may use its own service
    ok = a.insert(stack.basic_url, reference, a.letter(a.DIGIPOST, service_code="4504"), owner=a.OTHER)
    assert ok.ReceiptStatusCode == "OK"


@pytest.mark.parametrize("service_code", ["4503", "4504"])
def test_other_owner_cannot_use_demo_system_user_code(stack: Stack, service_code: str) -> None:
    reference = a.ref("authz-code")
    svc = a.basic(stack.basic_url)
    with pytest.raises(zeep.exceptions.Fault) as err:
        svc.InsertCorrespondenceBasicV2(
            "10002", "other-password", "DEMO", reference, a.letter(a.DIGIPOST, service_code=service_code)
        )
    assert a.fault_error_id(err.value) == 5
    with pytest.raises(zeep.exceptions.Fault) as err:
        a.ws_cached(stack.ws_url, "10002", "other-password").InsertCorrespondenceV2(
            "DEMO", reference, a.letter(a.DIGIPOST, service_code=service_code)
        )
    assert a.fault_error_id(err.value) == 5
    assert stack.stored_for(reference) == NOTHING


def test_other_owner_cannot_read_demo_correspondence(stack: Stack) -> None:
    reference = a.ref("authz-read")
    assert (
        a.insert(
            stack.basic_url, reference, a.letter(a.NO_POSTBOX, a.sdp("CopyAltinn", backup=None))
        ).ReceiptStatusCode
        == "OK"
    )
    flt = {**FILTER_4503, "SendersReference": reference}
    v3flt = {**flt, "SdpSearchOptions": {"IncludeCorrespondence": True}}
    basic, ws = a.basic(stack.basic_url), a.ws_cached(stack.ws_url, "10002", "other-password")
    calls = [
        lambda: basic.GetCorrespondenceStatusDetailsBasicV2("10002", "other-password", flt),
        lambda: basic.GetCorrespondenceStatusDetailsBasicV3("10002", "other-password", v3flt),
        lambda: ws.GetCorrespondenceStatusDetailsV2(flt),
        lambda: ws.GetCorrespondenceStatusDetailsV3(v3flt),
    ]
    for call in calls:
        with pytest.raises(zeep.exceptions.Fault) as err:
            call()
        assert a.fault_error_id(err.value) == 5
    # DEMO itself sees it (so the faults above are about the owner, not the filter)
    res = basic.GetCorrespondenceStatusDetailsBasicV2("10001", "demo-password", flt)
    assert [s.SendersReference for s in res.StatusList.StatusV2] == [reference]

    # the status history for DEMO's reference answers nothing to OTHER
    for result in (
        a.history_basic(stack.basic_url, [reference], owner=a.OTHER),
        ws.GetCorrespondenceStatusHistory(CorrespondenceSendersReferences={"string": [reference]}),
    ):
        corr = result.CorrespondenceStatusInformation
        sdp = result.SdpStatusInformation
        assert (
            corr is None
            or corr.CorrespondenceStatusDetailsList is None
            or not corr.CorrespondenceStatusDetailsList.StatusV2
        )
        assert (
            sdp is None or sdp.SdpStatusDetailsList is None or not sdp.SdpStatusDetailsList.SdpStatusDetails
        )
    demo = a.history_basic(stack.basic_url, [reference])
    assert len(demo.SdpStatusInformation.SdpStatusDetailsList.SdpStatusDetails) == 1


def test_demo_cannot_read_other_service(stack: Stack) -> None:
    with pytest.raises(zeep.exceptions.Fault) as err:
        a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV2(
            "10001", "demo-password", {"ServiceCode": "4504", "ServiceEditionCode": 1}
        )
    assert a.fault_error_id(err.value) == 5


def test_wrong_password_is_989(stack: Stack) -> None:
    reference = a.ref("authz-pw")
    with pytest.raises(zeep.exceptions.Fault) as err:
        a.basic(stack.basic_url).InsertCorrespondenceBasicV2(
            "10002", "demo-password", "OTHER", reference, a.letter()
        )
    assert a.fault_error_id(err.value) == 989
    for digest in (False, True):
        with pytest.raises(zeep.exceptions.Fault) as err:
            a.ws_cached(stack.ws_url, "10002", "demo-password", digest=digest).InsertCorrespondenceV2(
                "OTHER", reference, a.letter(service_code="4504")
            )
        assert a.fault_error_id(err.value) == 989
    assert stack.stored_for(reference) == NOTHING
