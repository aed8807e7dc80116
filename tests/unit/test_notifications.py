"""The notification rules (service/domain/notifications.py), table by table. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings
from service.domain import notifications as dn
from service.domain.jobs import JobKind
from service.domain.ports import Person

E, S = dn.Channel.EMAIL, dn.Channel.SMS
BOTH_CONTACTS = dn.Contact("ola@example.no", "+4799000001")
EMAIL_ONLY = dn.Contact("ola@example.no", None)
MOBILE_ONLY = dn.Contact(None, "+4799000001")
NO_CONTACT = dn.Contact()

# TransportType, ReceiverAddress, reportee kind, KRR contact -> messages (channel, address) or "no address"
RESOLVE = [
    ("Email", None, "person", BOTH_CONTACTS, [(E, "ola@example.no")]),
    ("SMS", None, "person", BOTH_CONTACTS, [(S, "+4799000001")]),
    ("Both", None, "person", BOTH_CONTACTS, [(E, "ola@example.no"), (S, "+4799000001")]),
    ("Both", None, "person", EMAIL_ONLY, [(E, "ola@example.no")]),
    ("EmailPreferred", None, "person", BOTH_CONTACTS, [(E, "ola@example.no")]),
    ("EmailPreferred", None, "person", MOBILE_ONLY, [(S, "+4799000001")]),
    ("SMSPreferred", None, "person", BOTH_CONTACTS, [(S, "+4799000001")]),
    ("SMSPreferred", None, "person", EMAIL_ONLY, [(E, "ola@example.no")]),
    ("Email", None, "person", MOBILE_ONLY, "no address"),
    ("SMS", None, "person", EMAIL_ONLY, "no address"),
    ("Both", None, "person", NO_CONTACT, "no address"),
    ("EmailPreferred", None, "person", NO_CONTACT, "no address"),
    # a given ReceiverAddress wins over KRR, for persons and organisations
    ("Email", "given@example.no", "person", BOTH_CONTACTS, [(E, "given@example.no")]),
    ("SMS", "+4791234567", "organisation", None, [(S, "+4791234567")]),
    ("Both", "given@example.no", "organisation", None, [(E, "given@example.no")]),
    ("SMSPreferred", "+4791234567", "person", NO_CONTACT, [(S, "+4791234567")]),
    ("Email", "+4791234567", "person", BOTH_CONTACTS, "not an e-mail address"),
    ("SMS", "given@example.no", "person", BOTH_CONTACTS, "not a mobile number"),
    # an organisation has no KRR contact data
    ("Email", None, "organisation", None, "organisation reportee needs a ReceiverAddress"),
    ("Both", None, "organisation", None, "organisation reportee needs a ReceiverAddress"),
    ("IM", None, "person", BOTH_CONTACTS, "not supported"),
]


@pytest.mark.parametrize("tt,address,kind,contact,expected", RESOLVE)
def test_resolve(
    tt: str, address: str | None, kind: str, contact: dn.Contact | None, expected: object
) -> None:
    res = dn.resolve(dn.ReceiverEndPoint(tt, address), kind, contact)
    if isinstance(expected, str):
        assert res.messages == ()
        assert res.no_address_reason is not None and expected in res.no_address_reason
    else:
        assert [(m.channel, m.recipient) for m in res.messages] == expected
        assert res.no_address_reason is None


def test_resolve_refuses_to_guess_without_krr() -> None:
    with pytest.raises(ValueError):
        dn.resolve(dn.ReceiverEndPoint("Email", None), "person", None)


# KRR person -> contact data we may use
KRR = [
    (Person("1", "AKTIV", "NEI", "KAN_VARSLES", "a@b.no", "+47900"), dn.Contact("a@b.no", "+47900")),
    (Person("1", "AKTIV", "NEI", "KAN_IKKE_VARSLES", "a@b.no", "+47900"), dn.Contact()),
    (Person("1", "AKTIV", "JA", "KAN_IKKE_VARSLES"), dn.Contact()),
    (Person("1", "SLETTET"), dn.Contact()),
    (Person("1", "IKKE_REGISTRERT"), dn.Contact()),
    (Person("1", "AKTIV", "NEI", None, "a@b.no", None), dn.Contact("a@b.no", None)),
    (None, dn.Contact()),
]


@pytest.mark.parametrize("person,contact", KRR)
def test_contact_from_krr(person: Person | None, contact: dn.Contact) -> None:
    assert dn.contact_from_krr(person) == contact


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)

# ShipmentDateTime, VisibleDateTime -> due
DUE = [
    (None, None, NOW),
    (NOW + H, None, NOW + H),
    (NOW - H, None, NOW),  # in the past: at once
    (None, NOW + 2 * H, NOW + 2 * H),  # never before the letter is visible
    (NOW + H, NOW + 2 * H, NOW + 2 * H),
    (NOW + 3 * H, NOW + 2 * H, NOW + 3 * H),
    (NOW - H, NOW - 2 * H, NOW),
]


@pytest.mark.parametrize("shipment,visible,due", DUE)
def test_due_at(shipment: datetime | None, visible: datetime | None, due: datetime) -> None:
    assert dn.due_at(shipment, visible, NOW) == due


@pytest.mark.parametrize(
    "status,wanted",
    [("Created", True), ("Read", False), ("Confirmed", False), ("Reserved", False), (None, False)],
)
def test_reminder_only_while_unread(status: str | None, wanted: bool) -> None:
    assert dn.reminder_wanted(status) is wanted


@pytest.mark.parametrize(
    "name,reminder",
    [
        ("VarselDPVMedRevarsel", True),
        ("EgenMalMedRevarsel", True),
        ("VarselDPVUtenRevarsel", False),
        (None, False),
    ],
)
def test_reminder_types(name: str | None, reminder: bool) -> None:
    assert dn.has_reminder(name) is reminder
    assert dn.NotificationRequest(notification_type=name).has_reminder is reminder


def test_reminder_due() -> None:
    assert dn.reminder_due(NOW, 7) == NOW + timedelta(days=7)
    assert dn.reminder_due(NOW, 0) == NOW


def test_parse_requests_as_stored() -> None:
    stored = {
        "Notification": [
            {
                "FromAddress": "post@etat.no",
                "ShipmentDateTime": "2026-12-02T08:00:00+00:00",
                "LanguageCode": "2068",
                "NotificationType": "VarselDPVMedRevarsel",
                "TextTokens": {
                    "TextToken": [{"TokenNum": 0, "TokenValue": "Frist 1. mars"}, {"TokenNum": 1}]
                },
                "ReceiverEndPoints": {
                    "ReceiverEndPoint": [
                        {"TransportType": "Both"},
                        {"TransportType": "SMS", "ReceiverAddress": "+47911"},
                    ]
                },
            },
            {"ReceiverEndPoints": {"ReceiverEndPoint": [{}]}},
        ]
    }
    first, second = dn.parse_requests(stored)
    assert first.from_address == "post@etat.no"
    assert first.shipment_date_time == datetime(2026, 12, 2, 8, tzinfo=UTC)
    assert first.language_code == "2068" and first.has_reminder
    assert first.text_tokens == ((0, "Frist 1. mars"), (1, ""))
    assert first.receiver_end_points == (dn.ReceiverEndPoint("Both"), dn.ReceiverEndPoint("SMS", "+47911"))
    assert second.receiver_end_points == (dn.ReceiverEndPoint(None),)
    assert dn.parse_requests(None) == [] and dn.parse_requests({}) == []


def test_plan_waits_for_krr_only_where_needed() -> None:
    req = dn.NotificationRequest(
        shipment_date_time=NOW + H,
        receiver_end_points=(dn.ReceiverEndPoint("Email", "x@y.no"), dn.ReceiverEndPoint("Both")),
    )
    planned = dn.plan([req], "person", None, None, NOW)
    assert [(p.endpoint_index, p.message, p.no_address_reason) for p in planned] == [
        (0, dn.Message(E, "x@y.no"), None),
        (1, None, None),  # the worker asks KRR
    ]
    assert all(p.due == NOW + H for p in planned)
    with_krr = dn.plan([req], "person", BOTH_CONTACTS, None, NOW)
    assert [p.message for p in with_krr] == [
        dn.Message(E, "x@y.no"),
        dn.Message(E, "ola@example.no"),
        dn.Message(S, "+4799000001"),
    ]
    org = dn.plan([req], "organisation", None, NOW + 2 * H, NOW)
    assert org[1].message is None and org[1].no_address_reason and "organisation" in org[1].no_address_reason
    assert org[0].due == NOW + 2 * H


@pytest.mark.parametrize(
    "request_lang,letter_lang,chosen",
    [("1033", "1044", "1033"), (None, "2068", "2068"), ("9999", None, "1044"), (None, None, "1044")],
)
def test_language(request_lang: str | None, letter_lang: str | None, chosen: str) -> None:
    assert dn.language_of(request_lang, letter_lang) == chosen


SHIPPED = Path(Settings().notification_templates_dir)
LETTER = {"title": "Vedtak", "sender": "Etaten", "reportee": "01018010018", "inbox_url": "http://x/inbox/"}


def test_shipped_templates() -> None:
    lib = dn.TemplateLibrary.load(SHIPPED)
    assert lib.names() == ["TokenTextOnly", "VarselDPVMedRevarsel", "VarselDPVUtenRevarsel", "default"]
    for name in lib.names():
        assert set(lib.templates[name]) == {"1044", "2068", "1033"}, name


@pytest.mark.parametrize(
    "ntype,lang,channel,reminder,subject_has,body_has",
    [
        (
            "VarselDPVUtenRevarsel",
            "1044",
            E,
            False,
            "Nytt brev fra Etaten",
            ["«Vedtak»", "http://x/inbox/", "Ekstra"],
        ),
        ("VarselDPVUtenRevarsel", "2068", E, False, "Nytt brev frå Etaten", ["Du har fått eit brev"]),
        (
            "VarselDPVUtenRevarsel",
            "1033",
            S,
            False,
            "",
            ["New letter from Etaten", "Ekstra", "http://x/inbox/"],
        ),
        ("VarselDPVMedRevarsel", "1044", E, True, "Påminnelse: ulest brev fra Etaten", ["ulest brev"]),
        ("VarselDPVMedRevarsel", "2068", S, True, "", ["Påminning"]),
        ("VarselDPVMedRevarsel", "1033", E, False, "New letter from Etaten", ["You have received"]),
        ("TokenTextOnly", "1044", E, False, "Ekstra", ["Hele teksten"]),
        ("TokenTextOnly", "1033", S, False, "", ["Hele teksten"]),
        ("UkjentType", "1033", E, False, "You have a letter from Etaten", ["Read it in your inbox"]),
        (None, "1044", S, False, "", ["Etaten har sendt deg et brev"]),
    ],
)
def test_render(
    ntype: str | None, lang: str, channel: dn.Channel, reminder: bool, subject_has: str, body_has: list[str]
) -> None:
    lib = dn.TemplateLibrary.load(SHIPPED)
    text = lib.render(ntype, lang, channel, [(0, "Ekstra"), (1, "Hele teksten")], LETTER, reminder=reminder)
    assert subject_has in text.subject
    for part in body_has:
        assert part in text.body, (part, text.body)
    assert "{" not in text.subject + text.body
    if channel is S:
        assert text.subject == "" and "\n" not in text.body


def test_render_without_tokens_leaves_no_gaps() -> None:
    lib = dn.TemplateLibrary.load(SHIPPED)
    body = lib.render("VarselDPVUtenRevarsel", "1044", E, [], LETTER).body
    assert "\n\n\n" not in body and "{0}" not in body
    sms = lib.render("VarselDPVUtenRevarsel", "1044", S, [], LETTER).body
    assert "  " not in sms


def test_operator_templates_replace_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "default.json").write_text(
        '{"1044": {"email_subject": "Hei {reportee}", "email_body": "Brev: {title} {9}", "sms": "SMS {title}"}}'
    )
    lib = dn.TemplateLibrary.load(tmp_path)
    text = lib.render("VarselDPVMedRevarsel", "1033", E, [(9, "ni")], LETTER)  # falls back: type and language
    assert (text.subject, text.body) == ("Hei 01018010018", "Brev: Vedtak ni")
    (tmp_path / "default.json").unlink()
    (tmp_path / "Other.json").write_text('{"1044": {"email_subject": "", "email_body": "", "sms": ""}}')
    with pytest.raises(ValueError, match="default.json"):
        dn.TemplateLibrary.load(tmp_path)


def test_subject_never_carries_a_line_break() -> None:
    lib = dn.TemplateLibrary.load(SHIPPED)
    text = lib.render("TokenTextOnly", "1044", E, [(0, "Linje\r\nBcc: x@y.no"), (1, "b")], LETTER)
    assert "\n" not in text.subject and "\r" not in text.subject


# -- the insert plan carries the letter's notifications (committed with it) ----------------------
NOTIFY_BOTH = {"Notification": [{"ReceiverEndPoints": {"ReceiverEndPoint": [{"TransportType": "Both"}]}}]}
ACTIVE = Person("03038210008", "AKTIV", "NEI", "KAN_VARSLES", "per@example.no", "+4799000003")
DIGIPOST_PERSON = Person(
    "01018010018",
    "AKTIV",
    "NEI",
    "KAN_VARSLES",
    "ola@example.no",
    None,
    "ola#1",
    "984661185",
    sertifikat=b"0\x82der",  # a postbox is there only with its certificate
    sertifikat_gyldig_til=datetime(2099, 1, 1, tzinfo=UTC),
)


@pytest.mark.parametrize(
    "reportee,sdp_setting,reservable,person,expected",
    [
        # no SdpOptions: Altinn copy, KRR not asked -> the worker looks the address up
        ("03038210008", None, None, None, [None]),
        # CopyAltinn: the insert's KRR answer gives the addresses at once
        ("01018010018", "CopyAltinn", None, DIGIPOST_PERSON, [dn.Message(E, "ola@example.no")]),
        # forwarded only: no Altinn copy, no notification
        ("01018010018", "ForwardOnly", None, DIGIPOST_PERSON, []),
        # no postbox, BackupAltinn: Altinn copy with KRR's addresses
        (
            "03038210008",
            "ForwardOnly",
            None,
            ACTIVE,
            [dn.Message(E, "per@example.no"), dn.Message(S, "+4799000003")],
        ),
        # reserved and reservable: Reserved, nobody to notify
        ("04048310058", None, True, Person("04048310058", "AKTIV", "JA", "KAN_IKKE_VARSLES"), []),
    ],
)
def test_insert_plan_notifications(
    reportee: str, sdp_setting: str | None, reservable: bool | None, person: Person | None, expected: list
) -> None:
    from service.domain import forwarding_decision, insert
    from service.domain.model import InsertCorrespondence, SdpOptions

    sdp = SdpOptions(sdp_setting, "brev.pdf", backup_altinn=True) if sdp_setting else None
    req = InsertCorrespondence(
        "DEMO",
        "ref-1",
        "4503",
        "1",
        reportee,
        "1044",
        "Tittel",
        is_reservable=reservable,
        sdp_options=sdp,
        extra={"Notifications": NOTIFY_BOTH},
    )
    decision = forwarding_decision.decide("person", sdp, reservable, person)
    plan = insert.plan(req, 1, decision, person, NOW)
    assert [p.message for p in plan.notifications] == expected
    assert all(p.due == NOW and p.no_address_reason is None for p in plan.notifications)


# -- the entity (AltinnNotification) -------------------------------------------------------------
def _message(**kw: Any) -> dn.AltinnNotification:
    fields: dict[str, Any] = {
        "id": 5,
        "correspondence_id": 9,
        "notification_index": 0,
        "endpoint_index": 0,
        "transport_type": "Both",
        "language_code": "1044",
        "message_id": "m-5",
        "next_attempt_at": NOW,
    }
    return dn.AltinnNotification(**{**fields, **kw})


def test_entity_resolve_gives_one_message_per_channel_and_their_send_jobs() -> None:
    n = _message()
    assert n.send_job(NOW) is None  # no address yet: nothing to send
    more = n.resolve(dn.Contact("a@x.no", "+4799999999"), lambda: "m-new")
    assert (n.channel, n.recipient) == (dn.Channel.EMAIL, "a@x.no")
    (sms,) = more
    assert (sms.id, sms.channel, sms.recipient, sms.message_id) == (
        None,
        dn.Channel.SMS,
        "+4799999999",
        "m-new",
    )
    job = n.send_job(NOW)
    assert job is not None and (job.kind, job.reference, job.run_after) == (JobKind.NOTIFICATION, "5", NOW)
    none = _message(id=6)
    assert none.resolve(dn.Contact(), lambda: "x") == [] and none.state is dn.NotificationState.NO_ADDRESS


def test_entity_sent_gives_its_reminder_and_a_final_message_takes_no_transition() -> None:
    n = _message(channel=dn.Channel.EMAIL, recipient="a@x.no", notification_type="VarselDPVMedRevarsel")
    reminder = n.record_sent(NOW, 1, 7, "m-r")
    assert n.state is dn.NotificationState.SENT and n.status_text == "sent to a@x.no"
    assert reminder is not None and reminder.reminder_of == 5
    assert reminder.next_attempt_at == NOW + timedelta(days=7)
    assert (
        reminder.skip_reason(dn.NotifiedLetter(9, "x", "t", "s", "Read")) == "no reminder: the letter is Read"
    )
    with pytest.raises(dn.IllegalNotificationTransition):
        n.retry_at(NOW, 2, "451")
    plain = _message(id=7, channel=dn.Channel.SMS, recipient="+47", notification_type="VarselDPVUtenRevarsel")
    assert plain.record_sent(NOW, 1, 7, "m") is None


def test_entity_retry_and_close() -> None:
    n = _message(channel=dn.Channel.SMS, recipient="+4799999999")
    n.retry_at(NOW + timedelta(seconds=4), 2, "503")
    assert (n.state, n.attempts, n.status_text) == (dn.NotificationState.PENDING, 2, "503")
    n.close(dn.NotificationState.FAILED, "given up after 3 attempts: 503", 3)
    assert (n.state, n.attempts, n.next_attempt_at) == (dn.NotificationState.FAILED, 3, None)
    with pytest.raises(dn.IllegalNotificationTransition):
        _message().close(dn.NotificationState.SENT, "no")
