"""Durable jobs: the pure life cycle (service/domain/jobs.py) and the runner (service_layer/jobs.py)
with the jobs repository on a real SQLite file: claims, the lease, fencing (a worker whose claim was
taken over writes nothing), retries by the one backoff rule, give-up, and the inbox copy's handlers
with a fake AltinnInbox (publish, 409-free retry, refusal, status polling until final)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select, text

from service.adapters import orm
from service.adapters.db import make_engine
from service.domain.jobs import IllegalJobTransition, Job, JobKind, JobPolicy, JobStatus, NewJob
from service.domain.ports import AltinnLetter, CopyStatus, InboxRefused, InboxUnavailable, PublishedCopy
from service.service_layer.altinn_copy import CopyHandler, StatusHandler, copy_job
from service.service_layer.jobs import JobRunner, Outcome
from service.service_layer.unit_of_work import UnitOfWorkFactory, unit_of_work_factory

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POLICY = JobPolicy(max_attempts=3, backoff_seconds=2.0, backoff_max_seconds=600.0, lease_seconds=30.0)


# -- the pure life cycle --------------------------------------------------------------------------
def _job() -> Job:
    return Job(1, JobKind.INBOX_COPY, "7", JobStatus.TODO, 0, T0)


def test_retry_backs_off_by_the_one_rule_then_gives_up() -> None:
    job = _job()
    job.retry_later(T0, "HTTP 503", POLICY)
    assert job.status is JobStatus.TODO and job.attempts == 1 and job.run_after == T0 + timedelta(seconds=2)
    job.retry_later(T0, "HTTP 503", POLICY)
    assert job.attempts == 2 and job.run_after == T0 + timedelta(seconds=4)
    job.retry_later(T0, "HTTP 503", POLICY)
    assert job.status is JobStatus.FAILED and job.attempts == 3
    assert job.last_error == "given up after 3 attempts: HTTP 503"
    with pytest.raises(IllegalJobTransition):
        job.succeed(T0)


def test_succeed_fail_reschedule_and_describe() -> None:
    job = _job()
    job.succeed(T0, "abc")
    assert (job.status, job.external_id, job.attempts) == (JobStatus.SUCCEEDED, "abc", 1)
    assert job.describe() == "inbox_copy: succeeded; attempts 1; Altinn 3 id abc"
    poll = _job()
    poll.reschedule(T0, 300)
    assert poll.status is JobStatus.TODO and poll.run_after == T0 + timedelta(seconds=300)
    bad = _job()
    bad.fail(T0, "CORR-1003 Message body must be markdown")
    assert bad.status is JobStatus.FAILED and "CORR-1003" in bad.describe()
    with pytest.raises(IllegalJobTransition):
        bad.reschedule(T0, 1)


def test_cancel_is_final_and_says_why() -> None:
    job = Job(2, JobKind.NOTIFICATION, "41", JobStatus.TODO, 0, T0)
    job.cancel(T0, "no reminder: the letter is Read")
    assert (job.status, job.attempts, job.last_error) == (
        JobStatus.CANCELLED,
        0,
        "no reminder: the letter is Read",
    )
    with pytest.raises(IllegalJobTransition):
        job.succeed(T0)


# -- the runner on SQLite -------------------------------------------------------------------------
@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


BACKENDS = [b for b in os.environ.get("INNBYGGERPOST_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnitOfWorkFactory]:
    if request.param == "postgresql":  # the claim's FOR UPDATE SKIP LOCKED and ON CONFLICT there too
        base = request.getfixturevalue("postgres_url")
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS jobs_test"))
            c.execute(text("CREATE DATABASE jobs_test"))
        admin.dispose()
        engine = make_engine(base.rsplit("/", 1)[0] + "/jobs_test")
    else:
        engine = make_engine(f"sqlite:///{tmp_path}/jobs.db")
    orm.Base.metadata.create_all(engine)
    with engine.begin() as c:
        owner = c.execute(
            insert(orm.ServiceOwner).returning(orm.ServiceOwner.id),
            {
                "system_user_code": "DEMO",
                "name": "Demo",
                "organisation_number": "910646192",
                "created_at": T0,
            },
        ).scalar_one()
        c.execute(
            insert(orm.OwnerService),
            [
                {"owner_id": owner, "service_code": "4503", "service_edition": 1, "requires_confirmation": False,
                 "altinn3_resource_id": "res-1"},
                {"owner_id": owner, "service_code": "4503", "service_edition": 9, "requires_confirmation": False,
                 "altinn3_resource_id": None},
            ],
        )  # fmt: skip
        for i, edition in ((1, 1), (2, 1), (3, 9)):
            rid = c.execute(
                insert(orm.Receipt).returning(orm.Receipt.id),
                {"owner_id": owner, "system_user_code": "DEMO", "external_shipment_reference": f"r{i}",
                 "status_code": "OK", "text": "", "history": "", "last_changed": T0, "references": []},
            ).scalar_one()  # fmt: skip
            c.execute(
                insert(orm.Correspondence),
                {"id": i, "receipt_id": rid, "owner_id": owner, "system_user_code": "DEMO",
                 "external_shipment_reference": f"r{i}", "service_code": "4503", "service_edition": edition,
                 "reportee": "01018010018", "language_code": "1044", "message_title": f"Brev {i}",
                 "message_summary": None, "message_body": "<p>x</p>", "contract_fields": {},
                 "altinn_status": "Created", "notification_sent": False, "created_at": T0},
            )  # fmt: skip
            c.execute(
                insert(orm.CorrespondenceStatusChange),
                {"correspondence_id": i, "status": "Created", "status_date": T0},
            )
    yield unit_of_work_factory(engine)
    engine.dispose()


@dataclass
class FakeInbox:
    published: list[AltinnLetter] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)
    statuses: dict[str, CopyStatus] = field(default_factory=dict)

    def publish(self, letter: AltinnLetter) -> PublishedCopy:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.published.append(letter)
        return PublishedCopy(f"a3-{letter.reference}", "Published")

    def status(self, correspondence_id: str) -> CopyStatus:
        return self.statuses[correspondence_id]


def _runner(db: UnitOfWorkFactory, inbox: FakeInbox, clock: Clock, worker: str = "w1") -> JobRunner:
    handlers = [CopyHandler(inbox, POLICY, poll_seconds=60), StatusHandler(inbox, POLICY, poll_seconds=60)]
    return JobRunner(db, handlers, POLICY, worker, clock)  # type: ignore[arg-type]


def _enqueue(db: UnitOfWorkFactory, *ids: int) -> None:
    with db() as uow:
        uow.jobs.add([copy_job(i, T0) for i in ids], T0)
        uow.jobs.add([copy_job(ids[0], T0)], T0)  # the same work twice: one job
        uow.commit()


def _jobs(db: UnitOfWorkFactory) -> list[Any]:
    with db() as uow:
        return list(uow.session.execute(select(*orm.Job.__table__.c).order_by(orm.Job.id)).all())


def test_copy_published_then_status_polled_until_confirmed(db: UnitOfWorkFactory) -> None:
    inbox, clock = FakeInbox(), Clock()
    runner = _runner(db, inbox, clock)
    _enqueue(db, 1)
    assert runner.run_once(10) == 1
    [copy, status] = _jobs(db)
    assert (copy.kind, copy.status, copy.external_id, copy.claim_token) == (
        "inbox_copy",
        "succeeded",
        "a3-r1",
        None,
    )
    assert (status.kind, status.reference, status.external_id) == ("inbox_status", "1", "a3-r1")
    assert inbox.published[0].resource_id == "res-1" and inbox.published[0].title == "Brev 1"
    assert runner.run_once(10) == 0  # the status job is not due yet
    read_at = T0 + timedelta(seconds=30)
    inbox.statuses["a3-r1"] = CopyStatus("a3-r1", "Read", (("Published", T0), ("Read", read_at)))
    clock.now = T0 + timedelta(seconds=61)
    assert runner.run_once(10) == 1
    with db() as uow:
        assert uow.jobs.status_changes(1) == [("Created", T0), ("Read", read_at)]
        corr = uow.session.get(orm.Correspondence, 1)
        assert corr is not None and corr.altinn_status == "Read"
    assert _jobs(db)[1].status == "succeeded"  # Read and no confirmation asked: final


def test_temporary_failures_retried_with_backoff_and_refusal_fails(db: UnitOfWorkFactory) -> None:
    inbox, clock = FakeInbox(fail_with=[InboxUnavailable("HTTP 503")]), Clock()
    runner = _runner(db, inbox, clock)
    _enqueue(db, 1, 3)  # letter 3's service has no resource: failed with the mapping named
    runner.run_once(10)
    j1, j3 = _jobs(db)
    assert j1.status == "todo" and j1.attempts == 1 and j1.last_error == "HTTP 503"
    assert j1.run_after.replace(tzinfo=UTC) == T0 + timedelta(seconds=2)
    assert j3.status == "failed" and "--resource 4503:9=<resourceId>" in j3.last_error
    clock.now = T0 + timedelta(seconds=2)
    inbox.fail_with.append(
        InboxRefused("Altinn 3 upload: HTTP 400: CORR-1003 - Message body must be markdown")
    )
    runner.run_once(10)
    assert _jobs(db)[0].status == "failed" and "CORR-1003" in _jobs(db)[0].last_error
    assert inbox.published == []


def test_a_taken_over_claim_writes_nothing(db: UnitOfWorkFactory) -> None:
    inbox, clock = FakeInbox(), Clock()
    slow, fast = _runner(db, inbox, clock, "w-slow"), _runner(db, inbox, clock, "w-fast")
    _enqueue(db, 2)
    [claimed] = slow.claim(10)
    assert fast.claim(10) == []  # leased: nobody else gets it
    clock.now = T0 + timedelta(seconds=31)  # the lease lapsed (no renewal): another worker takes it
    [again] = fast.claim(10)
    assert again.token != claimed.token
    fast.record([fast.run(again)])
    counts = slow.record([(claimed, Outcome.retry("late answer"))])
    assert counts["lost_claim"] == 1
    [job, _status] = _jobs(db)
    assert job.status == "succeeded" and job.last_error is None and len(inbox.published) == 1


def test_renewal_keeps_the_lease_and_a_dead_workers_jobs_are_released(db: UnitOfWorkFactory) -> None:
    inbox, clock = FakeInbox(), Clock()
    a, b = _runner(db, inbox, clock, "w-a"), _runner(db, inbox, clock, "w-b")
    _enqueue(db, 1)
    [claimed] = a.claim(10)
    clock.now = T0 + timedelta(seconds=20)
    assert a.keep_alive({claimed.token}, stale_seconds=5) == (1, 0)
    clock.now = T0 + timedelta(seconds=40)  # past the first lease, within the renewed one
    assert b.claim(10) == []
    with db() as uow:  # w-a's heartbeat is old, w-b's fresh: w-b releases w-a's job
        uow.monitoring.beat("w-a", T0, 0)
        uow.monitoring.beat("w-b", clock.now, 0)
        uow.commit()
    assert b.keep_alive(set(), stale_seconds=5) == (0, 1)
    assert [c.job.id for c in b.claim(10)] == [claimed.job.id]


def test_an_event_wakes_the_status_job(db: UnitOfWorkFactory) -> None:
    from service.service_layer.altinn_copy import wake

    with db() as uow:
        uow.jobs.add([NewJob(JobKind.INBOX_STATUS, "1", T0 + timedelta(hours=1), external_id="a3-x")], T0)
        uow.commit()
    assert wake(db, ["a3-x", "unknown"], T0) == 1
    with db() as uow:
        assert uow.session.execute(text("SELECT run_after FROM jobs")).scalar_one() is not None
        [job] = uow.jobs.for_references([JobKind.INBOX_STATUS], ["1"])
    assert job.run_after == T0


def test_fallback_copies_are_enqueued_once_and_their_local_notifications_skipped(
    db: UnitOfWorkFactory,
) -> None:
    from service.service_layer.altinn_copy import enqueue_fallback_copies

    with db() as uow:
        c = uow.session.connection()
        rid = c.execute(
            select(orm.Receipt.id).where(orm.Receipt.external_shipment_reference == "r2")
        ).scalar_one()
        c.execute(
            insert(orm.Forwarding),
            {"receipt_id": rid, "correspondence_id": 2, "owner_id": 1, "system_user_code": "DEMO",
             "external_shipment_reference": "r2", "service_code": "4503", "service_edition": 1,
             "reportee": "01018010018", "sdp_setting": "ForwardOnly", "backup_altinn": True, "options": {},
             "message_id": "m-2", "conversation_id": "c-2", "status": "Delivery_EndUser_Failed",
             "created_at": T0, "last_changed": T0, "job_state": "done", "attempts": 1},
        )  # fmt: skip
        c.execute(
            insert(orm.NotificationRow),
            {"correspondence_id": 2, "notification_index": 0, "endpoint_index": 0, "transport_type": "Email",
             "language_code": "1044", "text_tokens": [], "message_id": "n-2", "state": "pending",
             "status_text": "", "attempts": 0, "created_at": T0},
        )  # fmt: skip
        uow.commit()
    with db() as uow:
        nid = uow.session.scalar(
            select(orm.NotificationRow.id).where(orm.NotificationRow.message_id == "n-2")
        )
        uow.jobs.add([NewJob(JobKind.NOTIFICATION, str(nid), T0)], T0)
        uow.commit()
    assert enqueue_fallback_copies(db, T0 + timedelta(seconds=5), window_seconds=3600) == 1
    assert enqueue_fallback_copies(db, T0 + timedelta(seconds=6), window_seconds=3600) == 0  # once
    copy, send = sorted(_jobs(db), key=lambda j: j.kind)
    assert (copy.kind, copy.reference, copy.status) == ("inbox_copy", "2", "todo")
    assert (send.kind, send.status) == ("notification", "cancelled")  # Altinn 3 sends it: not ours
    with db() as uow:
        state = uow.session.execute(text("SELECT state, status_text FROM notifications")).one()
    assert state[0] == "skipped" and "Altinn 3" in state[1]
