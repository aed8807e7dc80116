"""The repositories and the unit of work on a real database, SQLite and PostgreSQL (issue 13).

The use-case tests run on the fakes (tests/support/fakes.py); these run the same behaviours through
the SQLAlchemy repositories, on a database migrated to head: commit and rollback, a duplicate
``ExternalShipmentReference`` (:class:`~service.domain.ports.DuplicateKey`, never SQLAlchemy's
error), a forwarding's deliver job (stored with it, claimed with a fencing token, finished by a
receipt), heartbeats and stale claims, notification claims, the nonce cache, owners, status
look-ups, the inbox view and receipts by key.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from service.adapters.db import make_engine
from service.adapters.migrate import upgrade
from service.domain import forwarding_decision, insert
from service.domain import notifications as dn
from service.domain.forwarding import JobState
from service.domain.insert import InsertPlan
from service.domain.jobs import Job, JobKind, JobPolicy, JobStatus
from service.domain.model import SdpStatus
from service.domain.ports import DuplicateKey
from service.domain.status import StatusFilter
from service.service_layer.group_commit import GroupCommit
from service.service_layer.ports import UnitOfWorkPortFactory
from service.service_layer.unit_of_work import UnitOfWork, unit_of_work_factory
from tests.conftest import BACKENDS
from tests.support.fakes import insert_request, person_with_postbox
from tests.support.harness import fresh_database

DIGIPOST, NO_POSTBOX = "01018010018", "03038210008"
PDF = b"%PDF-1.4 repository test"
LEASE = 30.0


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "postgresql":
        url = fresh_database(request.getfixturevalue("postgres_url"), "repository_tests")
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('repositories')) / 'r.db'}"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def uow_factory(engine: Engine) -> Iterator[UnitOfWorkPortFactory]:
    factory = unit_of_work_factory(engine)
    with factory() as uow:
        assert isinstance(uow, UnitOfWork)
        owner = uow.owners.add_owner("REPO", "Repository test owner", "910646192", _now())
        uow.owners.add_user(owner.id, "repo-user")
        uow.owners.add_service(owner.id, "4503", 1).security_level = 4  # the DPI sikkerhetsnivaa below
        uow.commit()
    yield factory


def _owner_id(uow_factory: UnitOfWorkPortFactory) -> int:
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        owner = uow.owners.owner_by_code("REPO")
        assert owner is not None
        return owner.id


def _plan(owner_id: int, reference: str, reportee: str = DIGIPOST, sdp: bool = True) -> InsertPlan:
    req = insert_request(reference, reportee, "CopyAltinn" if sdp else None, "REPO", PDF)
    person = person_with_postbox(reportee)
    decision = forwarding_decision.decide("person", req.sdp_options, None, person if sdp else None)
    return insert.plan(req, owner_id, decision, person if sdp else None, _now())


def _ref() -> str:
    return f"repo-{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------ unit of work


def test_commit_makes_a_shipment_visible_to_the_next_transaction(uow_factory: UnitOfWorkPortFactory) -> None:
    plan = _plan(_owner_id(uow_factory), _ref())
    with uow_factory() as uow:
        stored = uow.correspondences.add(plan)
        uow.commit()
    assert stored.receipt_id > 0 and stored.status_code == "OK"
    with uow_factory().for_reading() as uow:
        found = uow.correspondences.receipt(*plan.key)
        assert found is not None and found.receipt_id == stored.receipt_id
        assert [s.receipt_id for s in found.sub_receipts] == [s.receipt_id for s in stored.sub_receipts]
        assert uow.correspondences.receipts([plan.key, ("REPO", "absent")]) == {plan.key: found}


def test_leaving_without_commit_or_rolling_back_keeps_nothing(uow_factory: UnitOfWorkPortFactory) -> None:
    owner_id = _owner_id(uow_factory)
    left, rolled = _plan(owner_id, _ref()), _plan(owner_id, _ref())
    with uow_factory() as uow:
        uow.correspondences.add(left)
    with uow_factory() as uow:
        uow.correspondences.add(rolled)
        uow.rollback()
        uow.commit()  # nothing left to commit
    with uow_factory().for_reading() as uow:
        assert uow.correspondences.receipts([left.key, rolled.key]) == {}


def test_a_duplicate_reference_is_our_duplicate_key(uow_factory: UnitOfWorkPortFactory) -> None:
    owner_id = _owner_id(uow_factory)
    reference = _ref()
    with uow_factory() as uow:
        first = uow.correspondences.add(_plan(owner_id, reference))
        uow.commit()
    with uow_factory() as uow, pytest.raises(DuplicateKey):
        uow.correspondences.add(_plan(owner_id, reference))
        uow.commit()
    # The group commit answers a repeat with the stored receipt, storing nothing twice.
    again = GroupCommit(uow_factory).store_now(_plan(owner_id, reference))
    assert again.receipt_id == first.receipt_id


def test_a_conflict_at_commit_is_our_duplicate_key(
    engine: Engine, uow_factory: UnitOfWorkPortFactory
) -> None:
    """Two transactions add the same system user (written at commit); the later commit meets the
    unique key."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite write transactions never overlap (BEGIN IMMEDIATE behind one write lock)")
    owner_id = _owner_id(uow_factory)
    name = f"dup-{uuid.uuid4().hex[:12]}"
    first, second = uow_factory(), uow_factory()
    with first:
        assert isinstance(first, UnitOfWork)
        first.owners.add_user(owner_id, name)
        with second:
            assert isinstance(second, UnitOfWork)
            second.owners.add_user(owner_id, name)
            second.commit()
        with pytest.raises(DuplicateKey):
            first.commit()


