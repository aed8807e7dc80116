"""docs/specification.md §2.2-2.4 end to end: every decision-table cell through a real SOAP call, then the final SDP
status through GetCorrespondenceStatusDetailsV3 once the delivery worker has run."""

from __future__ import annotations

import pytest
import zeep.exceptions
from sqlalchemy import text as sqltext

from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

PHRASE = "the user has opted out from receiving any correspondences"

FO_NOBACKUP = a.sdp("ForwardOnly", backup=False)
FO_BACKUP = a.sdp("ForwardOnly", backup=True)
FO_DEFAULT = a.sdp("ForwardOnly", backup=None)  # BackupAltinn absent: defaults to true
COPY = a.sdp("CopyAltinn", backup=None)

# reportee, SdpOptions, IsReservable -> receipt, Altinn copy status, final SDP status, words in sub-receipt
CELLS = [
    ("digipost-none", a.DIGIPOST, None, None, "OK", "Created", None, None),
    ("digipost-fo-nobackup", a.DIGIPOST, FO_NOBACKUP, None, "OK", None, "Delivered_EndUser", "Digipost"),
    ("digipost-fo-backup", a.DIGIPOST, FO_BACKUP, None, "OK", None, "Delivered_EndUser", "Digipost"),
    ("eboks-fo-default", a.EBOKS, FO_DEFAULT, None, "OK", None, "Delivered_EndUser", "e-Boks"),
    ("digipost-copy", a.DIGIPOST, COPY, None, "OK", "Created", "Delivered_EndUser", "Digipost"),
    ("nopostbox-none", a.NO_POSTBOX, None, None, "OK", "Created", None, None),
    (
        "nopostbox-fo-nobackup",
        a.NO_POSTBOX,
        FO_NOBACKUP,
        None,
        "Rejected",
        None,
        "NoMailBox",
        "no digital postbox",
    ),
    (
        "nopostbox-fo-backup",
        a.NO_POSTBOX,
        FO_BACKUP,
        None,
        "OK",
        "Created",
        "NoMailBox",
        "no digital postbox",
    ),
    ("nopostbox-copy", a.NO_POSTBOX, COPY, None, "OK", "Created", "NoMailBox", "Forwarding skipped"),
    (
        "notregistered-fo-backup",
        a.NOT_REGISTERED,
        FO_BACKUP,
        None,
        "OK",
        "Created",
        "NoMailBox",
        "no digital postbox",
    ),
    (
        "deleted-fo-nobackup",
        a.DELETED,
        FO_NOBACKUP,
        None,
        "Rejected",
        None,
        "NoMailBox",
        "no digital postbox",
    ),
    ("reserved-none-reservable", a.RESERVED, None, True, "Rejected", "Reserved", None, None),
    ("reserved-fo-nobackup-reservable", a.RESERVED, FO_NOBACKUP, True, "Rejected", None, "Reserved", PHRASE),
    ("reserved-fo-backup-reservable", a.RESERVED, FO_BACKUP, True, "Rejected", None, "Reserved", PHRASE),
    ("reserved-copy-reservable", a.RESERVED, COPY, True, "Rejected", None, "Reserved", PHRASE),
    ("reserved-none", a.RESERVED, None, False, "OK", "Created", None, None),
    ("reserved-fo-nobackup", a.RESERVED, FO_NOBACKUP, False, "Rejected", None, "Reserved", PHRASE),
    ("reserved-fo-backup", a.RESERVED, FO_BACKUP, None, "OK", "Created", "Reserved", PHRASE),
    ("reserved-copy", a.RESERVED, COPY, False, "OK", "Created", "Reserved", PHRASE),
    ("organisation-fo-backup", a.ORGANISATION, FO_BACKUP, None, "OK", "Created", "NoMailBox", "persons only"),
    (
        "organisation-fo-nobackup",
        a.ORGANISATION,
        FO_NOBACKUP,
        None,
        "Rejected",
        None,
        "NoMailBox",
        "persons only",
    ),
]


