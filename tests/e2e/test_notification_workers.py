"""Notification jobs with real worker processes: a worker killed mid-send.

The notification's send is a ``notification`` job of the one job mechanism (service_layer/jobs.py):
claimed with a lease and a fencing token, released when the claiming worker's heartbeat stops. The
SMS gateway simulator holds the first request (``hold``) and then fails it, so the kill lands while
the send is in flight and nothing was accepted; the message must then be sent by another worker,
once, long before the killed worker's lease would have lapsed.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from sqlalchemy import text

from tests.e2e.test_notifications_e2e import caught, endpoint, notification_states, notifications, send
from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

LEASE = 90  # the killed worker's lease (longer than a send may take): the take-over must not wait for it
HOLD = 60  # the gateway hangs this long on the first send (longer than the take-over)


def _worker_id(p: Any) -> str:
    return f"{socket.gethostname()}:{p.pid}"


def _job(stack: Stack, reference: str) -> dict[str, Any]:
    with stack.engine.connect() as c:
        row = c.execute(
            text(
                "SELECT j.status, j.attempts, j.claimed_by, j.claim_token FROM jobs j"
                " JOIN notifications n ON j.kind = 'notification' AND j.reference = CAST(n.id AS VARCHAR(100))"
                " JOIN correspondences c ON c.id = n.correspondence_id"
                " WHERE c.external_shipment_reference = :r"
            ),
            {"r": reference},
        ).one()
    return dict(row._mapping)


def _heartbeat(stack: Stack, p: Any) -> None:
    wait_until(
        lambda: stack.count("SELECT count(*) FROM worker_heartbeats WHERE worker_id=:w", w=_worker_id(p)),
        60,
        "the worker's first heartbeat",
    )


def test_worker_killed_mid_send_of_a_notification_is_released_and_sent_once(stack: Stack) -> None:
    for p in list(stack.workers):
        stack.stop_worker(p)
    env = {
        "INNBYGGERPOST_CALL_ATTEMPTS": "1",
        "INNBYGGERPOST_READ_TIMEOUT": str(HOLD + 20),
        "INNBYGGERPOST_CLAIM_LEASE_SECONDS": str(LEASE),
    }
    holder = stack.start_worker(**env)
    _heartbeat(stack, holder)
    before = stack.outbox()["sms_gateway"]
    stack.sim_post("/_sim/sms", fail=1, status=503, hold=HOLD)
    try:
        reference, title = send(stack, a.NO_POSTBOX, notifications(endpoint("SMS", "+4797778888")))
        wait_until(
            lambda: stack.outbox()["sms_gateway"]["held"] - before["held"] == 1,
            30,
            "the send to reach the gateway and hang",
        )
        held = _job(stack, reference)
        assert held["status"] == "todo" and held["claimed_by"] == _worker_id(holder) and held["claim_token"]
        stack.stop_worker(holder, kill=True)  # SIGKILL: its claim and lease stay in the row
        killed_at = time.monotonic()
        assert notification_states(stack, reference) == ["pending"]  # the holder recorded nothing
        assert _job(stack, reference)["claim_token"] == held["claim_token"]

        other = stack.start_worker(**env)
        (sms,) = wait_until(lambda: caught(stack, title)[1], 45, "another worker to send the message")
        assert time.monotonic() - killed_at < LEASE  # released on the stale heartbeat, not the lease
        assert sms["to"] == "+4797778888"
        wait_until(lambda: notification_states(stack, reference) == ["sent"], 20, "the send recorded")
        done = _job(stack, reference)
        assert done["status"] == "succeeded" and done["claimed_by"] is None and done["attempts"] == 1
        gw = stack.outbox()["sms_gateway"]
        assert gw["requests"] - before["requests"] == 2  # the held send and the one that went through
        assert len(caught(stack, title)[1]) == 1  # the citizen got it once
        assert other.poll() is None
    finally:
        stack.sim_post("/_sim/sms", fail=0)
        for p in list(
            stack.workers
        ):  # this test's settings are not the suite's: the next test starts its own
            stack.stop_worker(p)