def test_a_nonce_is_remembered_in_one_statement_a_replay_is_refused_an_expired_one_reused(
    engine: Engine, uow_factory: UnitOfWorkPortFactory
) -> None:
    now = _now()
    key = uuid.uuid4().hex
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with uow_factory() as uow:
            assert isinstance(uow, UnitOfWork)
            assert uow.nonces.remember(key, now + timedelta(minutes=5), now)
            uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [s.split()[0].upper() for s in statements if not s.startswith("BEGIN")] == ["INSERT"], (
        statements  # no read before it
    )
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert not uow.nonces.remember(key, now + timedelta(minutes=5), now), "a replay"
    later = now + timedelta(minutes=10)  # the stored entry has expired: the nonce may come again
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert uow.nonces.remember(key, later + timedelta(minutes=5), later)
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert not uow.nonces.remember(key, later + timedelta(minutes=5), later), "a replay again"


def test_a_nonce_remembered_by_two_transactions_at_once_is_a_replay_for_the_later(
    engine: Engine, uow_factory: UnitOfWorkPortFactory
) -> None:
    """The second waits for the first's uncommitted row and then finds the nonce (never both True)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite write transactions never overlap (BEGIN IMMEDIATE behind one write lock)")
    now = _now()
    key = uuid.uuid4().hex
    second_answer: list[bool] = []
    with uow_factory() as first:
        assert isinstance(first, UnitOfWork)
        assert first.nonces.remember(key, now + timedelta(minutes=5), now)

        def second() -> None:
            with uow_factory() as uow:
                assert isinstance(uow, UnitOfWork)
                second_answer.append(uow.nonces.remember(key, now + timedelta(minutes=5), now))
                uow.commit()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the second transaction waits for the first's row"
        first.commit()
    thread.join(10)
    assert second_answer == [False]


# ------------------------------------------------------------------------------ delivery jobs


def _job(uow_factory: UnitOfWorkPortFactory) -> tuple[InsertPlan, int]:
    plan = _plan(_owner_id(uow_factory), _ref())
    assert plan.forwarding is not None and plan.forwarding.forward
    with uow_factory() as uow:
        uow.correspondences.add(plan)
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        (details,) = uow.status.by_references("REPO", [plan.external_shipment_reference])[1]
        return plan, details.sdp_id


DELIVER = [JobKind.DELIVER]


def _release_all(uow_factory: UnitOfWorkPortFactory, now: datetime) -> None:
    """Other tests' jobs out of the way: claimed far beyond any test's clock."""
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        uow.jobs.claim("parked", DELIVER, now + timedelta(days=1), 10 * 86400.0, 10_000)
        uow.commit()


def test_a_forwarding_is_stored_with_its_deliver_job_claimed_with_a_fencing_token(
    uow_factory: UnitOfWorkPortFactory,
) -> None:
    now = _now()
    _release_all(uow_factory, now)
    plan, fid = _job(uow_factory)
    assert plan.forwarding is not None
    mid = plan.forwarding.message_id
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        first = uow.jobs.claim("w1", DELIVER, now + timedelta(seconds=1), LEASE, 10)
        uow.commit()
    assert [(j.kind, j.reference) for j in first.jobs] == [(JobKind.DELIVER, mid)] and first.token
    (job_id,) = [j.id for j in first.jobs]
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert uow.jobs.claim("w2", DELIVER, now + timedelta(seconds=2), LEASE, 10).jobs == [], "claimed"
        (letter,) = uow.forwardings.letters([mid])
        assert letter.forwarding.id == fid and letter.forwarding.message_id == mid
        assert letter.reportee == DIGIPOST and letter.attachments[0].data == PDF
        # the delivery worker loads a batch without the bytes and each letter's at its send (issue 17)
        (bare,) = uow.forwardings.letters([mid], attachments=False)
        assert bare.attachments == () and bare.reportee == DIGIPOST
        assert letter.forwarding.correspondence_id is not None
        assert uow.forwardings.attachments(letter.forwarding.correspondence_id) == letter.attachments
        assert letter.security_level == 4, "the service edition's level, joined from its registration"
        assert letter.forwarding.job_state == JobState.PENDING
        uow.commit()
    # The lease runs out; another worker takes the job with a new token.
    later = now + timedelta(seconds=LEASE + 5)
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        second = uow.jobs.claim("w2", DELIVER, later, LEASE, 10)
        uow.commit()
    assert [j.id for j in second.jobs] == [job_id] and second.token != first.token
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert uow.jobs.lock_held({job_id: first.token}) == {}, "the first worker is fenced off"
        assert uow.jobs.renew("w1", [first.token], later + timedelta(seconds=LEASE)) == 0
        assert list(uow.jobs.lock_held({job_id: second.token})) == [job_id]
        state = uow.forwardings.lock_by_message_ids([mid])[mid]
        state.status = SdpStatus.SENT
        state.changed = True
        uow.forwardings.save([state])
        # held by w2: a receipt's finish leaves it to its handler
        assert uow.jobs.finish(JobKind.DELIVER, [mid], later) == 0
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        job = uow.jobs.lock_held({job_id: second.token})[job_id]
        job.reschedule(later, 3600.0)  # the receipt wait
        uow.jobs.save([job], later, release_claim=True)
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert uow.jobs.lock_held({job_id: second.token}) == {}, "released with the outcome"
        assert uow.jobs.claim("w3", DELIVER, later + timedelta(seconds=60), LEASE, 10).jobs == []
        assert uow.forwardings.awaiting_receipt(later + timedelta(seconds=1), 0, 10_000)[-1] == (fid, mid)
        assert uow.jobs.finish(JobKind.DELIVER, [mid], later) == 1  # a receipt made it final
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        (done,) = uow.jobs.for_references(DELIVER, [mid])
        assert done.status is JobStatus.SUCCEEDED


def test_stale_workers_claims_are_released_and_receipts_seen_once(uow_factory: UnitOfWorkPortFactory) -> None:
    now = _now() + timedelta(days=3)
    _release_all(uow_factory, now)
    plan, _fid = _job(uow_factory)
    assert plan.forwarding is not None
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        uow.monitoring.beat("gone", now - timedelta(minutes=5), 0)
        uow.monitoring.beat("alive", now, 3)
        claim = uow.jobs.claim("gone", DELIVER, now, 3600.0, 10)
        assert [j.reference for j in claim.jobs] == [plan.forwarding.message_id]
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert {b.worker_id for b in uow.monitoring.heartbeats_since(now - timedelta(seconds=1))} >= {"alive"}
        assert uow.jobs.release_stale(now - timedelta(seconds=30), "alive") >= 1
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        again = uow.jobs.claim("alive", DELIVER, now + timedelta(seconds=1), LEASE, 10)
        assert [j.reference for j in again.jobs] == [plan.forwarding.message_id]
        assert uow.forwardings.first_sightings("984661185", ["r1", "r2"], now) == {"r1", "r2"}
        uow.commit()
    with uow_factory() as uow:
        assert uow.forwardings.first_sightings("984661185", ["r2", "r3"], now) == {"r3"}
        uow.commit()


def test_deliver_jobs_run_by_the_job_runner_fenced_retried_and_finished_by_a_receipt(
    uow_factory: UnitOfWorkPortFactory,
) -> None:
    """The deliver kind end to end on the real repositories: sent and rescheduled to the receipt
    deadline; the vendor unavailable: retried by the one rule; a worker whose lease lapsed records
    nothing (fenced), its successor sends; a levering receipt finishes the job."""
    from service.domain.ports import VendorReceipt
    from service.service_layer.delivery import DeliverHandler, Delivery
    from service.service_layer.jobs import JobRunner
    from tests.support.fakes import FakeVendor

    now = _now() + timedelta(days=6)
    _release_all(uow_factory, now)
    (ok, ok_fid), (down, _down_fid) = _job(uow_factory), _job(uow_factory)
    assert ok.forwarding is not None and down.forwarding is not None
    ok_mid, down_mid = ok.forwarding.message_id, down.forwarding.message_id
    vendor = FakeVendor()
    vendor.unavailable.add(down_mid)
    policy = JobPolicy(max_attempts=3, backoff_seconds=10, lease_seconds=LEASE)
    clock = [now]

    def runner(worker: str) -> JobRunner:
        handler = DeliverHandler(vendor, policy, receipt_deadline_seconds=3600)
        return JobRunner(uow_factory, [handler], policy, worker, lambda: clock[0])  # type: ignore[arg-type]

    def jobs() -> dict[str, Job]:
        with uow_factory() as uow:
            assert isinstance(uow, UnitOfWork)
            return {j.reference: j for j in uow.jobs.for_references(DELIVER, [ok_mid, down_mid])}

    w1 = runner("w1")
    claimed = w1.claim(10)
    assert sorted(c.job.reference for c in claimed) == sorted([ok_mid, down_mid])
    counts = w1.record([w1.run(c) for c in claimed])
    assert counts == {"deliver:todo": 2}
    after = jobs()
    assert after[ok_mid].run_after == now + timedelta(seconds=3600) and after[ok_mid].attempts == 0
    assert after[down_mid].run_after == now + timedelta(seconds=10) and after[down_mid].attempts == 1
    assert sorted(m.message_id for m in vendor.sent) == sorted([ok_mid, down_mid])  # each tried once
    with uow_factory() as uow:
        (letter,) = uow.forwardings.letters([down_mid])
        assert letter.forwarding.attempts == 1 and "timed out" in (letter.forwarding.last_error or "")
    # The retry: w1 claims it, its lease lapses mid-send, w2 takes it over; w1's outcome is fenced off.
    vendor.unavailable.clear()
    clock[0] = now + timedelta(seconds=10)
    (stale,) = w1.claim(10)
    clock[0] += timedelta(seconds=LEASE + 1)
    w2 = runner("w2")
    (fresh,) = w2.claim(10)
    assert fresh.job.reference == down_mid and fresh.token != stale.token
    assert w1.record([w1.run(stale)]) == {"lost_claim": 1}
    assert w2.record([w2.run(fresh)]) == {"deliver:todo": 1}
    assert a_status(uow_factory, down_mid) == SdpStatus.SENT
    assert [m.message_id for m in vendor.sent].count(down_mid) == 3  # unavailable, w1's fenced, w2's
    # The receipt makes the forwarding final: its job, waiting for the receipt, is finished.
    Delivery(uow_factory, vendor, "w2", clock=lambda: clock[0]).apply_receipts(
        [VendorReceipt(uuid.uuid4().hex, ok_mid, "c", "levering", clock[0], vendor_orgnr="984661185")]
    )
    assert jobs()[ok_mid].status is JobStatus.SUCCEEDED and jobs()[down_mid].status is JobStatus.TODO
    assert a_status(uow_factory, ok_mid) == SdpStatus.DELIVERED and ok_fid > 0


def a_status(uow_factory: UnitOfWorkPortFactory, message_id: str) -> SdpStatus:
    with uow_factory() as uow:
        return uow.forwardings.lock_by_message_ids([message_id])[message_id].status


# ------------------------------------------------------------------------------ the other repositories


def test_owners_status_inbox_notifications_and_receipts(
    engine: Engine, uow_factory: UnitOfWorkPortFactory
) -> None:
    owner_id = _owner_id(uow_factory)
    plan = _plan(owner_id, _ref(), reportee=NO_POSTBOX, sdp=False)  # Altinn inbox only
    with uow_factory() as uow:
        uow.correspondences.add(plan)
        uow.commit()
    with uow_factory().for_reading() as uow:
        assert uow.correspondences.receipt(*plan.key) is not None
        assert uow.correspondences.receipt("REPO", "absent") is None
    with uow_factory().for_reading() as uow:
        assert isinstance(uow, UnitOfWork)
        assert uow.owners.owns_service(owner_id, "4503", 1)
        assert not uow.owners.owns_service(owner_id, "4503", 2)
        user = uow.owners.system_user("repo-user")
        assert user is not None and ("4503", 1) in user.services
        flt = StatusFilter("4503", 1, senders_reference=plan.external_shipment_reference)
        views, limited = uow.status.correspondences(owner_id, flt, 10)
        assert len(views) == 1 and not limited
        (story,) = uow.status.shipment_stories(plan.external_shipment_reference, "REPO")
        assert story.receipt.status_code == "OK" and story.forwarding is None
        (letter,) = [
            c
            for c in uow.inbox.letters([NO_POSTBOX], _now() + timedelta(minutes=1))
            if c.reference == plan.external_shipment_reference
        ]
        assert uow.inbox.owner_names([owner_id]) == {owner_id: "Repository test owner"}
        assert not uow.notifications.exist_for(letter.letter_id)
        counts = uow.monitoring.counts()
        assert counts["receipts"].get("OK", 0) >= 1


def test_a_notification_is_stored_with_its_send_job_claimed_with_lease_and_fencing(
    uow_factory: UnitOfWorkPortFactory,
) -> None:
    owner_id = _owner_id(uow_factory)
    plan = _plan(owner_id, _ref(), reportee=NO_POSTBOX, sdp=False)
    now = _now() + timedelta(days=10)  # after every other test's rows: only this one is due
    kinds = [JobKind.NOTIFICATION]
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        uow.correspondences.add(plan)
        (view,) = uow.status.correspondences(
            owner_id, StatusFilter("4503", 1, senders_reference=plan.external_shipment_reference), 1
        )[0]
        cid = view.correspondence_id
        planned = [
            dn.Planned(0, 0, "Email", now, dn.NotificationRequest(), dn.Message(dn.Channel.EMAIL, "a@x.no")),
            dn.Planned(1, 0, "SMS", now, dn.NotificationRequest(), no_address_reason="no address"),
        ]
        assert uow.notifications.add_planned(cid, planned, "1044", now) == 2
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        sendable, final = uow.notifications.for_correspondences([cid])[cid]
        assert (sendable.state, final.state) == (
            dn.NotificationState.PENDING,
            dn.NotificationState.NO_ADDRESS,
        )
        first = uow.jobs.claim("n1", kinds, now, LEASE, 10)
        assert [j.reference for j in first.jobs] == [str(sendable.id)]  # no job for a final outcome
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert uow.jobs.claim("n2", kinds, now + timedelta(seconds=1), LEASE, 10).jobs == []
        second = uow.jobs.claim("n2", kinds, now + timedelta(seconds=LEASE + 1), LEASE, 10)
        assert [j.id for j in second.jobs] == [j.id for j in first.jobs] and second.token != first.token
        job_id = first.jobs[0].id
        assert uow.jobs.lock_held({job_id: first.token}) == {}  # fenced: the first claim is void
        assert list(uow.jobs.lock_held({job_id: second.token})) == [job_id]
        uow.commit()


def test_the_sdp_details_name_the_altinn_copy_only_when_the_letter_has_one(
    uow_factory: UnitOfWorkPortFactory,
) -> None:
    """One query for the forwardings and whether their letters have an Altinn copy (a left join):
    CopyAltinn names the copy's CorrespondenceID, ForwardOnly (no copy) names none, in the history
    by references and in the status details alike."""
    owner_id = _owner_id(uow_factory)
    copy = _plan(owner_id, _ref())  # CopyAltinn to the Digipost person
    req = insert_request(_ref(), DIGIPOST, "ForwardOnly", "REPO", PDF)
    person = person_with_postbox(DIGIPOST)
    forward_only = insert.plan(
        req, owner_id, forwarding_decision.decide("person", req.sdp_options, None, person), person, _now()
    )
    assert forward_only.correspondence is not None and forward_only.correspondence.altinn_status is None
    with uow_factory() as uow:
        uow.correspondences.add_many([copy, forward_only])
        uow.commit()
    refs = [copy.external_shipment_reference, forward_only.external_shipment_reference]
    with uow_factory().for_reading() as uow:
        assert isinstance(uow, UnitOfWork)
        corrs, sdp = uow.status.by_references("REPO", refs)
        by_ref = {d.reference: d for d in sdp}
        (copy_view,) = [c for c in corrs if c.senders_reference == copy.external_shipment_reference]
        assert by_ref[refs[0]].correspondence_id == copy_view.correspondence_id
        assert by_ref[refs[1]].correspondence_id is None and len(corrs) == 1
        for ref in refs:
            details, _ = uow.status.forwardings(owner_id, StatusFilter("4503", 1, senders_reference=ref), 5)
            assert [d.correspondence_id for d in details] == [by_ref[ref].correspondence_id]
