"""The repositories and the unit of work on a real database, SQLite and PostgreSQL (issue 13).

The use-case tests run on the fakes (tests/support/fakes.py); these run the same behaviours through
the SQLAlchemy repositories, on a database migrated to head: commit and rollback, a duplicate
``ExternalShipmentReference`` (:class:`~service.domain.ports.DuplicateKey`, never SQLAlchemy's
error), a delivery claim and its fencing token, heartbeats and stale claims, notification claims,
the nonce cache, owners, status look-ups, the inbox view and receipts by key.
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
from service.domain.jobs import JobKind
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


def _release_all(uow_factory: UnitOfWorkPortFactory, now: datetime) -> None:
    """Other tests' jobs out of the way: claimed far beyond any test's clock."""
    with uow_factory() as uow:
        uow.forwardings.claim("parked", now + timedelta(days=1), 10 * 86400.0, 10_000)
        uow.commit()


def test_a_claim_and_its_fencing_token(uow_factory: UnitOfWorkPortFactory) -> None:
    now = _now()
    _release_all(uow_factory, now)
    plan, fid = _job(uow_factory)
    with uow_factory() as uow:
        first = uow.forwardings.claim("w1", now + timedelta(seconds=1), LEASE, 10)
        uow.commit()
    assert first.ids == [fid] and first.token
    with uow_factory() as uow:
        assert uow.forwardings.claim("w2", now + timedelta(seconds=2), LEASE, 10).ids == [], "claimed"
        (letter,) = uow.forwardings.letters(first.ids)
        assert letter.reportee == DIGIPOST and letter.attachments[0].data == PDF
        # the delivery worker loads a batch without the bytes and each letter's at its send (issue 17)
        (bare,) = uow.forwardings.letters(first.ids, attachments=False)
        assert bare.attachments == () and bare.reportee == DIGIPOST
        assert letter.forwarding.correspondence_id is not None
        assert uow.forwardings.attachments(letter.forwarding.correspondence_id) == letter.attachments
        assert letter.security_level == 4, "the service edition's level, joined from its registration"
        assert letter.forwarding.job_state == JobState.PENDING
        uow.commit()
    # The lease runs out; another worker takes the job with a new token.
    later = now + timedelta(seconds=LEASE + 5)
    with uow_factory() as uow:
        second = uow.forwardings.claim("w2", later, LEASE, 10)
        uow.commit()
    assert second.ids == [fid] and second.token != first.token
    with uow_factory() as uow:
        assert uow.forwardings.lock_held({fid: first.token}) == {}, "the first worker is fenced off"
        assert uow.forwardings.renew("w1", [first.token], later + timedelta(seconds=LEASE)) == 0
        held = uow.forwardings.lock_held({fid: second.token})
        assert list(held) == [fid]
        assert uow.forwardings.renew("w2", [second.token], later + timedelta(seconds=LEASE)) == 1
        state = held[fid]
        state.job_state = JobState.DONE
        state.changed = True
        uow.forwardings.save([state], release_claim=True)
        uow.commit()
    with uow_factory() as uow:
        assert uow.forwardings.lock_held({fid: second.token}) == {}, "released with the outcome"
        assert uow.forwardings.claim("w3", later + timedelta(days=2), LEASE, 10).ids == []


def test_stale_workers_claims_are_released_and_receipts_seen_once(uow_factory: UnitOfWorkPortFactory) -> None:
    now = _now() + timedelta(days=3)
    _release_all(uow_factory, now)
    _, fid = _job(uow_factory)
    with uow_factory() as uow:
        uow.monitoring.beat("gone", now - timedelta(minutes=5), 0)
        uow.monitoring.beat("alive", now, 3)
        assert uow.forwardings.claim("gone", now, 3600.0, 10).ids == [fid]
        uow.commit()
    with uow_factory() as uow:
        assert isinstance(uow, UnitOfWork)
        assert {b.worker_id for b in uow.monitoring.heartbeats_since(now - timedelta(seconds=1))} >= {"alive"}
        assert uow.forwardings.release_stale(now - timedelta(seconds=30), "alive") >= 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.forwardings.claim("alive", now + timedelta(seconds=1), LEASE, 10).ids == [fid]
        assert uow.forwardings.first_sightings("984661185", ["r1", "r2"], now) == {"r1", "r2"}
        uow.commit()
    with uow_factory() as uow:
        assert uow.forwardings.first_sightings("984661185", ["r2", "r3"], now) == {"r3"}
        uow.commit()


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
