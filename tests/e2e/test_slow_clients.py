"""Slow clients (issue 14): connections that declare a 1 MB body and trickle it no longer hold the
request threads for as long as they like. Before: 80 such connections got every SOAP caller the busy
fault for 43 s; now each is cut off with a fault when its body deadline passes, and the service
answers again. Real sockets against a real gunicorn; no sleeps (the trickle is paced by ``select``)."""

from __future__ import annotations

import select
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support import altinn as a
from tests.support.harness import BASIC_PATH, Stack, wait_until

BODY_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def impatient(stack_with: Any) -> Stack:
    return stack_with(
        WEB_WORKERS="1",
        WEB_THREADS="4",
        REQUEST_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        REQUEST_BODY_MIN_RATE=str(10 * 1000 * 1000),  # the declared 1 MB adds 0.1 s
        SOCKET_TIMEOUT_SECONDS="1",
        MONITORING_TOKEN="monitoring-secret",
    )


def _trickle(port: int, answers: list[bytes], give_up_after: float = 30.0) -> None:
    """Declare a 1 MB body, then send 100 bytes every 0.5 s (each send within the 1 s socket
    timeout) until the server answers or ``give_up_after`` passes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        head = (
            f"POST {BASIC_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n"
            "SOAPAction: \"\"\r\nContent-Length: 1000000\r\n\r\n<?xml version='1.0'?>"
        )
        sock.sendall(head.encode())
        deadline = time.monotonic() + give_up_after
        received = b""
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.5)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
                if b"</s:Envelope>" in received or b"Envelope>" in received[-40:]:
                    break
                continue
            try:
                sock.sendall(b" " * 100)
            except OSError:
                break
        answers.append(received)
    finally:
        sock.close()


def test_trickled_bodies_are_cut_off_at_their_deadline_and_the_service_answers(impatient: Stack) -> None:
    s = impatient
    answers: list[bytes] = []
    # As many as the process admits (WEB_THREADS): before, they held every SOAP slot until done.
    threads = [threading.Thread(target=_trickle, args=(s.web_port, answers)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 4
    for answer in answers:  # every slow connection got a fault naming the deadline, not a hang
        assert b"did not arrive within 2.1 seconds" in answer, answer[:600]
    assert wait_until(lambda: a.v3(s.basic_url) is not None, 20, "a status query after the slow clients")


def test_health_and_metrics_need_the_monitoring_token_when_one_is_set(impatient: Stack) -> None:
    for path in ("/health", "/metrics"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(impatient.url + path, timeout=10)
        assert refused.value.code == 401
        req = urllib.request.Request(
            impatient.url + path, headers={"Authorization": "Bearer monitoring-secret"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:  # /health may be 503 (no delivery worker in this stack)
            status = e.code
        assert status in (200, 503)
