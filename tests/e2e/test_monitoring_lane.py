"""/health and /metrics never queue behind SOAP requests (issue 17): gunicorn's worker serves them from
threads of their own (service/entrypoints/web_worker.py), so they answer while every thread of the
SOAP pool is taken."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.support.harness import BASIC_PATH, Stack


@pytest.fixture(scope="module")
def small_pool(stack_with: Callable[..., Stack]) -> Iterator[Stack]:
    # One web process with 1 admitted SOAP request + 2 reserved threads: a pool of 3 threads.
    yield stack_with(WEB_WORKERS="1", WEB_THREADS="1", MAX_PENDING_REQUESTS="1")


def _stalled_request(url: str) -> socket.socket:
    """A client that sends half of its request headers and stops: it holds a pool thread."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"POST {BASIC_PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n".encode())
    return sock


def test_health_and_metrics_answer_while_every_soap_thread_is_taken(small_pool: Stack) -> None:
    s = small_pool
    stalled = [_stalled_request(s.url) for _ in range(3)]
    try:
        # The fault is in place: the pool's three threads are held, so a WSDL request waits in its queue.
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(s.basic_url + "?wsdl", timeout=2)
        health = requests.get(s.url + "/health", timeout=10)
        assert health.status_code in (200, 503) and "soap" in health.json()
        metrics = requests.get(s.url + "/metrics", timeout=10)
        assert metrics.status_code == 200 and "innbyggerpost_up" in metrics.text
    finally:
        for sock in stalled:
            sock.close()
    # The held threads are free again: the SOAP side answers.
    assert requests.get(s.basic_url + "?wsdl", timeout=30).status_code == 200