@pytest.mark.parametrize(
    "reportee,sdp,reservable,receipt,altinn,final,sub_words",
    [c[1:] for c in CELLS],
    ids=[c[0] for c in CELLS],
)
def test_decision_table_cell(worker: Stack, reportee, sdp, reservable, receipt, altinn, final, sub_words):  # type: ignore[no-untyped-def]
    reference = a.ref("cell")
    r = a.insert(worker.basic_url, reference, a.letter(reportee, sdp, IsReservable=reservable))
    assert r.ReceiptStatusCode == receipt, r.ReceiptText
    assert r.ReceiptTypeName == "Correspondence" and r.ReceiptId > 0
    refs = {x.ReferenceTypeName: x.ReferenceValue for x in r.References.Reference}
    assert refs["ExternalShipmentReference"] == reference and refs["OwnerPartyReference"] == reportee
    if receipt == "Rejected" and reportee == a.RESERVED:
        assert PHRASE in r.ReceiptText
    if sdp is None:
        assert r.SubReceipts is None
    else:
        (sub,) = r.SubReceipts.ReceiptExternal
        assert sub_words in sub.ReceiptText and sub.ParentReceiptId == r.ReceiptId

    statuses = a.altinn_statuses(worker.basic_url, reference)
    if altinn is None:
        assert statuses == []
    else:
        assert [c.StatusType for c in statuses[0].StatusChanges.StatusChangeV2] == [altinn]

    if sdp is None:
        assert a.sdp_details(worker.basic_url, reference) == []
        return
    history = a.wait_final(worker.basic_url, reference)
    assert history[-1] == final
    (details,) = a.sdp_details(worker.basic_url, reference)
    assert details.Reference == reference and details.Reportee == reportee and details.SdpId > 0
    # CorrespondenceId is null exactly when no Altinn copy exists.
    assert (details.CorrespondenceId is None) == (altinn is None)
    if final == "Delivered_EndUser":
        # an aapningskvittering (the seed's "open") adds a Delivered_EndUser entry "Opened by ..."
        assert history[:2] == ["Sent_Meldingsformidler", "Delivered_EndUser"]
        assert set(history[2:]) <= {"Delivered_EndUser"}
        mid = worker.message_id(reference)
        vendor = "984661185" if reportee == a.DIGIPOST else "922020175"
        assert worker.sim_stats()["dpi"]["vendors"][vendor]["delivered"][mid] == 1
    else:
        assert history == [final]


def test_without_sdp_options_krr_is_not_asked(worker: Stack) -> None:
    before = worker.sim_stats()["krr"]["calls"]
    r = a.insert(worker.basic_url, a.ref("plain"), a.letter(a.RESERVED))
    assert r.ReceiptStatusCode == "OK"
    assert worker.sim_stats()["krr"]["calls"] == before


def test_vendor_server_errors_twice_then_delivers_once(worker: Stack) -> None:
    reference = a.ref("flaky")
    r = a.insert(worker.basic_url, reference, a.letter(a.FAILS_TWICE, FO_BACKUP))
    assert r.ReceiptStatusCode == "OK"
    assert a.wait_final(worker.basic_url, reference)[-1] == "Delivered_EndUser"
    vendor = worker.sim_stats()["dpi"]["vendors"]["922020175"]
    assert vendor["delivered"][worker.message_id(reference)] == 1
    assert (
        worker.count("SELECT attempts FROM forwardings WHERE external_shipment_reference=:r", r=reference)
        >= 1
    )
    # `innbyggerpost status`: the forwarding and its deliver job, finished by the levering receipt
    report = worker.workdir / f"status-{reference}.log"
    assert worker._cli("status", reference, log=report.name).wait(60) == 0
    out = report.read_text()
    assert ": Delivered_EndUser, done, attempts " in out, out
    assert "job          deliver: succeeded" in out, out


