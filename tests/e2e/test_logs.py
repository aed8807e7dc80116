"""Logs are JSON lines with a correlation id, one per request, and never hold passwords or letters."""

from __future__ import annotations

import json
from typing import Any

import pytest
import zeep.exceptions

from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

BODY_MARK = "Hemmelig-brodtekst-7731"


@pytest.fixture(scope="module")
def logged(stack_with: Any) -> Stack:
    return stack_with(LOG_LEVEL="INFO", WEB_WORKERS="1")


def _lines(s: Stack) -> list[dict[str, Any]]:
    out = []
    for raw in (s.workdir / "web.log").read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.startswith("{"):
            out.append(json.loads(raw))
    return out


def test_one_json_line_per_request_with_correlation_and_error_guid_and_no_secrets(logged: Stack) -> None:
    s = logged
    reference = a.ref("log")
    receipt = a.insert(s.basic_url, reference, a.letter(a.ORGANISATION, None, MessageBody=BODY_MARK))
    assert receipt.ReceiptStatusCode == "OK"
    with pytest.raises(zeep.exceptions.Fault):
        a.insert(
            s.basic_url,
            a.ref("log"),
            a.letter(a.ORGANISATION, None),
            owner=("10001", "wrong-pw-9911", "DEMO", "4503"),
        )
    requests = wait_until(
        lambda: (
            [ln for ln in _lines(s) if ln.get("message") == "request" and ln.get("method") == "POST"][-2:]
            or None
        ),
        20,
        "request lines in the web log",
    )
    assert len(requests) == 2
    ok, fault = requests
    assert ok["status"] == 200 and ok["soap_action"].endswith("InsertCorrespondenceBasicV2")
    assert fault["status"] == 500 and ok["correlation_id"] and ok["correlation_id"] != fault["correlation_id"]
    faults = [
        ln for ln in _lines(s) if ln.get("error_guid") and ln.get("correlation_id") == fault["correlation_id"]
    ]
    assert faults, "the fault's ErrorGuid is logged as a field under the request's correlation id"
    text = (s.workdir / "web.log").read_text(encoding="utf-8", errors="replace")
    for secret in ("demo-password", "wrong-pw-9911", BODY_MARK):
        assert secret not in text
