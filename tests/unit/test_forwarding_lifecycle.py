"""The forwarding life cycle (service/domain/forwarding.py), table-driven: every transition, every
illegal one, and the races a worker meets (a receipt applied before the send's answer is recorded)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from service.domain.forwarding import (
    BACKUP_ALTINN_TEXT,
    Forwarding,
    IllegalTransition,
    JobState,
    job_state_of,
)
from service.domain.model import CorrespondenceStatus, SdpStatus
from service.domain.ports import SendResult, SendStatus, VendorReceipt

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VENDOR = "984661185"
U, S, D, X = SdpStatus.UNKNOWN, SdpStatus.SENT, SdpStatus.DELIVERED, SdpStatus.FAILED
P, A, DONE = JobState.PENDING, JobState.AWAITING_RECEIPT, JobState.DONE
ACCEPTED = SendResult(SendStatus.ACCEPTED)
REJECTED = SendResult(SendStatus.REJECTED, "feil KLIENT: bad")


def receipt(kind: str, feiltype: str | None = None) -> VendorReceipt:
    return VendorReceipt(
        "r1", "m1", "c1", kind, NOW, feiltype=feiltype, detail="why" if kind == "feil" else ""
    )


def fwd(status: SdpStatus = U, job: JobState | None = P, **kw: object) -> Forwarding:
    """A forwarding in ``status``; ``job`` names the delivery state that status means (derived)."""
    assert job_state_of(status) == job
    defaults: dict[str, object] = {"attempts": 0, "backup_altinn": False, "correspondence_id": 7}
    defaults.update(kw)
    return Forwarding(1, "m1", status, **defaults)  # type: ignore[arg-type]


Step = Callable[[Forwarding], object]


@dataclass(frozen=True)
class Case:
    name: str
    start: Forwarding
    step: Step
    status: SdpStatus
    job: JobState | None
    history: list[tuple[SdpStatus, str]]  # new SdpStatusChange entries: (status, text starts with)
    returns: object = None
    attempts: int | None = None
    altinn_copy: bool = False
    extra: dict[str, object] = field(default_factory=dict)


CASES = [
    Case(
        "send accepted: Sent, awaiting receipt until the deadline",
        fwd(),
        lambda f: f.record_send(ACCEPTED, VENDOR, NOW),
        S,
        A,
        [(S, f"Accepted by {VENDOR}")],
        "sent",
        attempts=1,
    ),
    Case(
        "send rejected (feil KLIENT): failed at once",
        fwd(),
        lambda f: f.record_send(REJECTED, VENDOR, NOW),
        X,
        DONE,
        [(X, "Rejected by the postbox vendor: feil KLIENT: bad")],
        "rejected",
        attempts=1,
    ),
    Case(
        "send rejected with BackupAltinn, letter without Altinn copy: Altinn copy Created",
        fwd(backup_altinn=True),
        lambda f: f.record_send(REJECTED, VENDOR, NOW),
        X,
        DONE,
        [(X, "Rejected by the postbox vendor")],
        "rejected",
        altinn_copy=True,
    ),
    Case(
        "send rejected with BackupAltinn, letter already in Altinn: no second copy",
        fwd(backup_altinn=True, altinn_status=CorrespondenceStatus.CREATED),
        lambda f: f.record_send(REJECTED, VENDOR, NOW),
        X,
        DONE,
        [(X, "Rejected by the postbox vendor")],
        "rejected",
    ),
    Case(
        "send answer after the receipt was applied (job awaiting): nothing recorded",
        fwd(S, A, attempts=1),
        lambda f: f.record_send(ACCEPTED, VENDOR, NOW),
        S,
        A,
        [],
        "sent",
        attempts=1,
    ),
    Case(
        "send answer after levering (job done): nothing recorded",
        fwd(D, DONE),
        lambda f: f.record_send(ACCEPTED, VENDOR, NOW),
        D,
        DONE,
        [],
        "sent",
    ),
    Case(
        "vendor unavailable (the job retries by the one rule): noted, still pending",
        fwd(attempts=1),
        lambda f: f.note_retry("timeout"),
        U,
        P,
        [],
        True,
        attempts=2,
        extra={"last_error": "timeout"},
    ),
    Case(
        "the job gave up: failed",
        fwd(attempts=3),
        lambda f: f.give_up("timeout", NOW),
        X,
        DONE,
        [(X, "Delivery failed after 3 attempts: timeout")],
        True,
        attempts=3,
    ),
    Case(
        "gave up with BackupAltinn: Altinn copy",
        fwd(attempts=3, backup_altinn=True),
        lambda f: f.give_up("timeout", NOW),
        X,
        DONE,
        [(X, "Delivery failed after 3 attempts: timeout" + BACKUP_ALTINN_TEXT)],
        True,
        altinn_copy=True,
    ),
    Case(
        "retry after a receipt finished the forwarding: nothing noted",
        fwd(D, DONE),
        lambda f: f.note_retry("timeout"),
        D,
        DONE,
        [],
        False,
        attempts=0,
    ),
    Case(
        "give up after a receipt finished the forwarding: nothing changes",
        fwd(S, A, attempts=1),
        lambda f: f.give_up("timeout", NOW),
        S,
        A,
        [],
        False,
        attempts=1,
    ),
    Case(
        "levering while awaiting: delivered, done",
        fwd(S, A),
        lambda f: f.apply(receipt("levering"), VENDOR, NOW),
        D,
        DONE,
        [(D, "Delivered to the citizen's postbox")],
        True,
    ),
    Case(
        "levering before the send's answer was recorded: the receipt proves the send",
        fwd(U, P),
        lambda f: f.apply(receipt("levering"), VENDOR, NOW),
        D,
        DONE,
        [(S, f"Accepted by {VENDOR} (known from its levering receipt)"), (D, "Delivered")],
        True,
    ),
    Case(
        "mottak before the send's answer: Sent, awaiting (the job in flight waits for the receipt)",
        fwd(U, P),
        lambda f: f.apply(receipt("mottak"), VENDOR, NOW),
        S,
        A,
        [(S, f"Accepted by {VENDOR} (known from its mottak receipt)")],
        True,
    ),
    Case(
        "aapning while awaiting: no status change, noted in the history",
        fwd(S, A),
        lambda f: f.apply(receipt("aapning"), VENDOR, NOW),
        S,
        A,
        [(S, "Opened by the citizen")],
        True,
    ),
    Case(
        "aapning after delivery: noted in the history, still delivered",
        fwd(D, DONE),
        lambda f: f.apply(receipt("aapning"), VENDOR, NOW),
        D,
        DONE,
        [(D, f"Opened by the citizen (aapningskvittering from {VENDOR})")],
        True,
    ),
    Case(
        "varslingfeilet while awaiting: no status change, noted in the history",
        fwd(S, A),
        lambda f: f.apply(receipt("varslingfeilet"), VENDOR, NOW),
        S,
        A,
        [(S, "Notification to the citizen failed")],
        True,
    ),
    Case(
        "returpost after delivery, BackupAltinn: failed and in the Altinn inbox",
        fwd(D, DONE, backup_altinn=True),
        lambda f: f.apply(receipt("returpost"), VENDOR, NOW),
        X,
        DONE,
        [(X, f"Delivery failed: returpost from {VENDOR}")],
        True,
        altinn_copy=True,
    ),
    Case(
        "feil while awaiting: failed",
        fwd(S, A),
        lambda f: f.apply(receipt("feil", "KLIENT"), VENDOR, NOW),
        X,
        DONE,
        [(X, "Delivery failed: feil KLIENT why")],
        True,
    ),
    Case(
        "feil before the send was recorded: failed, no Sent entry",
        fwd(U, P),
        lambda f: f.apply(receipt("feil", "SERVER"), VENDOR, NOW),
        X,
        DONE,
        [(X, "Delivery failed: feil SERVER why")],
        True,
    ),
    Case(
        "returpost while awaiting, BackupAltinn: failed and in the Altinn inbox",
        fwd(S, A, backup_altinn=True),
        lambda f: f.apply(receipt("returpost"), VENDOR, NOW),
        X,
        DONE,
        [(X, "Delivery failed: returpost" + BACKUP_ALTINN_TEXT)],
        True,
        altinn_copy=True,
    ),
    Case(
        "a second levering (delivered already): ignored",
        fwd(D, DONE),
        lambda f: f.apply(receipt("levering"), VENDOR, NOW),
        D,
        DONE,
        [],
        False,
    ),
    Case(
        "feil after failure: ignored",
        fwd(X, DONE),
        lambda f: f.apply(receipt("feil", "KLIENT"), VENDOR, NOW),
        X,
        DONE,
        [],
        False,
    ),
    Case(
        "a receipt for a Reserved forwarding (never a job): ignored",
        fwd(SdpStatus.RESERVED, None),
        lambda f: f.apply(receipt("levering"), VENDOR, NOW),
        SdpStatus.RESERVED,
        None,
        [],
        False,
    ),
    Case(
        "overdue: no receipt in time, failed",
        fwd(S, A),
        lambda f: f.expire(NOW),
        X,
        DONE,
        [(X, "Delivery failed: no receipt from the postbox vendor in time")],
        None,
    ),
    Case(
        "message cannot be built: fail",
        fwd(),
        lambda f: f.fail("Delivery failed: message could not be built (x)", NOW),
        X,
        DONE,
        [(X, "Delivery failed: message could not be built (x)")],
    ),
    Case(
        "fail without a stored letter, BackupAltinn: no Altinn copy possible",
        fwd(backup_altinn=True, correspondence_id=None),
        lambda f: f.fail("Delivery failed: x", NOW),
        X,
        DONE,
        [(X, "Delivery failed: x")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_transition(case: Case) -> None:
    f = case.start
    before = f.attempts
    result = case.step(f)
    assert result == case.returns
    assert (f.status, f.job_state) == (case.status, case.job)
    assert [c.status for c in f.new_changes] == [s for s, _ in case.history]
    for change, (_, text) in zip(f.new_changes, case.history, strict=True):
        assert change.text.startswith(text), (change.text, text)
        assert change.status_date == NOW
    if case.history:
        assert f.last_changed == NOW
    if case.attempts is not None:
        assert f.attempts == case.attempts
    for name, value in case.extra.items():
        assert getattr(f, name) == value
    assert (f.altinn_copy_created == NOW) == case.altinn_copy
    if case.altinn_copy:
        assert f.altinn_status == CorrespondenceStatus.CREATED
        assert f.new_changes[-1].text.endswith(BACKUP_ALTINN_TEXT)
    elif not case.history:
        assert f.attempts == before or case.returns in (True, "sent")


ILLEGAL: list[tuple[str, Forwarding, Step]] = [
    (
        "record_send on a forwarding that never was a job",
        fwd(SdpStatus.NO_MAILBOX, None),
        lambda f: f.record_send(ACCEPTED, VENDOR, NOW),
    ),
    (
        "note_retry on a forwarding that never was a job",
        fwd(SdpStatus.RESERVED, None),
        lambda f: f.note_retry("x"),
    ),
    ("fail a delivered forwarding", fwd(D, DONE), lambda f: f.fail("x", NOW)),
    ("fail a failed forwarding", fwd(X, DONE), lambda f: f.fail("x", NOW)),
    ("fail a Reserved forwarding", fwd(SdpStatus.RESERVED, None), lambda f: f.fail("x", NOW)),
    ("expire a pending job", fwd(U, P), lambda f: f.expire(NOW)),
    ("expire a delivered job", fwd(D, DONE), lambda f: f.expire(NOW)),
    (
        "Altinn fallback of a forwarding not failed",
        fwd(S, A, backup_altinn=True),
        lambda f: f.fall_back_to_altinn(NOW),
    ),
    (
        "Altinn fallback without BackupAltinn",
        fwd(X, DONE, backup_altinn=False),
        lambda f: f.fall_back_to_altinn(NOW),
    ),
    (
        "Altinn fallback when the letter is in Altinn already",
        fwd(X, DONE, backup_altinn=True, altinn_status=CorrespondenceStatus.CREATED),
        lambda f: f.fall_back_to_altinn(NOW),
    ),
    (
        "Altinn fallback without a stored letter",
        fwd(X, DONE, backup_altinn=True, correspondence_id=None),
        lambda f: f.fall_back_to_altinn(NOW),
    ),
]


@pytest.mark.parametrize(("name", "start", "step"), ILLEGAL, ids=[i[0] for i in ILLEGAL])
def test_illegal_transition_raises_and_changes_nothing(name: str, start: Forwarding, step: Step) -> None:
    snapshot = (start.status, start.job_state, start.attempts, start.altinn_status, list(start.new_changes))
    with pytest.raises(IllegalTransition):
        step(start)
    assert (start.status, start.job_state, start.attempts, start.altinn_status, start.new_changes) == snapshot


def test_fall_back_to_altinn_after_a_failure_without_backup_being_due_earlier() -> None:
    f = fwd(X, DONE, backup_altinn=True)  # failed before BackupAltinn was honoured (older rows)
    f.fall_back_to_altinn(NOW)
    assert f.altinn_status == CorrespondenceStatus.CREATED and f.altinn_copy_created == NOW


def test_a_receipt_applied_twice_changes_the_history_once() -> None:
    f = fwd(S, A)
    assert f.apply(receipt("levering"), VENDOR, NOW) is True
    assert f.apply(receipt("levering"), VENDOR, NOW + timedelta(seconds=1)) is False
    assert [c.status for c in f.new_changes] == [D]
