"""KRR REST answers parsed without a network: lenient on fields we do not know, strict where a wrong
reading would misroute a letter; the postbox certificate and its expiry."""

from __future__ import annotations

import base64
import textwrap
from typing import Any

import pytest

from clients.krr_rest import decode_certificate, parse_person, parse_personer
from service.domain.ports import RegistryUnavailable
from simulators.pki import TestPki

PID, OTHER = "01018010018", "04048310058"


@pytest.fixture(scope="module")
def cert_der(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return TestPki(tmp_path_factory.mktemp("pki")).postbox("984661185").certificate_der()


def full(cert_b64: str | None) -> dict[str, Any]:
    person: dict[str, Any] = {
        "personidentifikator": PID,
        "reservasjon": "NEI",
        "status": "AKTIV",
        "varslingsstatus": "KAN_VARSLES",
        "kontaktinformasjon": {
            "epostadresse": "ola@example.no",
            "epostadresse_oppdatert": "2025-01-01T12:00:00Z",
            "epostadresse_duplisert": "NEI",
            "mobiltelefonnummer": "+4799000001",
            "mobiltelefonnummer_sist_verifisert": "2025-01-01T12:00:00Z",
            "nytt_felt": {"nested": [1, 2]},
        },
        "digital_post": {"postkasseadresse": "ola#1A2B", "postkasseleverandoeradresse": "984661185", "x": 1},
        "spraak": "nb",
        "oppdatert": "2025-01-01T12:00:00Z",
        "helt_nytt": ["unknown", "fields"],
    }
    if cert_b64 is not None:
        person["sertifikat"] = cert_b64
    return person


def test_full_person_with_unknown_fields(cert_der: bytes) -> None:
    got = parse_personer([PID], {"personer": [full(base64.b64encode(cert_der).decode())], "extra": 1})
    p = got[PID]
    assert (p.status, p.reservasjon, p.varslingsstatus) == ("AKTIV", "NEI", "KAN_VARSLES")
    assert (p.epostadresse, p.mobiltelefonnummer) == ("ola@example.no", "+4799000001")
    assert (p.postkasseadresse, p.postkasseleverandoer_adresse) == ("ola#1A2B", "984661185")
    assert p.sertifikat == cert_der and p.sertifikat_gyldig_til is not None
    assert p.has_postbox and p.postbox_problem(None) is None


def test_postbox_without_certificate_is_no_postbox() -> None:
    p = parse_personer([PID], {"personer": [full(None)]})[PID]
    assert p.has_digital_post and not p.has_postbox
    assert "no certificate" in (p.postbox_problem(None) or "")
    empty = parse_person(full(""))
    assert empty.sertifikat is None and not empty.has_postbox


def test_certificate_not_base64_or_not_a_certificate() -> None:
    garbage = parse_person(full("!!not base64!!"))
    assert garbage.sertifikat is None and not garbage.has_postbox
    unreadable = parse_person(full(base64.b64encode(b"not DER").decode()))
    assert unreadable.sertifikat == b"not DER" and unreadable.sertifikat_gyldig_til is None
    assert "cannot be read" in (unreadable.postbox_problem(None) or "")


def test_certificate_in_pem_armour_and_with_line_breaks(cert_der: bytes) -> None:
    b64 = base64.b64encode(cert_der).decode()
    pem = (
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(textwrap.wrap(b64, 64)) + "\n-----END CERTIFICATE-----\n"
    )
    assert decode_certificate(pem) == cert_der
    assert decode_certificate("\n".join(textwrap.wrap(b64, 76))) == cert_der


def test_lenient_case_and_missing_optional_parts() -> None:
    raw = {
        "Personidentifikator": PID,
        "Status": "aktiv",
        "reservasjon": "nei",
        "varslingsstatus": "SOMETHING_NEW",
        "digitalPost": {"postkasseadresse": "x#1", "postkasseleverandoerAdresse": "922020175"},
    }
    p = parse_person(raw)
    assert (p.status, p.reservasjon, p.varslingsstatus) == ("AKTIV", "NEI", None)
    assert p.postkasseleverandoer_adresse == "922020175" and p.epostadresse is None
    reserved = parse_person({"personidentifikator": OTHER, "status": "AKTIV", "reservasjon": "JA"})
    assert reserved.reserved and not reserved.has_postbox


@pytest.mark.parametrize(
    "body, problem",
    [
        ({}, "no personer list"),
        ({"personer": "x"}, "no personer list"),
        ({"personer": []}, "missing from the answer"),
        ({"personer": [{"personidentifikator": PID, "status": "WHO"}]}, "unknown or missing status"),
        (
            {"personer": [{"personidentifikator": PID, "status": "AKTIV"}]},
            "AKTIV without a valid reservasjon",
        ),
        ({"personer": [{"status": "SLETTET"}]}, "without personidentifikator"),
        ({"personer": ["x"]}, "not an object"),
        (
            {"personer": [{"personidentifikator": PID, "status": "SLETTET"}] * 2},
            "returned twice",
        ),
        (
            {
                "personer": [
                    {"personidentifikator": PID, "status": "SLETTET"},
                    {"personidentifikator": "99999999999", "status": "SLETTET"},
                ]
            },
            "unrequested",
        ),
    ],
)
def test_answers_that_would_misroute_are_refused(body: Any, problem: str) -> None:
    with pytest.raises(RegistryUnavailable, match=problem):
        parse_personer([PID], body)
