"""The Altinn Events webhook (service/entrypoints/altinn_events.py): the shared secret, the
subscription handshake, CloudEvent shape, and that an event only wakes the status job."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from service.entrypoints import altinn_events

CID = "3f2c1e0a-8e55-4f0e-b0a4-2f1d7b7c9a10"


@pytest.fixture
def woken(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(altinn_events, "wake", lambda _uow, ids, _now: calls.append(list(ids)) or 1)
    return calls


def _post(client: Client, event: Any, secret: str = "s3cret") -> Any:
    return client.post(
        f"/?secret={secret}", data=json.dumps(event), headers={"Content-Type": "application/cloudevents+json"}
    )


def _event(kind: str, **kw: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "e1", "type": kind, "source": "https://platform", **kw}


def test_wrong_or_missing_secret_is_refused(woken: list[list[str]]) -> None:
    client = Client(altinn_events.make_events_app("s3cret", lambda: None))  # type: ignore[arg-type, return-value]
    ev = _event("no.altinn.correspondence.correspondencereceiverread", resourceinstance=CID)
    assert _post(client, ev, secret="wrong").status_code == 401
    assert client.post("/", data=json.dumps(ev)).status_code == 401
    assert woken == []


def test_handshake_events_and_bad_input(woken: list[list[str]]) -> None:
    client = Client(altinn_events.make_events_app("s3cret", lambda: None))  # type: ignore[arg-type, return-value]
    assert _post(client, _event("platform.events.validatesubscription")).status_code == 200
    assert woken == []
    r = _post(
        client, _event("no.altinn.correspondence.correspondencereceiverconfirmed", resourceinstance=CID)
    )
    assert r.status_code == 200 and woken == [[CID]]
    assert _post(client, _event("no.altinn.correspondence.x", resourceinstance="1; drop")).status_code == 400
    assert _post(client, {"type": "x"}).status_code == 400  # not a CloudEvent 1.0
    assert client.get("/?secret=s3cret").status_code == 405
    assert woken == [[CID]]
