"""docs/specification.md §2.2 decision table as pure domain code: every cell, plus person-only and IsReservable rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.domain.forwarding_decision import RESERVATION_PHRASE, decide, needs_lookup
from service.domain.model import SdpOptions
from service.domain.ports import Person

CERT, VALID_UNTIL = b"0\x82der", datetime(2099, 1, 1, tzinfo=UTC)
POSTBOX = Person(
    "01018010018",
    "AKTIV",
    "NEI",
    postkasseadresse="ola#1",
    postkasseleverandoer_adresse="984661185",
    sertifikat=CERT,
    sertifikat_gyldig_til=VALID_UNTIL,
)
NO_POSTBOX = Person("03038210008", "AKTIV", "NEI")
RESERVED = Person("04048310058", "AKTIV", "JA")
DELETED = Person("06068510048", "SLETTET")
NOT_REGISTERED = Person("05058413730", "IKKE_REGISTRERT")
# A reserved person who still has a postbox address in KRR is reserved, not forwardable.
RESERVED_WITH_POSTBOX = Person(
    "04048310058", "AKTIV", "JA", postkasseadresse="x#1", postkasseleverandoer_adresse="984661185"
)

NONE = None
FO_NOBACKUP = SdpOptions("ForwardOnly", "brev.pdf", backup_altinn=False)
FO_BACKUP = SdpOptions("ForwardOnly", "brev.pdf", backup_altinn=True)
COPY = SdpOptions("CopyAltinn", "brev.pdf")

# (person, sdp, IsReservable) -> (receipt, altinn status, forward, final sdp status, sub-receipt)
TABLE = [
    # has postbox
    (POSTBOX, NONE, None, "OK", "Created", False, None, None),
    (POSTBOX, FO_NOBACKUP, None, "OK", None, True, None, "OK"),
    (POSTBOX, FO_BACKUP, None, "OK", None, True, None, "OK"),
    (POSTBOX, COPY, None, "OK", "Created", True, None, "OK"),
    # no postbox
    (NO_POSTBOX, NONE, None, "OK", "Created", False, None, None),
    (NO_POSTBOX, FO_NOBACKUP, None, "Rejected", None, False, "NoMailBox", "Rejected"),
    (NO_POSTBOX, FO_BACKUP, None, "OK", "Created", False, "NoMailBox", "Rejected"),
    (NO_POSTBOX, COPY, None, "OK", "Created", False, "NoMailBox", "Rejected"),
    # reserved, IsReservable=true
    (RESERVED, NONE, True, "Rejected", "Reserved", False, None, None),
    (RESERVED, FO_NOBACKUP, True, "Rejected", None, False, "Reserved", "Rejected"),
    (RESERVED, FO_BACKUP, True, "Rejected", None, False, "Reserved", "Rejected"),
    (RESERVED, COPY, True, "Rejected", None, False, "Reserved", "Rejected"),
    # reserved, IsReservable false / absent
    (RESERVED, NONE, False, "OK", "Created", False, None, None),
    (RESERVED, NONE, None, "OK", "Created", False, None, None),
    (RESERVED, FO_NOBACKUP, False, "Rejected", None, False, "Reserved", "Rejected"),
    (RESERVED, FO_BACKUP, None, "OK", "Created", False, "Reserved", "Rejected"),
    (RESERVED, COPY, False, "OK", "Created", False, "Reserved", "Rejected"),
    # SLETTET / IKKE_REGISTRERT count as no postbox
    (DELETED, FO_NOBACKUP, None, "Rejected", None, False, "NoMailBox", "Rejected"),
    (NOT_REGISTERED, FO_BACKUP, None, "OK", "Created", False, "NoMailBox", "Rejected"),
    (RESERVED_WITH_POSTBOX, FO_BACKUP, None, "OK", "Created", False, "Reserved", "Rejected"),
]


@pytest.mark.parametrize("person,sdp,reservable,receipt,altinn,forward,sdp_status,sub", TABLE)
def test_decision_table(person, sdp, reservable, receipt, altinn, forward, sdp_status, sub):  # type: ignore[no-untyped-def]
    d = decide("person", sdp, reservable, person)
    assert (d.receipt_status, d.altinn_status, d.forward, d.sdp_status, d.sub_receipt_status) == (
        receipt,
        altinn,
        forward,
        sdp_status,
        sub,
    )
    if person is RESERVED and (receipt == "Rejected" or sdp is not None):
        assert RESERVATION_PHRASE in (d.receipt_text if receipt == "Rejected" else d.sub_receipt_text or "")
    if forward:
        assert d.vendor_orgnr == "984661185" and "Digipost" in (d.sub_receipt_text or "")


@pytest.mark.parametrize(
    "sdp,receipt,altinn",
    [(FO_NOBACKUP, "Rejected", None), (FO_BACKUP, "OK", "Created"), (COPY, "OK", "Created")],
)
def test_organisations_are_never_forwarded(sdp, receipt, altinn):  # type: ignore[no-untyped-def]
    d = decide("organisation", sdp, None, None)
    assert (d.receipt_status, d.altinn_status, d.forward, d.sdp_status) == (
        receipt,
        altinn,
        False,
        "NoMailBox",
    )
    assert "persons only" in (d.sub_receipt_text or "")


def test_krr_is_asked_only_for_persons_with_sdp_options_or_is_reservable() -> None:
    assert needs_lookup("person", FO_BACKUP, None)
    assert needs_lookup("person", None, True)
    assert not needs_lookup("person", None, False)
    assert not needs_lookup("person", None, None)
    assert not needs_lookup("organisation", FO_BACKUP, True)


# -- Digdir's rule: a postbox without a (valid) certificate is no postbox -------------------------------
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"sertifikat": None, "sertifikat_gyldig_til": None}, "KRR gives no certificate"),
        ({"sertifikat": b"", "sertifikat_gyldig_til": None}, "KRR gives no certificate"),
        ({"sertifikat_gyldig_til": None}, "cannot be read"),
        ({"sertifikat_gyldig_til": datetime(2026, 12, 1, tzinfo=UTC)}, "expired on 2026-12-01"),
    ],
)
def test_postbox_without_a_usable_certificate_is_no_postbox(changes: dict[str, object], reason: str) -> None:
    from dataclasses import replace

    person = replace(POSTBOX, **changes)  # type: ignore[arg-type]
    d = decide("person", FO_NOBACKUP, None, person, NOW)
    assert not d.forward and str(d.sdp_status) == "NoMailBox" and d.postbox_certificate is None
    assert reason in (d.sub_receipt_text or "") and "no usable digital postbox" in (d.sub_receipt_text or "")
    d = decide("person", FO_BACKUP, None, person, NOW)  # BackupAltinn: to the inbox instead
    assert not d.forward and str(d.altinn_status) == "Created" and reason in (d.sub_receipt_text or "")


def test_forwarded_decision_carries_the_certificate() -> None:
    d = decide("person", COPY, None, POSTBOX, NOW)
    assert d.forward and d.postbox_certificate == CERT
