"""The Altinn copy's mapping (SPEC-transports §4), pure: the body to Markdown, languages, dates,
reply options, the letter's notification as Altinn 3's own, the multipart form, the idempotent key,
and Altinn 3's status history back into StatusChangeV2 entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clients.altinn3 import idempotent_key, language, plain_title, to_fields, to_form, to_markdown
from service.domain import altinn_copy as ac
from service.domain import notifications as dn
from service.domain.model import CorrespondenceStatus
from service.domain.ports import AltinnLetter, CopyStatus

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
TEMPLATES = dn.TemplateLibrary.load(
    Path(__file__).resolve().parents[2] / "service" / "notification_templates"
)


def _letter(**kw: object) -> AltinnLetter:
    base: dict[str, object] = dict(
        owner_orgnr="910646192",
        system_user_code="DEMO",
        reference="r-1",
        resource_id="res",
        reportee="01018010018",
        title="Vedtak",
        summary="Kort",
        body="<p>Tekst</p>",
        language_code="1044",
    )
    base.update(kw)
    return AltinnLetter(**base)  # type: ignore[arg-type]


# -- body -----------------------------------------------------------------------------------------
def test_body_to_markdown_keeps_headings_lists_links_and_emphasis() -> None:
    html = (
        "<h1>Vedtak</h1><h2>Bakgrunn</h2><p>Du har søkt om <strong>støtte</strong> og <em>fått</em> den.</p>"
        "<ul><li>første</li><li>andre</li></ul><ol><li>en</li><li>to</li></ol>"
        '<p>Les <a href="https://www.nav.no/vedtak">vedtaket</a>.</p><script>alert(1)</script>'
    )
    md = to_markdown(html)
    lines = md.splitlines()
    assert lines[0] == "# Vedtak" and "## Bakgrunn" in lines
    assert "Du har søkt om **støtte** og *fått* den." in lines
    assert "- første" in lines and "- andre" in lines
    assert "1. en" in lines and "2. to" in lines
    assert "Les [vedtaket](https://www.nav.no/vedtak)." in lines
    assert "alert" not in md and "<" not in md
    assert "\n\n\n" not in md


def test_plain_text_body_and_title_stay_text() -> None:
    assert to_markdown("Bare tekst.\nLinje to.") == "Bare tekst.\nLinje to."
    assert to_markdown(None) == "" and to_markdown("  ") == ""
    assert plain_title("<b>Vedtak</b> i saken") == "Vedtak i saken"


def test_empty_summary_and_body_fall_back_so_altinn_accepts_them() -> None:
    content = to_fields(_letter(summary=None, body=None), NOW)["correspondence"]["content"]
    assert content["messageSummary"] == "Vedtak" and content["messageBody"] == "Vedtak"


@pytest.mark.parametrize(
    ("code", "iso"), [("1044", "nb"), ("2068", "nn"), ("1033", "en"), ("", "nb"), ("9999", "nb")]
)
def test_languages(code: str, iso: str) -> None:
    assert language(code) == iso
    assert to_fields(_letter(language_code=code), NOW)["correspondence"]["content"]["language"] == iso


# -- dates, reply options, reservation ------------------------------------------------------------
def test_dates_visible_in_the_future_and_due_date() -> None:
    later, due = NOW + timedelta(days=2), NOW + timedelta(days=14)
    corr = to_fields(_letter(visible_date_time=later, due_date_time=due, confirmation_needed=True), NOW)[
        "correspondence"
    ]
    assert corr["requestedPublishTime"] == "2026-12-06T12:00:00Z"
    assert corr["dueDateTime"] == "2026-12-18T12:00:00Z" and corr["isConfirmationNeeded"] is True


def test_past_dates_are_left_out_and_confirmation_needs_a_due_date() -> None:
    corr = to_fields(
        _letter(
            visible_date_time=NOW - timedelta(hours=1),
            due_date_time=NOW - timedelta(days=1),
            confirmation_needed=True,
        ),
        NOW,
    )["correspondence"]
    assert (
        "requestedPublishTime" not in corr
        and "dueDateTime" not in corr
        and "isConfirmationNeeded" not in corr
    )


def test_reply_options_https_only_and_reservation_decided_by_us() -> None:
    corr = to_fields(
        _letter(
            reply_options=(("https://svar.no/a", "Svar"), ("http://usikker.no", "x"), ("https://b.no", ""))
        ),
        NOW,
    )["correspondence"]
    assert corr["replyOptions"] == [
        {"linkURL": "https://svar.no/a", "linkText": "Svar"},
        {"linkURL": "https://b.no", "linkText": "https://b.no"},
    ]
    assert corr["ignoreReservation"] is True


def test_recipients_and_idempotent_key() -> None:
    f = to_fields(_letter(reportee="910646192"), NOW)
    assert f["recipients"] == ["urn:altinn:organization:identifier-no:910646192"]
    assert f["idempotentKey"] == idempotent_key("DEMO", "r-1") == idempotent_key("DEMO", "r-1")
    assert idempotent_key("OTHER", "r-1") != idempotent_key("DEMO", "r-1")


def test_multipart_form_flattens_with_dots_and_indices() -> None:
    from service.domain.ports import Document

    letter = _letter(
        attachments=(Document("a.pdf", "A", "application/pdf", b"x"),), reply_options=(("https://s.no", "S"),)
    )
    form = to_form(to_fields(letter, NOW))
    d = dict(form)
    assert d["Correspondence.ResourceId"] == "res" and d["Correspondence.SendersReference"] == "r-1"
    assert d["Correspondence.Content.Attachments[0].FileName"] == "a.pdf"
    assert d["Correspondence.Content.Attachments[0].DataLocationType"] == "NewCorrespondenceAttachment"
    assert d["Correspondence.ReplyOptions[0].LinkURL"] == "https://s.no"
    assert d["Correspondence.IgnoreReservation"] == "true"
    assert d["Recipients"] == "urn:altinn:person:identifier-no:01018010018"
    # the form requires a notification template: a letter without notifications gets Altinn's generic one
    assert d["Correspondence.Notification.NotificationTemplate"] == "GenericAltinnMessage"


# -- notifications --------------------------------------------------------------------------------
def _notice(
    endpoints: list[dict[str, str]], ntype: str = "VarselDPVUtenRevarsel", lang: str = "1044"
) -> object:
    stored = {
        "Notification": [
            {
                "NotificationType": ntype,
                "LanguageCode": lang,
                "TextTokens": {"TextToken": [{"TokenNum": 0, "TokenValue": "Ekstra linje"}]},
                "ReceiverEndPoints": {"ReceiverEndPoint": endpoints},
            }
        ]
    }
    fields = {"title": "Vedtak", "sender": "NAV", "reportee": "01018010018", "inbox_url": "https://x/inbox/"}
    return ac.notice(dn.parse_requests(stored), TEMPLATES, fields, "1044")


@pytest.mark.parametrize(
    ("types", "channel"),
    [
        (["Email"], "Email"),
        (["SMS"], "Sms"),
        (["Both"], "EmailAndSms"),
        (["EmailPreferred"], "EmailPreferred"),
        (["SMSPreferred"], "SmsPreferred"),
        (["Email", "SMS"], "EmailAndSms"),
    ],
)
def test_notification_channels(types: list[str], channel: str) -> None:
    n = _notice([{"TransportType": t} for t in types])
    assert n is not None and n.channel == channel  # type: ignore[attr-defined]


def test_notification_texts_reminder_and_custom_recipient() -> None:
    n = _notice(
        [
            {"TransportType": "Email", "ReceiverAddress": "a@b.no"},
            {"TransportType": "SMS", "ReceiverAddress": "+4799999999"},
        ],
        "VarselDPVMedRevarsel",
    )
    assert n.send_reminder is True  # type: ignore[attr-defined]
    assert n.email_subject == "Nytt brev fra NAV i innboksen din"  # type: ignore[attr-defined]
    assert "Ekstra linje" in n.email_body and "«Vedtak»" in n.sms_body  # type: ignore[attr-defined]
    assert n.reminder_email_subject.startswith("Påminnelse")  # type: ignore[attr-defined]
    assert (n.email_address, n.mobile_number) == ("a@b.no", "+4799999999")  # type: ignore[attr-defined]
    english = _notice([{"TransportType": "Email"}], lang="1033")
    assert english.email_subject.startswith("New letter") or "letter" in english.email_subject  # type: ignore[attr-defined]
    assert english.email_address is None  # type: ignore[attr-defined]  # Altinn's own contact register


def test_notification_becomes_altinn3_notification_fields() -> None:
    n = _notice([{"TransportType": "SMS"}], "VarselDPVMedRevarsel")
    note = to_fields(_letter(notice=n), NOW)["correspondence"]["notification"]
    assert note["notificationTemplate"] == "CustomMessage" and note["notificationChannel"] == "Sms"
    assert "emailBody" not in note and note["smsBody"] and len(note["smsBody"]) <= 160
    assert note["sendReminder"] is True and note["reminderSmsBody"].startswith("Påminnelse")


def test_no_notifications_no_notice() -> None:
    assert ac.notice([], TEMPLATES, {}, "1044") is None


# -- status back ----------------------------------------------------------------------------------
def test_status_history_back_into_status_changes_with_altinns_times() -> None:
    t = [NOW + timedelta(minutes=i) for i in range(4)]
    status = CopyStatus(
        "c", "Confirmed", (("Initialized", t[0]), ("Published", t[1]), ("Read", t[2]), ("Confirmed", t[3]))
    )
    changes = ac.status_changes(status, [("Created", t[0])])
    assert changes == [(CorrespondenceStatus.READ, t[2]), (CorrespondenceStatus.CONFIRMED, t[3])]
    assert ac.status_changes(status, [("Created", t[0]), ("Read", t[2]), ("Confirmed", t[3])]) == []
    # Confirmed without a Read in the history implies Read at the same time
    only = CopyStatus("c", "Confirmed", (("Published", t[1]), ("Confirmed", t[3])))
    assert ac.status_changes(only, []) == [
        (CorrespondenceStatus.READ, t[3]),
        (CorrespondenceStatus.CONFIRMED, t[3]),
    ]


def test_when_polling_stops() -> None:
    read = CopyStatus("c", "Read", (("Published", NOW), ("Read", NOW)))
    assert ac.final(read, confirmation_needed=False) and not ac.final(read, confirmation_needed=True)
    assert ac.final(CopyStatus("c", "Reserved", ()), False) and ac.final(CopyStatus("c", "Failed", ()), True)
    assert not ac.final(CopyStatus("c", "Published", (("Published", NOW),)), False)


def test_missing_resource_is_named() -> None:
    src = ac.CopySource(
        1, "910646192", "Demo", "DEMO", "r", "4503", 3, None, False, "01018010018", "1044", "T", None, None,
        None, None, None, {},
    )  # fmt: skip
    with pytest.raises(ac.MissingResource, match=r"--resource 4503:3=<resourceId>"):
        ac.letter(src, None)


def test_which_letters_may_get_a_copy() -> None:
    from service.domain.model import SdpOptions

    def opts(setting: str, backup: bool) -> SdpOptions:
        return SdpOptions.from_record({"sdp_setting": setting, "backup_altinn": backup})

    assert ac.may_get_a_copy(None)
    assert ac.may_get_a_copy(opts("CopyAltinn", False)) and ac.may_get_a_copy(opts("ForwardOnly", True))
    assert not ac.may_get_a_copy(opts("ForwardOnly", False))
