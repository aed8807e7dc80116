"""Delivery (service/service_layer/delivery.py) with a fake unit of work and a fake vendor: the
``deliver`` job kind's handler (one load and one locked write per batch, send outcomes, the one retry
rule, the receipt wait as a rescheduled job, its expiry) and the receipts and transport statuses.
The claim, lease, fencing and release of the jobs are the one mechanism's (tests/unit/test_jobs.py,
tests/unit/test_delivery_jobs.py on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from service.domain.forwarding import JobState
from service.domain.jobs import Job, JobKind, JobPolicy, JobStatus
from service.domain.model import CorrespondenceStatus, SdpStatus
from service.domain.ports import VendorReceipt
from service.service_layer.delivery import DeliverHandler, Delivery
from tests.support.fakes import FakeDatabase, FakeJobs, FakeVendor

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VENDOR = "984661185"
POLICY = JobPolicy(max_attempts=2, backoff_seconds=1, lease_seconds=30)
DEADLINE = 100.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


Env = tuple[FakeDatabase, FakeVendor, Clock]


@pytest.fixture
def env() -> Env:
    return FakeDatabase(), FakeVendor(), Clock()


def delivery(db: FakeDatabase, vendor: FakeVendor, clock: Clock, worker: str = "w1") -> Delivery:
    return Delivery(db.uow, vendor, worker, clock=clock)  # type: ignore[arg-type]


def job(fid: int, run_after: datetime = T0) -> Job:
    return Job(fid, JobKind.DELIVER, f"msg-{fid}", JobStatus.TODO, 0, run_after)


def run_jobs(db: FakeDatabase, vendor: FakeVendor, clock: Clock, jobs: list[Job]) -> Counter[str]:
    """One claimed batch through the handler as the runner drives it: prepare, run, record."""
    handler = DeliverHandler(vendor, POLICY, DEADLINE, uow_factory=db.uow)  # type: ignore[arg-type]
    uow = db.uow()
    work = handler.prepare(uow, jobs)
    assert all(w is None or w.attachments == () for w in work.values())  # the batch: no bytes
    results = [(j, handler.run(j, work[j.id])) for j in jobs]
    handler.record_batch(uow, results, clock.now)
    return Counter(str(j.status) for j in jobs)


def statuses(jobs: FakeJobs, fid: int) -> list[str]:
    return [str(c.status) for c in jobs.rows[fid].history]


def test_a_batch_is_loaded_once_sent_and_recorded_and_awaits_its_receipts(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in range(1, 6):
        store.add_job(i, now=T0)
    jobs = [job(i) for i in range(1, 6)]
    assert run_jobs(db, vendor, clock, jobs) == {"todo": 5}
    assert store.letter_loads == 1  # one load for the whole batch
    # issue 17: the claimed batch holds no attachment bytes; each send loads its own letter's
    assert store.attachment_loads == 5
    assert all(m.primary.data == store.rows[1].letter.attachments[0].data for m in vendor.sent)
    assert len(vendor.sent) == 5 and vendor.sent[0].message_id == "msg-1"
    for i, j in enumerate(jobs, start=1):
        row = store.rows[i]
        assert row.state.job_state == JobState.AWAITING_RECEIPT and row.state.attempts == 1
        assert statuses(store, i) == ["Sent_Meldingsformidler"]
        assert j.run_after == T0 + timedelta(seconds=DEADLINE)  # the receipt wait: rescheduled


def test_the_message_carries_the_letter_and_krr_contact(env: Env) -> None:
    db, vendor, clock = env
    db.jobs.add_job(1, now=T0)
    run_jobs(db, vendor, clock, [job(1)])
    m = vendor.sent[0]
    assert (m.sender_orgnr, m.personidentifikator, m.vendor_orgnr, m.title) == (
        "910646192",
        "01018010018",
        VENDOR,
        "Letter 1",
    )
    assert m.primary.filename == "brev.pdf" and m.primary.mime_type == "application/pdf"


def test_unavailable_vendor_retries_by_the_one_rule_then_gives_up_with_backup_altinn(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, backup_altinn=True)
    vendor.unavailable.add("msg-1")
    j = job(1)
    assert run_jobs(db, vendor, clock, [j]) == {"todo": 1}
    row = store.rows[1]
    assert row.state.job_state == JobState.PENDING and j.run_after == T0 + timedelta(seconds=1)
    assert row.state.last_error and "timed out" in row.state.last_error
    assert j.last_error == row.state.last_error and j.attempts == 1
    clock.advance(1)
    assert run_jobs(db, vendor, clock, [j]) == {"failed": 1}
    assert statuses(store, 1) == ["Delivery_EndUser_Failed"]
    assert "after 2 attempts" in row.history[-1].text
    assert "BackupAltinn" in row.history[-1].text and store.altinn_copies == [1]


def test_an_unexpected_adapter_error_is_retried_not_lost(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    vendor.raise_on.add("msg-1")
    j = job(1)
    assert run_jobs(db, vendor, clock, [j]) == {"todo": 1}
    assert "unexpected error" in (store.rows[1].state.last_error or "")


def test_rejection_fails_at_once_and_a_letter_in_altinn_gets_no_second_copy(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, backup_altinn=True, altinn_status=CorrespondenceStatus.CREATED)
    vendor.reject.add("msg-1")
    j = job(1)
    assert run_jobs(db, vendor, clock, [j]) == {"failed": 1}
    assert statuses(store, 1) == ["Delivery_EndUser_Failed"] and store.altinn_copies == []
    assert j.last_error and "rejected" in j.last_error


def test_a_letter_that_cannot_be_built_fails_without_a_send(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, primary="missing.pdf", backup_altinn=False)
    assert run_jobs(db, vendor, clock, [job(1)]) == {"failed": 1}
    assert vendor.sent == []
    assert "message could not be built" in store.rows[1].history[-1].text
    assert "missing.pdf" in store.rows[1].history[-1].text


def test_a_job_without_its_forwarding_fails_saying_so(env: Env) -> None:
    db, vendor, clock = env
    j = job(9)
    assert run_jobs(db, vendor, clock, [j]) == {"failed": 1}
    assert j.last_error == "no forwarding with message id msg-9" and vendor.sent == []


def receipt(rid: str, mid: str, kind: str) -> VendorReceipt:
    return VendorReceipt(rid, mid, "c", kind, T0, vendor_orgnr=VENDOR)


def test_receipts_are_applied_once_acknowledged_and_finish_the_jobs(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in (1, 2, 3):
        store.add_job(i, now=T0)
    d = delivery(db, vendor, clock)
    run_jobs(db, vendor, clock, [job(1), job(2), job(3)])
    vendor.receipts[VENDOR] = [
        receipt("r1", "msg-1", "levering"),
        receipt("r2", "msg-2", "feil"),
        receipt("r1", "msg-1", "levering"),  # the same receipt twice in one pull
        receipt("r3", "msg-3", "aapning"),  # noted, not final: its job waits on
        receipt("r9", "unknown", "levering"),
    ]
    assert d.poll_receipts() == 5
    assert statuses(store, 1) == ["Sent_Meldingsformidler", "Delivered_EndUser"]
    assert statuses(store, 2) == ["Sent_Meldingsformidler", "Delivery_EndUser_Failed"]
    assert {rid for _, rid in vendor.acknowledged} == {"r1", "r2", "r3", "r9"}
    assert sorted(store.finished) == [("deliver", "msg-1"), ("deliver", "msg-2")]
    # a receipt pulled again (its ack was lost) is recognised and not applied again
    assert d.apply_receipts([receipt("r1", "msg-1", "levering")]) == 0
    assert statuses(store, 1) == ["Sent_Meldingsformidler", "Delivered_EndUser"]


def test_a_receipt_before_the_send_is_recorded_wins_and_the_job_is_settled(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    d = delivery(db, vendor, clock)
    handler = DeliverHandler(vendor, POLICY, DEADLINE)
    j = job(1)
    work = handler.prepare(db.uow(), [j])
    outcome = handler.run(j, work[j.id])
    d.apply_receipts([receipt("r1", "msg-1", "levering")])  # the vendor was faster than our record
    handler.record_batch(db.uow(), [(j, outcome)], clock.now)
    assert j.status is JobStatus.SUCCEEDED  # held by the worker: the handler settles it
    assert statuses(store, 1) == ["Sent_Meldingsformidler", "Delivered_EndUser"]
    assert store.rows[1].state.job_state == JobState.DONE


def test_a_mottak_before_the_send_is_recorded_keeps_the_receipt_wait(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    d = delivery(db, vendor, clock)
    handler = DeliverHandler(vendor, POLICY, DEADLINE)
    j = job(1)
    outcome = handler.run(j, handler.prepare(db.uow(), [j])[j.id])
    d.apply_receipts([receipt("r1", "msg-1", "mottak")])
    handler.record_batch(db.uow(), [(j, outcome)], clock.now)
    assert j.status is JobStatus.TODO and j.run_after == T0 + timedelta(seconds=DEADLINE)
    assert statuses(store, 1) == ["Sent_Meldingsformidler"] and store.finished == []


def test_without_a_receipt_by_the_deadline_the_job_expires_the_forwarding(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, backup_altinn=False)
    j = job(1)
    run_jobs(db, vendor, clock, [j])
    assert j.status is JobStatus.TODO and j.run_after == T0 + timedelta(seconds=DEADLINE)
    clock.advance(DEADLINE)  # the runner claims it again at its run_after
    assert run_jobs(db, vendor, clock, [j]) == {"failed": 1}
    assert len(vendor.sent) == 1  # never sent twice
    assert statuses(store, 1)[-1] == "Delivery_EndUser_Failed"
    assert "no receipt" in store.rows[1].history[-1].text and "no receipt" in (j.last_error or "")


def test_a_job_run_after_its_forwarding_became_final_just_succeeds(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, status=SdpStatus.DELIVERED)
    assert run_jobs(db, vendor, clock, [job(1)]) == {"succeeded": 1}
    assert vendor.sent == [] and statuses(store, 1) == []


def test_letters_reported_feilet_fail_and_the_cursor_walks_all_awaiting(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in (1, 2, 3):
        store.add_job(i, now=T0)
    d = delivery(db, vendor, clock)
    run_jobs(db, vendor, clock, [job(1), job(2), job(3)])
    vendor.feilet["msg-2"] = "the vendor's access point is gone (simulated)"
    assert d.check_transport(60, limit=2) == 0  # not old enough yet: nothing asked
    assert vendor.asked == []
    clock.now = T0 + timedelta(seconds=61)
    assert d.check_transport(60, limit=2) == 1  # the first page: msg-1, msg-2
    assert vendor.asked == ["msg-1", "msg-2"]
    assert statuses(store, 2) == ["Sent_Meldingsformidler", "Delivery_EndUser_Failed"]
    assert "FEILET" in store.rows[2].history[-1].text and "gone" in store.rows[2].history[-1].text
    assert store.finished == [("deliver", "msg-2")]
    assert d.check_transport(60, limit=2) == 0  # the next page: msg-3 (msg-2 is done)
    assert vendor.asked[2:] == ["msg-3"]
    assert d.check_transport(60, limit=2) == 0  # from the start again
    assert vendor.asked[3:] == ["msg-1", "msg-3"]
    assert statuses(store, 1) == statuses(store, 3) == ["Sent_Meldingsformidler"]


@pytest.mark.parametrize("level", [3, 4])
def test_the_message_carries_the_service_editions_security_level(level: int) -> None:
    """DPI ``sikkerhetsnivaa`` (SPEC-transports §3, 3|4) is the level registered for the letter's
    service edition (``owner add --security-level``), the same level its inbox copy needs."""
    import dataclasses

    from service.domain.forwarding import build_message

    letter = FakeDatabase().jobs.add_job(1, now=datetime(2026, 12, 4, tzinfo=UTC)).letter
    assert build_message(letter).sikkerhetsnivaa == 3  # the default level
    assert build_message(dataclasses.replace(letter, security_level=level)).sikkerhetsnivaa == level
