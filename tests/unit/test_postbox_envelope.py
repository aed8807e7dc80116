"""The ``SendDigitalPost`` envelope the postbox client writes with lxml is the document zeep renders
from the WSDL (same elements, order, attributes and text; prefixes may differ), for every shape of
message: with and without a visible date, notifications, attachments, titles, languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from clients.postbox import PostboxClient, render_send_envelope
from service.config import Settings
from service.domain.ports import DigitalPostMessage, Document, Notification
from simulators.postbox import contract_schema

CREATED = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
PDF = Document("brev.pdf", "Vedtak", "application/pdf", b"%PDF-1.4 letter")


def message(**kw: object) -> DigitalPostMessage:
    base: dict[str, object] = {
        "message_id": "6f1c0b0e-0000-4000-8000-000000000001",
        "conversation_id": "6f1c0b0e-0000-4000-8000-000000000002",
        "sender_orgnr": "910646192",
        "personidentifikator": "01018010018",
        "postkasseadresse": "ola.nordmann#1A2B",
        "vendor_orgnr": "984661185",
        "title": "Vedtak om innbyggerpost",
        "primary": PDF,
    }
    base.update(kw)
    return DigitalPostMessage(**base)  # type: ignore[arg-type]


MESSAGES = {
    "minimal": message(),
    "attachments, one without a title": message(
        attachments=(
            Document("vedlegg.txt", "", "text/plain", b"hei"),
            Document("b.png", "Bilde", "image/png", b"\x89PNG"),
        )
    ),
    "visible date (UTC and +01:00)": message(
        virkningstidspunkt=datetime(2026, 12, 24, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    ),
    "notifications, e-mail with address, SMS without": message(
        notifications=(
            Notification("epost", "Du har post", (0, 7), "ola@example.no"),
            Notification("sms", "SMS-varsel", (1,), None),
        )
    ),
    "English, security level 3, text with markup characters": message(
        language="EN", sikkerhetsnivaa=3, title="Tax <settlement> & more"
    ),
}


def shape(el: etree._Element) -> tuple[object, ...]:
    return (
        el.tag,
        sorted(el.attrib.items()),
        (el.text or "").strip(),
        [shape(child) for child in el],
    )


@pytest.fixture(scope="module")
def client() -> PostboxClient:
    return PostboxClient(Settings())


@pytest.mark.parametrize("name", list(MESSAGES))
def test_lxml_envelope_equals_zeeps(client: PostboxClient, name: str) -> None:
    m = MESSAGES[name]
    ours = render_send_envelope(m, created=CREATED)
    zeeps = client.create_send_envelope_with_zeep(m, created=CREATED)
    assert shape(ours) == shape(zeeps)


@pytest.mark.parametrize("name", list(MESSAGES))
def test_lxml_envelope_body_is_valid_against_the_contract(name: str) -> None:
    schema = contract_schema()
    body = render_send_envelope(MESSAGES[name], created=CREATED)[0][0]
    assert schema.validate(body), schema.error_log.last_error
