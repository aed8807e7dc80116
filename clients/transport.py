"""Shared HTTP plumbing for every outbound SOAP call: timeouts, bounded retries with backoff.

zeep has no retries of its own. Retries here are at the call level (``call_with_retries``), so a
retry resends the whole SOAP request; callers only retry operations that are idempotent on the
other side (KRR look-ups; vendor sends carry a message id the vendor de-duplicates on).
"""

from __future__ import annotations

import logging
import random
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import requests
from zeep.transports import Transport

from service.domain.forwarding import JITTER_MAX, JITTER_MIN, backoff_delay

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_transport(connect_timeout: float, read_timeout: float, pool_size: int = 16) -> Transport:
    """A zeep transport on one requests Session; ``pool_size`` keep-alive connections per host (at
    least the number of threads calling at once, or the extra connections are closed after use)."""
    session = requests.Session()
    session.headers["User-Agent"] = "innbyggerpost"
    if not urllib.request.getproxies():
        # No proxy in the environment: skip requests' per-call environment and .netrc look-ups
        # (a tenth of a delivery worker's CPU per send). With a proxy configured they stay.
        session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4, pool_maxsize=max(16, pool_size), max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return Transport(
        session=session, timeout=connect_timeout, operation_timeout=(connect_timeout, read_timeout)
    )


def retry_delay(attempt: int, backoff: float) -> float:
    """The wait after the ``attempt``-th failed try of an outbound call: the one retry rule
    (``domain.forwarding.backoff_delay``) with jitter, so that callers that failed together retry apart."""
    return backoff_delay(attempt, backoff) * random.uniform(JITTER_MIN, JITTER_MAX)


def call_with_retries(
    fn: Callable[[], T],
    *,
    attempts: int,
    backoff: float,
    retry_on: tuple[type[BaseException], ...],
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; on one of ``retry_on`` wait ``backoff_delay`` (the domain's rule) with jitter and try again.

    After ``attempts`` tries the last exception propagates.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except retry_on as exc:
            if attempt >= attempts:
                log.warning("%s failed after %d attempts: %s", what, attempt, exc)
                raise
            delay = retry_delay(attempt, backoff)
            log.info("%s failed (attempt %d/%d): %s; retrying in %.2fs", what, attempt, attempts, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")
