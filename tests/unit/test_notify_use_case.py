"""The notify use cases (service/service_layer/notify.py) with an injectable clock and fake senders:
time moves without sleeping. The database is an SQLite file (no processes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from service.adapters import orm
from service.adapters.db import make_engine
from service.config import Settings
from service.domain import notifications as dn
from service.domain.ports import (
    ChannelRefused,
    ChannelUnavailable,
    EmailMessage,
    Person,
    RegistryUnavailable,
    SmsMessage,
)
from service.service_layer.jobs import JobRunner, Outcome
from service.service_layer.notify import NotificationPolicy, Notifier, schedule_for_letter
from service.service_layer.unit_of_work import unit_of_work_factory

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PERSON = "03038210008"
ORG = "910646192"
KRR_PERSON = Person(PERSON, "AKTIV", "NEI", "KAN_VARSLES", "per@example.no", "+4799000003")


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class FakeChannel:
    sent: list[Any] = field(default_factory=list)
    unavailable: int = 0  # the next N sends raise ChannelUnavailable
    refuse: bool = False
    calls: int = 0

    def _send(self, m: Any) -> None:
        self.calls += 1
        if self.refuse:
            raise ChannelRefused("550 no such user")
        if self.unavailable:
            self.unavailable -= 1
            raise ChannelUnavailable("451 try later")
        self.sent.append(m)

    def send_email(self, m: EmailMessage) -> None:
        self._send(m)

    def send_sms(self, m: SmsMessage) -> None:
        self._send(m)


@dataclass
class FakeRegistry:
    persons: dict[str, Person] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    down: bool = False

    def hent_personer(self, ids: Sequence[str]) -> dict[str, Person]:
        self.calls.append(list(ids))
        if self.down:
            raise RegistryUnavailable("down")
        return {i: self.persons.get(i, Person(i, "IKKE_REGISTRERT")) for i in ids}


@dataclass
class World:
    uow: Any
    clock: Clock
    email: FakeChannel
    sms: FakeChannel
    registry: FakeRegistry
    notifier: Notifier

    def letter(
        self,
        notifications: list[dict[str, Any]],
        reportee: str = PERSON,
        person: Person | None = None,
        visible: datetime | None = None,
        status: str = "Created",
    ) -> int:
        with self.uow() as uow:
            s = uow.session
            owner = s.get(orm.ServiceOwner, 1)
            if owner is None:
                owner = orm.ServiceOwner(
                    id=1, system_user_code="DEMO", name="Demoetaten", organisation_number=ORG, created_at=T0
                )
                s.add(owner)
            n = s.query(orm.Receipt).count()
            receipt = orm.Receipt(
                owner_id=1,
                system_user_code="DEMO",
                external_shipment_reference=f"r{n}",
                status_code="OK",
                text="",
                history="",
                last_changed=T0,
                references=[],
            )
            s.add(receipt)
            s.flush()
            corr = orm.Correspondence(
                receipt_id=receipt.id,
                owner_id=1,
                system_user_code="DEMO",
                external_shipment_reference=f"r{n}",
                service_code="4503",
                service_edition=1,
                reportee=reportee,
                language_code="1044",
                message_title="Vedtak om bostøtte",
                visible_date_time=visible,
                contract_fields={"Notifications": {"Notification": notifications}},
                altinn_status=status,
                created_at=self.clock(),
            )
            s.add(corr)
            s.flush()
            schedule_for_letter(uow, corr.id, person, self.clock())
            uow.commit()
            return corr.id

    def runner(self, notifier: Notifier | None = None) -> JobRunner:
        n = notifier or self.notifier
        return JobRunner(self.uow, [n], n.job_policy, n.worker_id, clock=self.clock)

    def run(self) -> list[str]:
        """One worker pass: KRR look-ups, then every due message (its ``notification`` job); what
        happened to each message, read back from its state."""
        self.notifier.resolve_addresses()
        runner = self.runner()
        claimed = runner.claim(100)
        runner.record([runner.run(c) for c in claimed])
        return [self.outcome(int(c.job.reference)) for c in claimed]

    def outcome(self, notification_id: int) -> str:
        with self.uow() as uow:
            row = uow.session.get(orm.NotificationRow, notification_id)
            if row.state == "pending":
                return "retry"
            if row.state == "failed" and row.status_text.startswith("given up"):
                return "gave_up"
            return str(row.state)

    def rows(self, corr_id: int) -> list[SimpleNamespace]:
        with self.uow() as uow:
            rows = (
                uow.session.query(orm.NotificationRow)
                .filter(orm.NotificationRow.correspondence_id == corr_id)
                .order_by(orm.NotificationRow.id)
                .all()
            )
            cols = [c.key for c in orm.NotificationRow.__table__.columns]
            return [SimpleNamespace(**{c: getattr(r, c) for c in cols}) for r in rows]

    def set_status(self, corr_id: int, status: str) -> None:
        with self.uow() as uow:
            corr = uow.session.get(orm.Correspondence, corr_id)
            corr.altinn_status = status
            uow.commit()

    def notification_sent(self, corr_id: int) -> bool:
        with self.uow() as uow:
            return bool(uow.session.get(orm.Correspondence, corr_id).notification_sent)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path}/n.db")
    orm.Base.metadata.create_all(engine)
    uow = unit_of_work_factory(engine)
    clock, email, sms, registry = Clock(), FakeChannel(), FakeChannel(), FakeRegistry({PERSON: KRR_PERSON})
    notifier = Notifier(
        uow,
        registry,
        email,
        sms,
        dn.TemplateLibrary.load(Settings().notification_templates_dir),
        NotificationPolicy(max_attempts=3, backoff_seconds=10, lease_seconds=60, reminder_days=7),
        "w1",
        inbox_url="http://inbox/",
        clock=clock,
    )
    yield World(uow, clock, email, sms, registry, notifier)
    engine.dispose()


def note(tt: str = "Email", address: str | None = None, **kw: Any) -> dict[str, Any]:
    ep: dict[str, Any] = {"TransportType": tt}
    if address:
        ep["ReceiverAddress"] = address
    return {"ReceiverEndPoints": {"ReceiverEndPoint": [ep]}, **kw}


def test_email_at_once_with_the_template_and_tokens(world: World) -> None:
    cid = world.letter(
        [
            note(
                "Email",
                "x@y.no",
                NotificationType="VarselDPVUtenRevarsel",
                TextTokens={"TextToken": [{"TokenNum": 0, "TokenValue": "Frist i dag"}]},
            )
        ]
    )
    assert world.run() == ["sent"]
    (m,) = world.email.sent
    assert m.to == "x@y.no" and m.subject == "Nytt brev fra Demoetaten i innboksen din"
    assert "«Vedtak om bostøtte»" in m.body and "Frist i dag" in m.body and "http://inbox/" in m.body
    (row,) = world.rows(cid)
    assert (row.state, row.sent_at, row.attempts) == ("sent", T0, 1)
    assert world.notification_sent(cid)
    assert world.run() == []  # never twice


def test_shipment_in_the_future_then_due(world: World) -> None:
    cid = world.letter([note("SMS", "+4791234567", ShipmentDateTime=(T0 + timedelta(hours=2)).isoformat())])
    assert world.run() == [] and world.sms.sent == []
    world.clock.advance(hours=1, minutes=59)
    assert world.run() == []
    assert not world.notification_sent(cid)
    world.clock.advance(minutes=1)
    assert world.run() == ["sent"]
    assert [m.to for m in world.sms.sent] == ["+4791234567"]


def test_never_before_the_letter_is_visible(world: World) -> None:
    world.letter([note("Email", "x@y.no")], visible=T0 + timedelta(days=1))
    world.clock.advance(hours=23)
    assert world.run() == []
    world.clock.advance(hours=1)
    assert world.run() == ["sent"]


def test_krr_look_up_in_the_worker_batched(world: World) -> None:
    world.registry.persons["12129110005"] = Person(
        "12129110005", "AKTIV", "NEI", "KAN_VARSLES", "bare@example.no"
    )
    a = world.letter([note("Both")])
    b = world.letter([note("SMSPreferred")], reportee="12129110005")
    assert sorted(world.run()) == ["sent", "sent", "sent"]
    assert world.registry.calls == [[PERSON, "12129110005"]]  # one call for both letters
    assert sorted(m.to for m in world.email.sent) == ["bare@example.no", "per@example.no"]
    assert [m.to for m in world.sms.sent] == ["+4799000003"]
    assert {r.channel for r in world.rows(a)} == {"Email", "SMS"}
    assert [r.channel for r in world.rows(b)] == ["Email"]


def test_krr_answer_from_insert_is_used_without_asking_again(world: World) -> None:
    world.letter([note("EmailPreferred")], person=KRR_PERSON)
    assert world.run() == ["sent"]
    assert world.registry.calls == []
    assert [m.to for m in world.email.sent] == ["per@example.no"]


def test_kan_ikke_varsles_is_not_notified(world: World) -> None:
    stale = Person(PERSON, "AKTIV", "NEI", "KAN_IKKE_VARSLES", "per@example.no", "+4799000003")
    world.registry.persons[PERSON] = stale
    cid = world.letter([note("Both")])
    assert world.run() == []
    assert world.email.sent == world.sms.sent == []
    (row,) = world.rows(cid)
    assert row.state == "no_address" and "KRR has no usable contact data" in row.status_text


def test_organisation_without_address(world: World) -> None:
    cid = world.letter([note("Email"), note("SMS", "+4791234567")], reportee=ORG)
    assert world.run() == ["sent"]
    states = sorted((r.state, r.channel or "") for r in world.rows(cid))
    assert states == [("no_address", ""), ("sent", "SMS")]
    assert world.registry.calls == []


def test_krr_unavailable_waits_for_the_lease(world: World) -> None:
    cid = world.letter([note("Email")])
    world.registry.down = True
    assert world.run() == []
    world.registry.down = False
    assert world.run() == []  # still claimed by the failed pass
    world.clock.advance(seconds=61)
    assert world.run() == ["sent"]
    assert [r.state for r in world.rows(cid)] == ["sent"]


@pytest.mark.parametrize(
    "read_as,reminders",
    [(None, 1), ("Read", 0), ("Confirmed", 0)],
)
def test_reminder_only_for_an_unread_letter(world: World, read_as: str | None, reminders: int) -> None:
    cid = world.letter([note("Email", "x@y.no", NotificationType="VarselDPVMedRevarsel")])
    assert world.run() == ["sent"]
    world.clock.advance(days=6, hours=23)
    assert world.run() == []  # not due yet
    if read_as:
        world.set_status(cid, read_as)
    world.clock.advance(hours=1)
    outcome = world.run()
    assert outcome == (["sent"] if reminders else ["skipped"])
    assert len(world.email.sent) == 1 + reminders
    if reminders:
        assert world.email.sent[1].subject.startswith("Påminnelse")
    rows = world.rows(cid)
    assert [r.reminder_of is not None for r in rows] == [False, True]
    assert rows[1].state == ("sent" if reminders else "skipped")
    world.clock.advance(days=30)
    assert world.run() == []  # one reminder, never more


def test_no_reminder_for_types_without_medrevarsel(world: World) -> None:
    cid = world.letter([note("Email", "x@y.no", NotificationType="VarselDPVUtenRevarsel")])
    world.run()
    world.clock.advance(days=8)
    assert world.run() == []
    assert len(world.rows(cid)) == 1


def test_temporary_failures_retried_with_backoff_then_sent_once(world: World) -> None:
    cid = world.letter([note("Email", "x@y.no")])
    world.email.unavailable = 2
    assert world.run() == ["retry"]
    assert world.run() == []  # backoff: 10 s
    world.clock.advance(seconds=10)
    assert world.run() == ["retry"]
    world.clock.advance(seconds=19)
    assert world.run() == []  # 20 s after the second failure
    world.clock.advance(seconds=1)
    assert world.run() == ["sent"]
    assert len(world.email.sent) == 1 and world.email.calls == 3
    (row,) = world.rows(cid)
    assert (row.state, row.attempts) == ("sent", 3)


def test_given_up_after_the_configured_attempts(world: World) -> None:
    cid = world.letter([note("SMS", "+4791234567")])
    world.sms.unavailable = 99
    outcomes = []
    for _ in range(5):
        outcomes += world.run()
        world.clock.advance(minutes=5)
    assert outcomes == ["retry", "retry", "gave_up"]
    (row,) = world.rows(cid)
    assert row.state == "failed" and "given up after 3 attempts" in row.status_text
    assert not world.notification_sent(cid)


def test_permanent_refusal_is_final_at_once(world: World) -> None:
    cid = world.letter([note("Email", "x@y.no")])
    world.email.refuse = True
    assert world.run() == ["failed"]
    assert world.email.calls == 1
    (row,) = world.rows(cid)
    assert row.state == "failed" and "550" in row.status_text


@pytest.mark.parametrize("status", ["Reserved", None])
def test_no_notifications_without_an_inbox_copy(world: World, status: str | None) -> None:
    cid = world.letter([note("Email", "x@y.no")], status=status)  # type: ignore[arg-type]
    assert world.rows(cid) == []
    assert world.run() == []


def _other(world: World) -> Notifier:
    return Notifier(
        world.uow,
        world.registry,
        world.email,
        world.sms,
        world.notifier.templates,
        world.notifier.policy,
        "w2",
        clock=world.clock,
    )


def test_a_claimed_message_is_not_taken_while_the_lease_holds_and_sent_once(world: World) -> None:
    cid = world.letter([note("Email", "x@y.no")])
    first = world.runner()
    (claimed,) = first.claim(10)
    other = world.runner(_other(world))
    assert other.claim(10) == []  # the lease holds
    first.record([first.run(claimed)])
    world.clock.advance(seconds=61)
    assert other.claim(10) == []  # recorded sent: nothing to take over
    assert len(world.email.sent) == 1 and world.rows(cid)[0].state == "sent"


def test_a_dead_workers_claim_lapses_and_its_late_outcome_is_not_written(world: World) -> None:
    """Worker 1 claims and dies before sending; after the lease worker 2 sends the message. Worker 1's
    outcome, should it ever come, carries a stale fencing token and is dropped."""
    cid = world.letter([note("Email", "x@y.no")])
    first = world.runner()
    (stale,) = first.claim(10)
    world.clock.advance(seconds=61)
    other = world.runner(_other(world))
    (taken,) = other.claim(10)
    assert taken.job.id == stale.job.id and taken.token != stale.token
    assert other.record([other.run(taken)])["notification:succeeded"] == 1
    late = first.record([(stale, Outcome.fail("refused: 550"))])
    assert late["lost_claim"] == 1
    (row,) = world.rows(cid)
    assert (row.state, row.attempts) == ("sent", 1) and len(world.email.sent) == 1


def test_a_from_address_is_the_visible_sender_only_when_allowed(world: World) -> None:
    """Issue 14: an owner could put any visible From on a citizen's e-mail."""
    world.notifier.policy = NotificationPolicy(max_attempts=3, lease_seconds=60, allowed_from=("@etaten.no",))
    world.letter([note("Email", "x@y.no", FromAddress="post@etaten.no")])
    world.letter([note("Email", "z@y.no", FromAddress="sjefen@banken.example")])
    assert sorted(world.run()) == ["sent", "sent"]
    senders = {m.to: m.from_address for m in world.email.sent}
    assert senders == {"x@y.no": "post@etaten.no", "z@y.no": None}  # None: the service's own sender
