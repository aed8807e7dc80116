"""Delivery workers as real processes: a worker killed mid-send, leases of slow sends, two workers
sharing a database.

docs/specification.md §2.4: at least once from our side, exactly once as the citizen (the vendor
simulator) sees it; several workers against one database, no job sent twice while its claim is
held, none lost; a dead worker's jobs taken over within seconds (its heartbeat stops), not after its
lease. The vendor simulator counts every send per message id when it arrives (``arrivals``) and when
it is answered (``answers``), so a test can see that a send was in flight.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

DIGIPOST = "984661185"


def _stop_all_workers(stack: Stack) -> None:
    for p in list(stack.workers):
        stack.stop_worker(p)


def _row(stack: Stack, reference: str) -> dict[str, Any]:
    """The forwarding's status and its ``deliver`` job's status and claim (lease holder, token)."""
    from sqlalchemy import text

    with stack.engine.connect() as c:
        row = c.execute(
            text(
                "SELECT f.status, j.status AS job_status, j.claimed_by, j.claim_token FROM forwardings f"
                " JOIN jobs j ON j.kind = 'deliver' AND j.reference = f.message_id"
                " WHERE f.external_shipment_reference=:r"
            ),
            {"r": reference},
        ).one()
    return dict(row._mapping)


def _vendor(stack: Stack, orgnr: str = DIGIPOST) -> dict[str, Any]:
    return dict(stack.sim_stats()["dpi"]["vendors"][orgnr])


def _worker_id(p: Any) -> str:
    return f"{socket.gethostname()}:{p.pid}"


def _insert(stack: Stack, references: list[str], persons: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        receipts = list(
            pool.map(
                lambda i: a.insert(
                    stack.basic_url, references[i], a.letter(persons[i % len(persons)], a.sdp("ForwardOnly"))
                ),
                range(len(references)),
            )
        )
    assert {r.ReceiptStatusCode for r in receipts} == {"OK"}


def test_worker_killed_mid_send_is_taken_over_within_seconds_and_resent_once(stack: Stack) -> None:
    """The vendor holds the first send of this letter for 12 s. Two workers run; the one that sends it
    (the holder) is killed while the send is in flight (the vendor has it, has not answered). The
    other sees the holder's heartbeat stop, takes the job over well within the lease, and resends; the
    vendor answers that send and de-duplicates the late one: the citizen gets the letter once."""
    _stop_all_workers(stack)
    slow_sends = {  # one attempt, a read timeout longer than the vendor's 12 s; lease longer still
        "INNBYGGERPOST_CALL_ATTEMPTS": "1",
        "INNBYGGERPOST_READ_TIMEOUT": "20",
        "INNBYGGERPOST_CLAIM_LEASE_SECONDS": "30",
    }
    pair = [stack.start_worker(**slow_sends), stack.start_worker(**slow_sends)]
    for p in pair:  # both running before the letter exists: no start-up time inside the 12 s window
        wait_until(
            lambda p=p: stack.count(
                "SELECT count(*) FROM worker_heartbeats WHERE worker_id=:w", w=_worker_id(p)
            ),
            60,
            "both workers' first heartbeat",
        )
    reference = a.ref("kill")
    before = _vendor(stack)
    r = a.insert(stack.basic_url, reference, a.letter(a.FIRST_SEND_HANGS, a.sdp("ForwardOnly", backup=True)))
    assert r.ReceiptStatusCode == "OK"
    mid = stack.message_id(reference)

    wait_until(lambda: _vendor(stack)["arrivals"].get(mid) == 1, 30, "the send to arrive at the vendor")
    held = _row(stack, reference)
    holder = next(p for p in pair if _worker_id(p) == held["claimed_by"])
    assert held["claim_token"]
    stack.stop_worker(holder, kill=True)  # SIGKILL: no clean-up, its claim and lease stay in the row
    killed_at = time.monotonic()

    # The kill landed mid-send: the vendor had the send and had not answered it when the holder died.
    at_kill = _vendor(stack)
    assert at_kill["arrivals"].get(mid) == 1 and at_kill["answers"].get(mid, 0) == 0
    assert mid not in at_kill["delivered"]
    at_kill_row = _row(stack, reference)  # the holder recorded nothing; its claim stays in the job
    assert at_kill_row["status"] == "Unknown" and at_kill_row["job_status"] == "todo"
    assert at_kill_row["claimed_by"] == held["claimed_by"]

    # The other worker takes the job over once the holder's heartbeat is stale (2 s here), far sooner
    # than the holder's 30 s lease, and resends it.
    wait_until(lambda: _vendor(stack)["arrivals"].get(mid) == 2, 12, "the other worker to resend the letter")
    assert time.monotonic() - killed_at < 30
    # Final: the letter, and its job (finished by the receipt, or settled by the worker that held it
    # when the receipt came first), its claim released.
    final = wait_until(
        lambda: (
            (row := _row(stack, reference))["status"] in ("Delivered_EndUser", "Delivery_EndUser_Failed")
            and row["job_status"] != "todo"
            and row
        ),
        20,
        "the letter and its job final",
    )
    assert final["status"] == "Delivered_EndUser" and final["job_status"] == "succeeded"
    assert final["claimed_by"] is None
    # The killed worker's send, still held by the vendor, is answered at last: as a duplicate.
    after = wait_until(
        lambda: (v := _vendor(stack))["answers"].get(mid) == 2 and v, 20, "the killed worker's send answered"
    )
    assert after["delivered"][mid] == 1  # the citizen got one letter
    assert after["duplicates"] - before["duplicates"] == 1
    assert a.sdp_history(stack.basic_url, reference) == ["Sent_Meldingsformidler", "Delivered_EndUser"]


def test_leases_of_slow_sends_are_renewed_so_no_job_is_sent_twice(stack: Stack) -> None:
    """Each worker claims 8 jobs and sends 2 at a time to a vendor answering in 2 s: the last of its
    batch waits 6 s, beyond the 4 s lease. The leases are renewed while the jobs are in flight, so the
    other worker never takes them: the vendor sees exactly one send per letter."""
    _stop_all_workers(stack)
    env = {
        "INNBYGGERPOST_CALL_ATTEMPTS": "1",
        "INNBYGGERPOST_CONNECT_TIMEOUT": "0.5",
        "INNBYGGERPOST_READ_TIMEOUT": "3",
        "INNBYGGERPOST_CLAIM_LEASE_SECONDS": "4",
        "INNBYGGERPOST_WORKER_CONCURRENCY": "2",
        "INNBYGGERPOST_WORKER_CLAIM_BATCH": "8",
    }
    references = [a.ref("lease") for _ in range(16)]
    _insert(stack, references, [a.SLOW])
    mids = [stack.message_id(ref) for ref in references]
    before = _vendor(stack)
    pair = [stack.start_worker(**env), stack.start_worker(**env)]
    wait_until(
        lambda: all(_row(stack, ref)["status"] == "Delivered_EndUser" for ref in references),
        90,
        "all letters delivered",
        interval=0.3,
    )
    after = _vendor(stack)
    arrivals = {m: after["arrivals"].get(m, 0) - before["arrivals"].get(m, 0) for m in mids}
    assert arrivals == dict.fromkeys(mids, 1)  # one send per letter, none twice
    assert after["duplicates"] == before["duplicates"]
    assert all(after["delivered"][m] == 1 for m in mids)
    _stop_all_workers(stack)
    done = stack.count(
        "SELECT coalesce(sum(jobs_done), 0) FROM worker_heartbeats WHERE worker_id IN (:a, :b)",
        a=_worker_id(pair[0]),
        b=_worker_id(pair[1]),
    )
    assert done == len(references)


def test_two_workers_share_the_queue_without_doing_a_job_twice(stack: Stack) -> None:
    _stop_all_workers(stack)
    references = [a.ref("pair") for _ in range(40)]
    _insert(stack, references, [a.DIGIPOST, a.EBOKS])
    before = stack.sim_stats()["dpi"]["vendors"]
    sends_before = sum(v["sends"] for v in before.values())

    pair = [stack.start_worker(), stack.start_worker()]
    wait_until(
        lambda: all(_row(stack, ref)["status"] == "Delivered_EndUser" for ref in references),
        60,
        "all letters delivered",
    )
    after = stack.sim_stats()["dpi"]["vendors"]
    assert sum(v["sends"] for v in after.values()) - sends_before == len(references)  # no job sent twice
    delivered = {**after["984661185"]["delivered"], **after["922020175"]["delivered"]}
    assert all(delivered[stack.message_id(ref)] == 1 for ref in references)
    _stop_all_workers(stack)  # SIGTERM: each worker writes its final job count
    done = stack.count(
        "SELECT coalesce(sum(jobs_done), 0) FROM worker_heartbeats WHERE worker_id IN (:a, :b)",
        a=_worker_id(pair[0]),
        b=_worker_id(pair[1]),
    )
    assert done == len(references)  # the two workers together sent each letter once


def test_a_worker_refuses_to_start_when_a_send_can_outlast_its_lease(stack: Stack) -> None:
    p = stack._cli(
        "worker",
        log="worker-refused.log",
        env={"INNBYGGERPOST_CLAIM_LEASE_SECONDS": "5", "INNBYGGERPOST_READ_TIMEOUT": "10"},
    )
    assert p.wait(60) != 0
    out = (stack.workdir / "worker-refused.log").read_text()
    for name in (
        "INNBYGGERPOST_CLAIM_LEASE_SECONDS=5",
        "INNBYGGERPOST_CALL_ATTEMPTS=2",
        "INNBYGGERPOST_CONNECT_TIMEOUT=2",
        "INNBYGGERPOST_READ_TIMEOUT=10",
    ):
        assert name in out, out
