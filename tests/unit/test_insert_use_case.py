"""InsertCorrespondenceV2 as a use case, with a fake unit of work and a fake KRR (no database)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.domain import model as dm
from service.domain.ports import RegistryUnavailable
from service.service_layer.correspondence import NotAuthorised, insert_correspondence
from service.service_layer.group_commit import GroupCommit
from service.service_layer.owners import Principal
from tests.support.fakes import FakeDatabase, FakeRegistry, insert_request, person_with_postbox
from tests.support.harness import wait_until

PRINCIPAL = Principal(1, "DEMO", "910646192", "10001")
DIGIPOST, ORG = "01018010018", "910646192"
PDF = b"%PDF-1.4 test"


def _request(ref: str, reportee: str = DIGIPOST, sdp: bool = True) -> dm.InsertCorrespondence:
    return insert_request(ref, reportee, "ForwardOnly" if sdp else None, pdf=PDF)


@pytest.fixture
def db() -> FakeDatabase:
    d = FakeDatabase()
    d.owners.services[("4503", 1)] = 1
    return d


def test_forwarded_letter_is_stored_once_and_a_repeat_returns_its_receipt(db: FakeDatabase) -> None:
    krr = FakeRegistry(persons={DIGIPOST: person_with_postbox(DIGIPOST)})
    first = insert_correspondence(db.uow, krr, PRINCIPAL, _request("r1"))
    assert first.status_code == "OK" and first.receipt_id > 0
    assert first.sub_receipts[0].text.startswith("Forwarding queued to Digipost")
    (plan,) = db.correspondences.plans
    assert plan.forwarding is not None and plan.forwarding.forward and plan.correspondence is not None
    assert plan.correspondence.altinn_status is None  # forward only: no Altinn copy
    again = insert_correspondence(db.uow, krr, PRINCIPAL, _request("r1"))
    assert again == first and len(db.correspondences.plans) == 1 and len(krr.calls) == 1


def test_krr_failure_stores_nothing(db: FakeDatabase) -> None:
    with pytest.raises(RegistryUnavailable):
        insert_correspondence(db.uow, FakeRegistry(fail=True), PRINCIPAL, _request("r2"))
    assert db.commits == 0 and not db.correspondences.plans


def test_validation_failed_stores_nothing_and_names_the_field(db: FakeDatabase) -> None:
    req = _request("r3", reportee="12345678901")
    receipt = insert_correspondence(db.uow, FakeRegistry(), PRINCIPAL, req)
    assert receipt.status_code == "ValidationFailed" and receipt.receipt_id == 0
    assert "Reportee" in receipt.text and db.commits == 0


def test_organisation_reportee_never_asks_krr(db: FakeDatabase) -> None:
    krr = FakeRegistry(fail=True)
    receipt = insert_correspondence(db.uow, krr, PRINCIPAL, _request("r4", reportee=ORG))
    assert receipt.status_code == "OK" and krr.calls == []
    assert "persons only" in receipt.sub_receipts[0].text


def test_another_owners_service_is_refused(db: FakeDatabase) -> None:
    other = Principal(2, "DEMO", "910646192", "10002")
    with pytest.raises(NotAuthorised) as exc:
        insert_correspondence(db.uow, FakeRegistry(), other, _request("r5", sdp=False))
    assert exc.value.error_id == 5 and db.commits == 0


def test_group_commit_stores_concurrent_letters_each_once_with_its_own_receipt(db: FakeDatabase) -> None:
    """The writer takes what is queued: letters that arrive while it writes share one commit."""
    gate, entered = threading.Event(), threading.Event()
    original = db.correspondences.add

    def slow_first_add(plan):  # type: ignore[no-untyped-def]
        entered.set()
        gate.wait(5)
        return original(plan)

    db.correspondences.add = slow_first_add  # type: ignore[method-assign]
    writer = GroupCommit(db.uow, batch_max=100)
    krr = FakeRegistry()
    refs = [f"g{i}" for i in range(12)] + ["g0", "g1"]  # two repeats
    with ThreadPoolExecutor(16) as pool:
        futures = [
            pool.submit(insert_correspondence, db.uow, krr, PRINCIPAL, _request(r, sdp=False), writer)
            for r in refs[:1]
        ]
        assert entered.wait(5)  # the writer is inside the first letter's transaction
        futures += [
            pool.submit(insert_correspondence, db.uow, krr, PRINCIPAL, _request(r, sdp=False), writer)
            for r in refs[1:]
        ]
        wait_until(lambda: writer._queue.qsize() == len(refs) - 1, 5, "letters queued behind the first")
        gate.set()
        receipts = [f.result(5) for f in futures]
    assert len(db.correspondences.stored) == 12
    assert db.commits == 2  # the first letter alone, then the 13 queued ones together
    ids = [r.receipt_id for r in receipts]
    assert len(set(ids[:12])) == 12
    assert receipts[12] == receipts[0] and receipts[13] == receipts[1]  # repeats got the originals


def test_a_failed_batch_fails_its_requests_and_stores_nothing(db: FakeDatabase) -> None:
    def broken(plan):  # type: ignore[no-untyped-def]
        raise OSError("database or disk is full")

    db.correspondences.add = broken  # type: ignore[method-assign]
    writer = GroupCommit(db.uow)
    with pytest.raises(OSError, match="disk is full"):
        insert_correspondence(db.uow, FakeRegistry(), PRINCIPAL, _request("f1", sdp=False), writer)
    assert db.commits == 0 and not db.correspondences.stored


def test_no_repeat_check_before_the_insert_the_writer_answers_a_repeat(db: FakeDatabase) -> None:
    """An owner whose services are known: no unit of work before the group commit (no per-letter
    SELECT on the database); a repeat is found by the writer in its transaction (KRR is asked
    again for it) and answered with the stored receipt, nothing stored twice."""
    known = Principal(1, "DEMO", "910646192", "10001", frozenset({("4503", 1)}))
    krr = FakeRegistry(persons={DIGIPOST: person_with_postbox(DIGIPOST)})
    writer = GroupCommit(db.uow)
    opened: list[str] = []

    def counted_uow():  # type: ignore[no-untyped-def]
        opened.append(threading.current_thread().name)
        return db.uow()

    first = insert_correspondence(counted_uow, krr, known, _request("w1"), writer)
    assert opened == []  # the use case opened no unit of work: only the writer (its own factory)
    transactions = db.commits
    again = insert_correspondence(counted_uow, krr, known, _request("w1"), writer)
    assert again == first and len(db.correspondences.stored) == 1 and opened == []
    assert len(krr.calls) == 2  # the repeat went through KRR to the writer, not to a read first
    assert db.commits == transactions  # the repeat's batch stored nothing


def test_a_repeat_gets_its_stored_receipt_while_krr_is_down(db: FakeDatabase) -> None:
    known = Principal(1, "DEMO", "910646192", "10001", frozenset({("4503", 1)}))
    writer = GroupCommit(db.uow)
    krr = FakeRegistry(persons={DIGIPOST: person_with_postbox(DIGIPOST)})
    first = insert_correspondence(db.uow, krr, known, _request("k1"), writer)
    krr.fail = True
    assert insert_correspondence(db.uow, krr, known, _request("k1"), writer) == first
    with pytest.raises(RegistryUnavailable):  # a new letter: nothing stored, the KRR fault
        insert_correspondence(db.uow, krr, known, _request("k2"), writer)
    assert len(db.correspondences.stored) == 1


def test_a_request_stops_waiting_at_its_deadline_and_the_writer_still_answers_the_retry(
    db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait on the writer is bounded (``STORE_TIMEOUT_SECONDS``): a stalled transaction
    times the request out (``TimeoutError``, which the guard answers with a fault); the letter
    still lands, and the retry with the same reference gets its receipt."""
    from service.service_layer import correspondence

    gate, entered = threading.Event(), threading.Event()
    original = db.correspondences.add

    def stalled(plan):  # type: ignore[no-untyped-def]
        entered.set()
        gate.wait(5)
        return original(plan)

    db.correspondences.add = stalled  # type: ignore[method-assign]
    monkeypatch.setattr(correspondence, "STORE_TIMEOUT_SECONDS", 0.05)
    writer = GroupCommit(db.uow)
    with pytest.raises(TimeoutError):
        insert_correspondence(db.uow, FakeRegistry(), PRINCIPAL, _request("t1", sdp=False), writer)
    assert entered.is_set()  # it timed out waiting on the writer's transaction, not elsewhere
    gate.set()
    wait_until(lambda: db.commits == 1, 5, "the stalled letter committed")
    retry = insert_correspondence(db.uow, FakeRegistry(), PRINCIPAL, _request("t1", sdp=False), writer)
    assert len(db.correspondences.stored) == 1 and retry.receipt_id
