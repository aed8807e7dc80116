"""The polling fallback with INNBYGGERPOST_INBOX_BACKEND=altinn3: no Altinn Events (no secret, no
subscription: the webhook is not even mounted), the inbox_status job polls the correspondence and
brings Read into GetCorrespondenceStatusDetailsBasicV3."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.support import altinn as a
from tests.support import inbox as ib
from tests.support.harness import Stack, wait_until


def test_read_comes_back_by_polling_without_events(stack_with: Callable[..., Stack]) -> None:
    s = stack_with(INBOX_BACKEND="altinn3", ALTINN3_POLL_SECONDS="1", WEB_WORKERS="1")
    s.ensure_worker()
    with pytest.raises(urllib.error.HTTPError) as info:  # no secret: no webhook
        urllib.request.urlopen(urllib.request.Request(f"{s.url}/altinn3/events", data=b"{}"), timeout=5)
    assert info.value.code == 404
    reference = a.ref("poll")
    assert a.insert(s.basic_url, reference, a.letter(a.NO_POSTBOX, None)).ReceiptStatusCode == "OK"

    def state() -> dict:
        with urllib.request.urlopen(f"{s.sim_url}/altinn3/_sim/state", timeout=5) as r:
            return json.loads(r.read())

    copy = wait_until(
        lambda: next((c for c in state()["correspondences"] if c["sendersReference"] == reference), None),
        30,
        "the copy in Altinn 3",
    )
    s.sim_post(f"/altinn3/_sim/correspondence/{copy['correspondenceId']}/read")

    def types() -> list[str]:
        [status] = ib.statuses_v3(s.basic_url, reference)
        return ib.status_types(status)

    wait_until(lambda: types() == ["Created", "Read"], 30, "Read by polling")
    assert state()["subscriptions"] == [] and state()["events_sent"] == []
