"""Altinn notifications end to end: real SOAP inserts with ``Notifications``, the delivery worker,
the simulators' SMTP catcher and SMS gateway (what they caught: ``/_sim/outbox.json``), and the
status operations (``Notifications`` in GetCorrespondenceStatusDetailsV2/V3, ``NotificationSent``).

Every test gives its letter a unique title; the notification texts carry it, so a test only ever
looks at its own messages. The harness sets ``INNBYGGERPOST_NOTIFICATION_REMINDER_DAYS=0`` (a
``...MedRevarsel`` reminder is due as soon as the first message is sent),
``INNBYGGERPOST_NOTIFICATION_MAX_ATTEMPTS=3`` and ``INNBYGGERPOST_CALL_ATTEMPTS=2``.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

KRR_ONLY_MOBILE = "11119010065"  # seed: AKTIV, mobile only
KRR_ONLY_EMAIL = "12129110005"  # seed: AKTIV, e-mail only
KAN_IKKE_VARSLES = "13129210065"  # seed: AKTIV, contact data marked KAN_IKKE_VARSLES
PER = ("per.ingenpostkasse@example.no", "+4799000003")  # seed contact data of a.NO_POSTBOX
CALL_ATTEMPTS, MAX_ATTEMPTS = 2, 3  # harness settings


def endpoint(tt: str, address: str | None = None) -> dict[str, Any]:
    ep: dict[str, Any] = {"TransportType": tt}
    if address is not None:
        ep["ReceiverAddress"] = address
    return ep


def notifications(*endpoints: dict[str, Any], **fields: Any) -> dict[str, Any]:
    n = {"LanguageCode": "1044", "NotificationType": "VarselDPVUtenRevarsel", **fields}
    n["ReceiverEndPoints"] = {"ReceiverEndPoint": list(endpoints)}
    return {"Notification": [n]}


def send(
    stack: Stack, reportee: str, notes: dict[str, Any], sdp: dict[str, Any] | None = None
) -> tuple[str, str]:
    """Insert a letter with a unique title; returns (reference, title)."""
    reference, title = a.ref("notif"), f"Brev {uuid.uuid4().hex[:10]}"
    r = a.insert(stack.basic_url, reference, a.letter(reportee, sdp, title=title, Notifications=notes))
    assert r.ReceiptStatusCode == "OK", r.ReceiptText
    return reference, title


def caught(stack: Stack, title: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    box = stack.outbox()
    return (
        [m for m in box["emails"] if title in m["subject"] or title in m["body"]],
        [s for s in box["sms"] if title in s["text"]],
    )


def status_notifications(stack: Stack, reference: str) -> list[Any]:
    (status,) = a.altinn_statuses(stack.basic_url, reference)
    return list(status.Notifications.Notification) if status.Notifications else []


def notification_states(stack: Stack, reference: str) -> list[str]:
    with stack.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT n.state FROM notifications n JOIN correspondences c ON c.id = n.correspondence_id"
                " WHERE c.external_shipment_reference = :r ORDER BY n.id"
            ),
            {"r": reference},
        )
        return [r[0] for r in rows]


def attempts(stack: Stack, reference: str) -> list[int]:
    with stack.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT n.attempts FROM notifications n JOIN correspondences c ON c.id = n.correspondence_id"
                " WHERE c.external_shipment_reference = :r ORDER BY n.id"
            ),
            {"r": reference},
        )
        return [r[0] for r in rows]


def v2_notification_sent(stack: Stack, reference: str, sent: bool) -> list[Any]:
    flt = {
        "ServiceCode": "4503",
        "ServiceEditionCode": 1,
        "SendersReference": reference,
        "NotificationSent": sent,
    }
    res = a.basic(stack.basic_url).GetCorrespondenceStatusDetailsBasicV2("10001", "demo-password", flt)
    return list(res.StatusList.StatusV2) if res.StatusList else []


def at_least(items: list[Any], n: int) -> list[Any] | None:
    return items if len(items) >= n else None


def outbox_idle(stack: Stack) -> None:
    """No notification of an earlier test still waiting (fault injection must hit this test's message)."""
    wait_until(
        lambda: stack.count("SELECT count(*) FROM notifications WHERE state = 'pending'") == 0,
        60,
        "earlier notifications to finish",
    )


# TransportType, reportee, ReceiverAddress -> the (channel, address) messages caught
TRANSPORT_TYPES = [
    ("Email", a.NO_POSTBOX, None, [("email", PER[0])]),
    ("SMS", a.NO_POSTBOX, None, [("sms", PER[1])]),
    ("Both", a.NO_POSTBOX, None, [("email", PER[0]), ("sms", PER[1])]),
    ("EmailPreferred", a.NO_POSTBOX, None, [("email", PER[0])]),
    ("EmailPreferred", KRR_ONLY_MOBILE, None, [("sms", "+4799000011")]),
    ("SMSPreferred", a.NO_POSTBOX, None, [("sms", PER[1])]),
    ("SMSPreferred", KRR_ONLY_EMAIL, None, [("email", "bare.epost@example.no")]),
    ("Email", a.NO_POSTBOX, "gitt@example.no", [("email", "gitt@example.no")]),
    ("SMS", a.ORGANISATION, "+4791112222", [("sms", "+4791112222")]),
]


@pytest.mark.parametrize(
    "tt,reportee,address,expected",
    TRANSPORT_TYPES,
    ids=[f"{t[0]}-{t[1]}-{bool(t[2])}" for t in TRANSPORT_TYPES],
)
def test_every_transport_type(
    worker: Stack, tt: str, reportee: str, address: str | None, expected: list[tuple[str, str]]
) -> None:
    reference, title = send(worker, reportee, notifications(endpoint(tt, address)))

    def got() -> list[tuple[str, str]] | None:
        emails, texts = caught(worker, title)
        found = [("email", m["to"]) for m in emails] + [("sms", s["to"]) for s in texts]
        return found if len(found) >= len(expected) else None

    assert sorted(wait_until(got, 60, f"{tt} notification")) == sorted(expected)
    emails, texts = caught(worker, title)
    for m in emails:
        assert m["subject"].startswith("Nytt brev fra")
        assert "/inbox/" in m["body"]
    for s in texts:
        assert s["authorization"] == "bearer" and s["reference"]
    # Status: one Notification per message sent, with Recipient, SentDate and TransportType
    notes = wait_until(
        lambda: at_least(status_notifications(worker, reference), len(expected)),
        30,
        "Notifications in the status answer",
    )
    assert len(notes) == len(expected)
    assert sorted((n.TransportType, n.Recipient) for n in notes) == sorted(
        ("Email" if ch == "email" else "SMS", addr) for ch, addr in expected
    )
    assert all(n.SentDate is not None for n in notes)
    assert [s.CorrespondenceID for s in v2_notification_sent(worker, reference, True)]
    assert v2_notification_sent(worker, reference, False) == []


def test_kan_ikke_varsles_gets_nothing(worker: Stack) -> None:
    reference, title = send(worker, KAN_IKKE_VARSLES, notifications(endpoint("Both")))
    wait_until(lambda: notification_states(worker, reference) == ["no_address"], 60, "the KRR look-up")
    assert caught(worker, title) == ([], [])
    (n,) = status_notifications(worker, reference)
    assert (n.Recipient, n.SentDate, n.TransportType) == (None, None, "Both")
    assert v2_notification_sent(worker, reference, False) and not v2_notification_sent(
        worker, reference, True
    )


def test_organisation_without_address_has_a_no_address_outcome(worker: Stack) -> None:
    reference, title = send(worker, a.ORGANISATION, notifications(endpoint("Email")))
    assert notification_states(worker, reference) == ["no_address"]  # decided at insert: no KRR
    (n,) = status_notifications(worker, reference)
    assert (n.Recipient, n.SentDate, n.TransportType) == (None, None, "Email")
    assert caught(worker, title) == ([], [])
    report = worker.workdir / f"status-{reference}.log"
    assert worker._cli("status", reference, log=report.name).wait(60) == 0
    assert "notification Email (address from KRR): no_address" in report.read_text()
    assert "organisation reportee needs a ReceiverAddress" in report.read_text()


def test_shipment_date_time_in_the_future(worker: Stack) -> None:
    # whole seconds: the contract's dateTime round trip must not move the due time before the test's
    shipment = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)).replace(microsecond=0)
    reference, title = send(
        worker, a.NO_POSTBOX, notifications(endpoint("Email", "senere@example.no"), ShipmentDateTime=shipment)
    )
    if dt.datetime.now(dt.UTC) < shipment - dt.timedelta(seconds=1):
        assert notification_states(worker, reference) == ["pending"]
        assert caught(worker, title) == ([], [])
        assert status_notifications(worker, reference) == []
        assert v2_notification_sent(worker, reference, False)
    (mail,) = wait_until(lambda: caught(worker, title)[0], 60, "the notification once due")
    assert dt.datetime.fromisoformat(mail["received_at"]) >= shipment
    assert notification_states(worker, reference) == ["sent"]


