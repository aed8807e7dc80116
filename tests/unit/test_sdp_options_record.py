"""SdpOptions stored and read back typed (``forwardings.options``): every field round-trips, the
stored keys are a fixed schema, and rows stored as ``asdict()`` (before ``to_record``) read alike."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from service.domain.model import SdpNotification, SdpOptions

FULL = SdpOptions(
    sdp_setting="CopyAltinn",
    primary_document_file_name="brev.pdf",
    backup_altinn=False,
    title="Tittel",
    not_sensitive_title="Ikke sensitiv tittel",
    visible_date_time=datetime(2026, 12, 24, 8, 30, tzinfo=UTC),
    notifications=(
        SdpNotification("epost", "ola@example.no", "Du har post", (0, 7)),
        SdpNotification("sms", None, None, ()),
    ),
)
SCHEMA = {
    "sdp_setting",
    "primary_document_file_name",
    "backup_altinn",
    "title",
    "not_sensitive_title",
    "visible_date_time",
    "notifications",
}


def test_every_field_round_trips_through_json() -> None:
    # A field added to SdpOptions without a place in the record fails here: FULL sets every field.
    assert {f.name for f in dataclasses.fields(SdpOptions)} == SCHEMA
    assert all(
        getattr(FULL, f.name) != f.default for f in dataclasses.fields(SdpOptions) if f.name != "sdp_setting"
    )
    record = json.loads(json.dumps(FULL.to_record()))
    assert set(record) == SCHEMA
    assert SdpOptions.from_record(record) == FULL


def test_the_stored_keys_are_fixed() -> None:
    record = FULL.to_record()
    assert record["not_sensitive_title"] == "Ikke sensitiv tittel"
    assert record["visible_date_time"] == "2026-12-24T08:30:00+00:00"
    assert record["notifications"][0] == {
        "kind": "epost",
        "address": "ola@example.no",
        "text": "Du har post",
        "days_delayed": [0, 7],
    }


def test_rows_stored_as_asdict_read_back_alike() -> None:
    legacy = dataclasses.asdict(FULL)
    legacy["visible_date_time"] = FULL.visible_date_time.isoformat()  # type: ignore[union-attr]
    legacy["krr"] = {"epostadresse": "x@example.no", "mobiltelefonnummer": None}  # stored next to it
    assert SdpOptions.from_record(json.loads(json.dumps(legacy))) == FULL


def test_defaults_when_optional_keys_are_absent() -> None:
    assert SdpOptions.from_record({"sdp_setting": "ForwardOnly", "primary_document_file_name": "a.pdf"}) == (
        SdpOptions("ForwardOnly", "a.pdf")
    )
