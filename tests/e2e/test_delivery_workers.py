"""Delivery workers as real processes: a worker killed mid-delivery, and two workers sharing a database.

docs/specification.md §2.4: at least once from our side, exactly once as the citizen (the vendor simulator) sees it;
several workers against one database, no job done twice, none lost.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

FINAL = ("Delivered_EndUser", "Delivery_EndUser_Failed")


def _stop_all_workers(stack: Stack) -> None:
    for p in list(stack.workers):
        stack.stop_worker(p)


def _final(stack: Stack, reference: str) -> str | None:
    with stack.engine.connect() as c:
        from sqlalchemy import text

        return c.execute(
            text("SELECT status FROM forwardings WHERE external_shipment_reference=:r"), {"r": reference}
        ).scalar()


def test_worker_killed_mid_delivery_delivers_exactly_once(stack: Stack) -> None:
    _stop_all_workers(stack)
    reference = a.ref("kill")
    # 09098810088 is a Digipost person whose vendor answers after 2 s: time to kill the worker mid-call.
    r = a.insert(stack.basic_url, reference, a.letter(a.SLOW, a.sdp("ForwardOnly", backup=True)))
    assert r.ReceiptStatusCode == "OK"

    first = stack.start_worker()
    wait_until(
        lambda: stack.count(
            "SELECT count(*) FROM forwardings WHERE external_shipment_reference=:r AND claimed_by IS NOT NULL",
            r=reference,
        ),
        20,
        "the worker to claim the job",
    )
    time.sleep(0.7)  # the worker is now waiting for the vendor's answer
    stack.stop_worker(first, kill=True)  # SIGKILL: no clean-up, the claim stays until its lease runs out
    assert stack.count(
        "SELECT count(*) FROM forwardings WHERE external_shipment_reference=:r AND job_state='pending'",
        r=reference,
    ), "the killed worker must not have recorded the send"

    stack.start_worker()
    assert wait_until(
        lambda: _final(stack, reference) in FINAL and _final(stack, reference), 40, "delivery"
    ) == ("Delivered_EndUser")
    vendor = stack.sim_stats()["postbox"]["vendors"]["984661185"]
    mid = stack.message_id(reference)
    assert vendor["delivered"][mid] == 1  # the citizen got one letter, whether or not we sent it again
    assert a.sdp_history(stack.basic_url, reference) == ["Sent_Meldingsformidler", "Delivered_EndUser"]


def test_two_workers_share_the_queue_without_doing_a_job_twice(stack: Stack) -> None:
    _stop_all_workers(stack)
    references = [a.ref("pair") for _ in range(40)]
    persons = [a.DIGIPOST, a.EBOKS]
    with ThreadPoolExecutor(8) as pool:
        receipts = list(
            pool.map(
                lambda i: a.insert(
                    stack.basic_url,
                    references[i],
                    a.letter(persons[i % 2], a.sdp("ForwardOnly", backup=True)),
                ),
                range(len(references)),
            )
        )
    assert {r.ReceiptStatusCode for r in receipts} == {"OK"}
    before = stack.sim_stats()["postbox"]["vendors"]
    sends_before = sum(v["sends"] for v in before.values())

    pair = [stack.start_worker(), stack.start_worker()]
    wait_until(
        lambda: all(_final(stack, ref) == "Delivered_EndUser" for ref in references),
        60,
        "all letters delivered",
    )
    after = stack.sim_stats()["postbox"]["vendors"]
    assert sum(v["sends"] for v in after.values()) - sends_before == len(references)  # no job sent twice
    delivered = {**after["984661185"]["delivered"], **after["922020175"]["delivered"]}
    assert all(delivered[stack.message_id(ref)] == 1 for ref in references)
    _stop_all_workers(stack)  # SIGTERM: each worker writes its final job count
    ids = [f"{socket.gethostname()}:{p.pid}" for p in pair]
    done = stack.count(
        "SELECT coalesce(sum(jobs_done), 0) FROM worker_heartbeats WHERE worker_id IN (:a, :b)",
        a=ids[0],
        b=ids[1],
    )
    assert done == len(references)  # the two workers together sent each letter once