def test_reminder_for_an_unread_letter(worker: Stack) -> None:
    reference, title = send(
        worker,
        a.NO_POSTBOX,
        notifications(endpoint("Email", "revarsel@example.no"), NotificationType="VarselDPVMedRevarsel"),
    )
    emails = wait_until(lambda: at_least(caught(worker, title)[0], 2), 60, "the reminder")
    assert emails[0]["subject"].startswith("Nytt brev fra")
    assert emails[1]["subject"].startswith("Påminnelse: ulest brev fra")
    wait_until(lambda: notification_states(worker, reference) == ["sent", "sent"], 30, "both recorded")
    assert len(caught(worker, title)[0]) == 2  # one reminder, not more


def test_smtp_refuses_then_accepts_sent_once(worker: Stack) -> None:
    outbox_idle(worker)
    before = worker.outbox()["smtp"]["refused"]
    worker.sim_post("/_sim/smtp", refuse=3)
    reference, title = send(worker, a.NO_POSTBOX, notifications(endpoint("Email", "treg.smtp@example.no")))
    (mail,) = wait_until(lambda: caught(worker, title)[0], 60, "the e-mail after the refusals")
    smtp = worker.outbox()["smtp"]
    assert smtp["refused"] - before == 3 and smtp["refuse_remaining"] == 0  # the fault happened
    wait_until(lambda: notification_states(worker, reference) == ["sent"], 30, "recorded")
    assert attempts(worker, reference) == [2]  # 2 refusals in the first pass, 1 more then accepted
    assert len(caught(worker, title)[0]) == 1
    assert mail["to"] == "treg.smtp@example.no"


