"""pytest plugin: every SOAP response our service sends to the test suite must be schema-valid.

Loaded from ``tests/conftest.py``. It wraps the two HTTP stacks the tests use to talk to the service:

- ``requests.adapters.HTTPAdapter.send`` (zeep's transport, and every raw ``requests.post`` of the
  e2e tests), and
- ``suds.transport.http.HttpTransport.send`` (suds uses urllib), success replies and the HTTP 500
  fault replies alike.

A POST to one of our two endpoint paths (``.../CorrespondenceAgencyExternalBasic.svc``,
``.../CorrespondenceAgencyExternal.svc``) gets its response checked by
:func:`tests.support.schemas.envelope_errors` (SOAP 1.1/1.2 envelope structure, body element against
the inline schemas of ``wsdl/altinn/*.wsdl``, a fault's ``AltinnFault`` detail against the fault schema)
plus its Content-Type. Problems are collected and fail the test that received them (after its own
assertions ran, so a test that already failed keeps its own message). A test that deliberately
provokes a response outside the contract says so with ``@pytest.mark.schema_exempt("why")``; none
does today, because the service answers even garbage with a contract fault.

Clients in other processes (the generated Java clients) are not covered here; their requests are
ones zeep and the example-request tests also send.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Generator
from typing import Any

import pytest
import requests.adapters

from .schemas import BASIC, envelope_errors, variant_of_url

CONTENT_TYPE = {BASIC: "text/xml", "ws": "application/soap+xml"}

_lock = threading.Lock()
_problems: list[str] = []
checked = {"responses": 0}


def check_response(method: str, url: str, status: int, content_type: str, body: bytes) -> list[str]:
    """Check one HTTP response from the service; record and return its problems."""
    variant = variant_of_url(url)
    if variant is None or method.upper() != "POST":
        return []
    problems = []
    media = content_type.split(";")[0].strip().lower()
    if media != CONTENT_TYPE[variant]:
        problems.append(f"Content-Type {content_type!r}, expected {CONTENT_TYPE[variant]}")
    # 503: the busy fault of load shedding on the SOAP 1.2 endpoint (soap/shedding.py; the SOAP 1.2
    # HTTP binding allows a fault with any 4xx/5xx); it must still be a fault.
    busy_503 = status == 503 and variant != BASIC
    if status not in (200, 500) and not busy_503:
        problems.append(
            f"HTTP status {status} (SOAP answers with 200, faults with 500, busy on SOAP 1.2 503)"
        )
    problems += envelope_errors(body, variant)
    if busy_503 and not problems and not _is_fault(body):
        problems.append("HTTP 503 without a SOAP Fault")
    if status == 200 and b"Fault" in body and not problems and _is_fault(body):
        problems.append("a SOAP Fault with HTTP 200 (faults are HTTP 500)")
    with _lock:
        checked["responses"] += 1
        if problems:
            _problems.append(f"POST {url} -> HTTP {status}: " + "; ".join(problems))
    return problems


def _is_fault(body: bytes) -> bool:
    from lxml import etree

    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    return any(
        etree.QName(c).localname == "Fault" for b in root if etree.QName(b).localname == "Body" for c in b
    )


def _take() -> list[str]:
    with _lock:
        out = list(_problems)
        _problems.clear()
    return out


_original_send = requests.adapters.HTTPAdapter.send


def _send(self: requests.adapters.HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
    response = _original_send(self, request, *args, **kwargs)
    if variant_of_url(request.url or "") is not None and (request.method or "").upper() == "POST":
        if kwargs.get("stream"):
            response.content  # noqa: B018 - read the body once; requests caches it for the caller
        check_response(
            request.method or "",
            request.url or "",
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.content,
        )
    return response


def _install_suds() -> None:
    try:
        from suds.transport import TransportError
        from suds.transport.http import HttpTransport
    except ImportError:  # pragma: no cover - suds is a test dependency
        return
    original = HttpTransport.send

    def send(self: Any, request: Any) -> Any:
        try:
            reply = original(self, request)
        except TransportError as exc:
            fp = getattr(exc, "fp", None)
            if fp is not None:
                data = fp.read()
                headers = getattr(fp, "headers", None) or {}
                check_response("POST", request.url, exc.httpcode, headers.get("Content-Type", ""), data)
                exc.fp = io.BytesIO(data)
            raise
        if reply is not None:
            check_response(
                "POST", request.url, reply.code, reply.headers.get("Content-Type", ""), reply.message
            )
        return reply

    HttpTransport.send = send  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "schema_exempt(reason): this test deliberately gets service responses outside the contract schemas",
    )
    requests.adapters.HTTPAdapter.send = _send  # type: ignore[method-assign]
    _install_suds()


def pytest_unconfigure(config: pytest.Config) -> None:
    requests.adapters.HTTPAdapter.send = _original_send  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    _take()  # whatever arrived between tests belongs to no test
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    problems = _take()
    if problems and item.get_closest_marker("schema_exempt") is None:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise AssertionError(
            f"{len(problems)} service response(s) not valid against the contract:\n  {shown}{more}"
        )
    return result