@pytest.mark.parametrize("backup", [True, False])
def test_vendor_klient_error_fails_and_backup_makes_altinn_copy(worker: Stack, backup: bool) -> None:
    reference = a.ref("reject")
    r = a.insert(worker.basic_url, reference, a.letter(a.REJECTS, a.sdp("ForwardOnly", backup=backup)))
    assert r.ReceiptStatusCode == "OK"
    # the access point takes the letter (Sent_Meldingsformidler); the postbox answers feil KLIENT
    assert a.wait_final(worker.basic_url, reference) == ["Sent_Meldingsformidler", "Delivery_EndUser_Failed"]
    with worker.engine.connect() as c:
        text = c.execute(
            sqltext(
                "SELECT s.text FROM sdp_status_changes s JOIN forwardings f ON f.id = s.forwarding_id "
                "WHERE f.external_shipment_reference=:r AND s.status='Delivery_EndUser_Failed'"
            ),
            {"r": reference},
        ).scalar()
    assert "feil KLIENT" in text and "refuses" in text
    statuses = a.altinn_statuses(worker.basic_url, reference)
    (details,) = a.sdp_details(worker.basic_url, reference)
    if backup:
        assert [c.StatusType for c in statuses[0].StatusChanges.StatusChangeV2] == ["Created"]
        assert details.CorrespondenceId == statuses[0].CorrespondenceID
    else:
        assert statuses == [] and details.CorrespondenceId is None


@pytest.mark.parametrize("mode", ["fault", "http500"])
def test_krr_unavailable_gives_fault_and_stores_nothing(stack: Stack, mode: str) -> None:
    reference = a.ref("krrdown")
    url = stack.basic_url
    stack.krr_control(mode=mode)
    try:
        with pytest.raises(zeep.exceptions.Fault) as err:
            a.insert(url, reference, a.letter(a.DIGIPOST, FO_BACKUP))
    finally:
        stack.krr_control(mode="normal")
    assert "KRR" in err.value.message and "retry" in err.value.message.lower()
    assert stack.stored_for(reference) == {"receipts": 0, "correspondences": 0, "forwardings": 0}
    # The same reference works once KRR is back.
    assert a.insert(url, reference, a.letter(a.DIGIPOST, FO_BACKUP)).ReceiptStatusCode == "OK"


def test_krr_timeout_gives_fault(stack: Stack) -> None:
    reference = a.ref("krrslow")
    stack.krr_control(mode="slow", slow_seconds=6)
    try:
        with pytest.raises(zeep.exceptions.Fault) as err:
            a.insert(stack.basic_url, reference, a.letter(a.EBOKS, COPY))
    finally:
        stack.krr_control(mode="normal", slow_seconds=5)
    assert "KRR" in err.value.message
    assert stack.stored_for(reference)["receipts"] == 0


def test_status_history_returns_sdp_history(worker: Stack) -> None:
    refs = [a.ref("hist"), a.ref("hist")]
    a.insert(worker.basic_url, refs[0], a.letter(a.DIGIPOST, COPY))
    a.insert(worker.basic_url, refs[1], a.letter(a.NO_POSTBOX, FO_NOBACKUP))
    a.wait_final(worker.basic_url, refs[0])
    svc = a.basic(worker.basic_url)
    found: dict[str, object] = {}

    def history() -> bool:
        # the seed's Digipost citizen opens the letter: its aapningskvittering is a third entry
        found["result"] = result = svc.GetCorrespondenceStatusHistoryBasic(
            CorrespondenceSendersReferences={"string": refs},
            _soapheaders={"SystemUserName": "10001", "SystemPassword": "demo-password"},
        )
        found["sdp"] = {
            d.Reference: [c.Status for c in d.StatusHistory.SdpStatusChange]
            for d in result.SdpStatusInformation.SdpStatusDetailsList.SdpStatusDetails
        }
        return len(found["sdp"][refs[0]]) == 3  # type: ignore[index]

    wait_until(history, 10, "the aapningskvittering in the history")
    sdp, result = found["sdp"], found["result"]
    assert sdp == {
        refs[0]: ["Sent_Meldingsformidler", "Delivered_EndUser", "Delivered_EndUser"],
        refs[1]: ["NoMailBox"],
    }
    corr = result.CorrespondenceStatusInformation.CorrespondenceStatusDetailsList.StatusV2
    assert [c.SendersReference for c in corr] == [refs[0]]