def test_sms_gateway_errors_retried_then_sent(worker: Stack) -> None:
    outbox_idle(worker)
    before = worker.outbox()["sms_gateway"]
    worker.sim_post("/_sim/sms", fail=3, status=503)
    reference, title = send(worker, a.NO_POSTBOX, notifications(endpoint("SMS", "+4793334444")))
    (sms,) = wait_until(lambda: caught(worker, title)[1], 60, "the SMS after the gateway errors")
    gw = worker.outbox()["sms_gateway"]
    assert gw["failed"] - before["failed"] == 3 and gw["requests"] - before["requests"] == 4
    assert sms["to"] == "+4793334444"
    wait_until(lambda: notification_states(worker, reference) == ["sent"], 30, "recorded")


def test_sms_gateway_errors_given_up_with_a_status(worker: Stack) -> None:
    outbox_idle(worker)
    before = worker.outbox()["sms_gateway"]
    worker.sim_post("/_sim/sms", fail=-1, status=500)
    try:
        reference, title = send(worker, a.NO_POSTBOX, notifications(endpoint("SMS", "+4795556666")))
        wait_until(lambda: notification_states(worker, reference) == ["failed"], 60, "the give-up")
    finally:
        worker.sim_post("/_sim/sms", fail=0)
    gw = worker.outbox()["sms_gateway"]
    assert gw["requests"] - before["requests"] == CALL_ATTEMPTS * MAX_ATTEMPTS  # retried, bounded
    assert caught(worker, title) == ([], [])
    assert attempts(worker, reference) == [MAX_ATTEMPTS]
    (n,) = status_notifications(worker, reference)
    assert (n.Recipient, n.SentDate, n.TransportType) == ("+4795556666", None, "SMS")
    assert not v2_notification_sent(worker, reference, True)


def test_backup_altinn_copy_after_a_failed_forwarding_is_notified(worker: Stack) -> None:
    """The vendor rejects the letter; BackupAltinn creates the Altinn copy and, in the same
    transaction, its notifications (address from the KRR look-up made at insert)."""
    reference, title = send(
        worker, a.REJECTS, notifications(endpoint("Email")), sdp=a.sdp("ForwardOnly", backup=True)
    )
    (mail,) = wait_until(lambda: caught(worker, title)[0], 60, "the notification of the Altinn copy")
    assert mail["to"] == "avvist@example.no"
    assert a.sdp_history(worker.basic_url, reference)[-1] == "Delivery_EndUser_Failed"


def test_outbox_page_lists_what_was_caught(worker: Stack) -> None:
    _, title = send(worker, a.NO_POSTBOX, notifications(endpoint("Email", "side@example.no")))
    wait_until(lambda: caught(worker, title)[0], 60, "the e-mail")
    with urllib.request.urlopen(worker.sim_url + "/_sim/outbox", timeout=5) as r:
        page = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    assert title in page and "side@example.no" in page
