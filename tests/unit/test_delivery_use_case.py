"""The Delivery use case (service/service_layer/delivery.py) with a fake unit of work and a fake vendor:
batch claims, fencing, lease renewal and release, batch records, receipts, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.forwarding import DeliveryPolicy, JobState
from service.domain.model import CorrespondenceStatus, SdpStatus
from service.domain.ports import VendorReceipt
from service.service_layer.delivery import Delivery
from tests.support.fakes import FakeDatabase, FakeJobs, FakeVendor

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VENDOR = "984661185"
POLICY = DeliveryPolicy(max_attempts=2, backoff_seconds=1, lease_seconds=30, receipt_deadline_seconds=100)


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
    return Delivery(db.uow, vendor, POLICY, worker, clock=clock)  # type: ignore[arg-type]


def statuses(jobs: FakeJobs, fid: int) -> list[str]:
    return [str(c.status) for c in jobs.rows[fid].history]


def test_a_batch_is_claimed_loaded_sent_and_recorded_in_three_transactions(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in range(1, 6):
        store.add_job(i, now=T0)
    d = delivery(db, vendor, clock)
    jobs = d.claim(10)
    assert [j.id for j in jobs] == [1, 2, 3, 4, 5] and len({j.token for j in jobs}) == 1
    assert store.letter_loads == 1  # one load for the whole batch
    # issue 17: the claimed batch holds no attachment bytes; each send loads its own letter's
    assert all(j.letter.attachments == () for j in jobs) and store.attachment_loads == 0
    counts = d.deliver(jobs)
    assert counts == {"sent": 5}
    assert store.attachment_loads == 5
    assert all(m.primary.data == store.rows[1].letter.attachments[0].data for m in vendor.sent)
    assert db.commits == 2  # the claim and the record (the load is read-only)
    assert len(vendor.sent) == 5 and vendor.sent[0].message_id == "msg-1"
    for i in range(1, 6):
        row = store.rows[i]
        assert row.state.job_state == JobState.AWAITING_RECEIPT and row.state.attempts == 1
        assert row.claim_token is None and row.claimed_by is None  # claim released with the outcome
        assert statuses(store, i) == ["Sent_Meldingsformidler"]
        assert row.state.next_attempt_at == T0 + timedelta(seconds=100)


def test_the_message_carries_the_letter_and_krr_contact(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    d = delivery(db, vendor, clock)
    d.deliver(d.claim(1))
    m = vendor.sent[0]
    assert (m.sender_orgnr, m.personidentifikator, m.vendor_orgnr, m.title) == (
        "910646192",
        "01018010018",
        VENDOR,
        "Letter 1",
    )
    assert m.primary.filename == "brev.pdf" and m.primary.mime_type == "application/pdf"


def test_claims_skip_running_jobs_claimed_jobs_and_jobs_not_due(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in range(1, 5):
        store.add_job(i, now=T0)
    store.rows[4].state.next_attempt_at = T0 + timedelta(seconds=5)
    a, b = delivery(db, vendor, clock, "a"), delivery(db, vendor, clock, "b")
    assert [j.id for j in a.claim(1)] == [1]
    assert [j.id for j in b.claim(10)] == [2, 3]  # 1 is a's, 4 is not due
    clock.advance(31)  # every lease lapsed (nobody renewed)
    assert [j.id for j in a.claim(10, running={1})] == [2, 3, 4]  # never the job a still runs


def test_an_outcome_is_dropped_when_the_claim_was_taken_over(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    a, b = delivery(db, vendor, clock, "a"), delivery(db, vendor, clock, "b")
    job = a.claim(1)[0]
    clock.advance(31)  # a's lease lapsed while it was sending
    taken = b.claim(1)[0]
    assert taken.token != job.token
    vendor.reject.add("msg-1")  # a's (stale) answer would fail the letter
    assert a.record([a.send(job)]) == {"lost_claim": 1}
    assert store.rows[1].state.status == SdpStatus.UNKNOWN and store.rows[1].claimed_by == "b"
    vendor.reject.clear()
    assert b.deliver([taken]) == {"sent": 1}
    assert statuses(store, 1) == ["Sent_Meldingsformidler"]


def test_keep_alive_renews_the_leases_of_jobs_in_flight_only(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in range(1, 4):
        store.add_job(i, now=T0)
    a = delivery(db, vendor, clock, "a")
    first, second = a.claim(1), a.claim(2)
    clock.advance(20)
    assert a.keep_alive({first[0].token}, 0, 5) == (1, 0)
    assert store.rows[1].claimed_until == clock.now + timedelta(seconds=30)
    assert store.rows[2].claimed_until == T0 + timedelta(seconds=30)
    assert store.heartbeats["a"] == clock.now
    assert second  # claimed, not renewed: lapses with its first lease


def test_jobs_of_a_worker_without_heartbeat_are_released_before_the_lease_ends(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in range(1, 3):
        store.add_job(i, now=T0)
    dead, alive = delivery(db, vendor, clock, "dead"), delivery(db, vendor, clock, "alive")
    dead.heartbeat(0)
    alive.heartbeat(0)
    assert len(dead.claim(2)) == 2
    clock.advance(3)
    assert alive.keep_alive(set(), 0, stale_seconds=5) == (0, 0)  # 3 s silent: not yet stale
    assert alive.claim(2) == []
    clock.advance(3)
    assert alive.keep_alive(set(), 0, stale_seconds=5) == (0, 2)  # 6 s silent: released
    assert [j.id for j in alive.claim(2)] == [1, 2]  # well within the 30 s lease


def test_a_live_worker_never_has_its_own_jobs_released(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    a = delivery(db, vendor, clock, "a")
    a.heartbeat(0)
    a.claim(1)
    clock.advance(60)
    assert a.keep_alive(set(), 0, stale_seconds=5)[1] == 0  # its own stale-looking beat is not counted
    assert store.rows[1].claimed_by == "a"


def test_unavailable_vendor_retries_with_backoff_then_gives_up_with_backup_altinn(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, backup_altinn=True)
    vendor.unavailable.add("msg-1")
    d = delivery(db, vendor, clock)
    assert d.deliver(d.claim(1)) == {"retry": 1}
    row = store.rows[1]
    assert row.state.job_state == JobState.PENDING and row.state.next_attempt_at == T0 + timedelta(seconds=1)
    assert row.state.last_error and "timed out" in row.state.last_error
    assert d.claim(1) == []  # not due yet
    clock.advance(1)
    assert d.deliver(d.claim(1)) == {"gave_up": 1}
    assert statuses(store, 1) == ["Delivery_EndUser_Failed"]
    assert "BackupAltinn" in row.history[-1].text and store.altinn_copies == [1]


def test_an_unexpected_adapter_error_is_retried_not_lost(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    vendor.raise_on.add("msg-1")
    d = delivery(db, vendor, clock)
    assert d.deliver(d.claim(1)) == {"retry": 1}
    assert "unexpected error" in (store.rows[1].state.last_error or "")


def test_rejection_fails_at_once_and_a_letter_in_altinn_gets_no_second_copy(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, backup_altinn=True, altinn_status=CorrespondenceStatus.CREATED)
    vendor.reject.add("msg-1")
    d = delivery(db, vendor, clock)
    assert d.deliver(d.claim(1)) == {"rejected": 1}
    assert statuses(store, 1) == ["Delivery_EndUser_Failed"] and store.altinn_copies == []


def test_a_letter_that_cannot_be_built_fails_without_a_send(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, primary="missing.pdf", backup_altinn=False)
    d = delivery(db, vendor, clock)
    assert d.deliver(d.claim(1)) == {"failed": 1}
    assert vendor.sent == []
    assert "message could not be built" in store.rows[1].history[-1].text
    assert "missing.pdf" in store.rows[1].history[-1].text


def receipt(rid: str, mid: str, kind: str) -> VendorReceipt:
    return VendorReceipt(rid, mid, "c", kind, T0, vendor_orgnr=VENDOR)


def test_receipts_are_applied_once_and_acknowledged(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in (1, 2):
        store.add_job(i, now=T0)
    d = delivery(db, vendor, clock)
    d.deliver(d.claim(2))
    vendor.receipts[VENDOR] = [
        receipt("r1", "msg-1", "levering"),
        receipt("r2", "msg-2", "feil"),
        receipt("r1", "msg-1", "levering"),  # the same receipt twice in one pull
        receipt("r9", "unknown", "levering"),
    ]
    assert d.poll_receipts() == 4
    assert statuses(store, 1) == ["Sent_Meldingsformidler", "Delivered_EndUser"]
    assert statuses(store, 2) == ["Sent_Meldingsformidler", "Delivery_EndUser_Failed"]
    assert {rid for _, rid in vendor.acknowledged} == {"r1", "r2", "r9"}
    # a receipt pulled again (its ack was lost) is recognised and not applied again
    assert d.apply_receipts([receipt("r1", "msg-1", "levering")]) == 0
    assert statuses(store, 1) == ["Sent_Meldingsformidler", "Delivered_EndUser"]


def test_a_receipt_before_the_send_is_recorded_wins_and_the_send_records_nothing(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0)
    d = delivery(db, vendor, clock)
    job = d.claim(1)[0]
    outcome = d.send(job)
    d.apply_receipts([receipt("r1", "msg-1", "levering")])  # the vendor was faster than our record
    assert d.record([outcome]) == {"sent": 1}
    assert statuses(store, 1) == ["Sent_Meldingsformidler", "Delivered_EndUser"]
    assert store.rows[1].state.job_state == JobState.DONE and store.rows[1].claimed_by is None


def test_overdue_jobs_expire_as_failed(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    store.add_job(1, now=T0, backup_altinn=False)
    d = delivery(db, vendor, clock)
    d.deliver(d.claim(1))
    assert d.expire_overdue() == 0
    clock.advance(101)
    assert d.expire_overdue() == 1
    assert statuses(store, 1)[-1] == "Delivery_EndUser_Failed"
    assert "no receipt" in store.rows[1].history[-1].text


def test_letters_reported_feilet_fail_and_the_cursor_walks_all_awaiting(env: Env) -> None:
    db, vendor, clock = env
    store = db.jobs
    for i in (1, 2, 3):
        store.add_job(i, now=T0)
    d = delivery(db, vendor, clock)
    d.deliver(d.claim(3))
    vendor.feilet["msg-2"] = "the vendor's access point is gone (simulated)"
    assert d.check_transport(60, limit=2) == 0  # not old enough yet: nothing asked
    assert vendor.asked == []
    clock.now = T0 + timedelta(seconds=61)
    assert d.check_transport(60, limit=2) == 1  # the first page: msg-1, msg-2
    assert vendor.asked == ["msg-1", "msg-2"]
    assert statuses(store, 2) == ["Sent_Meldingsformidler", "Delivery_EndUser_Failed"]
    assert "FEILET" in store.rows[2].history[-1].text and "gone" in store.rows[2].history[-1].text
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
