"""PostboxClient against the postbox simulator over real HTTP/SOAP 1.2 (two vendors mounted by path)."""

from __future__ import annotations

import socketserver
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import zeep

from clients.postbox import PostboxClient, UnknownVendorError
from service.config import Settings
from service.domain.ports import (
    DigitalPostMessage,
    Document,
    Notification,
    SendStatus,
    VendorUnavailable,
)
from simulators.postbox import PostboxSimState, SimReceipt, make_postbox_router, postbox_state_json
from simulators.seed import load_seed

DIGIPOST = "984661185"
EBOKS = "922020175"
SENDER = "910646192"


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class SimServer:
    def __init__(self) -> None:
        self.state = PostboxSimState()
        self.broken_calls = 0
        router = make_postbox_router(load_seed(), [DIGIPOST, EBOKS], self.state)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO", "").startswith("/broken"):
                self.broken_calls += 1
                body = b"<html><body>503 Service Unavailable</body></html>"
                start_response("503 Service Unavailable", [("Content-Type", "text/html")])
                return [body]
            return router(environ, start_response)

        self.httpd = make_server(
            "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, orgnr: str) -> str:
        return f"{self.base}/postbox/{orgnr}"

    def stats(self, orgnr: str) -> dict[str, Any]:
        vendors: dict[str, dict[str, Any]] = self.state.to_json()["vendors"]
        return vendors[orgnr]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    server = SimServer()
    yield server
    server.close()


def settings_for(sim: SimServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "vendor_endpoints": {DIGIPOST: sim.url(DIGIPOST), EBOKS: sim.url(EBOKS)},
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "call_attempts": 3,
        "call_backoff": 0.01,
    }
    values.update(overrides)
    return Settings(**values)


PERSONS = {
    "01018010018": ("ola.nordmann#1A2B", DIGIPOST),
    "02028110068": ("kari.nordmann#E0K5", EBOKS),
    "03038210008": ("ingen#0000", DIGIPOST),
    "07078610098": ("avvist.person#9Z9Z", DIGIPOST),
    "08088710038": ("ustabil.person#4F4F", EBOKS),
    "09098810088": ("treg.person#7S7S", DIGIPOST),
}


def message(
    pid: str, *, vendor: str | None = None, message_id: str | None = None, **kw: Any
) -> DigitalPostMessage:
    address, default_vendor = PERSONS[pid]
    mid = message_id or f"msg-{uuid.uuid4()}"
    values: dict[str, Any] = {
        "message_id": mid,
        "conversation_id": f"conv-{mid}",
        "sender_orgnr": SENDER,
        "personidentifikator": pid,
        "postkasseadresse": address,
        "vendor_orgnr": vendor or default_vendor,
        "title": "Vedtak om barnehageplass",
        "primary": Document("vedtak.pdf", "Vedtak", "application/pdf", b"%PDF-1.4\n% test\n"),
        "attachments": (Document("info.txt", "Informasjon", "text/plain", "Hei på deg".encode()),),
        "virkningstidspunkt": datetime(2024, 5, 17, 8, 0, tzinfo=UTC),
        "sikkerhetsnivaa": 4,
        "notifications": (Notification("epost", "Du har fått post", (0, 7)),),
    }
    values.update(kw)
    return DigitalPostMessage(**values)


def receipts_for(client: PostboxClient, vendor: str, message_id: str) -> list[Any]:
    return [r for r in client.pull_vendor_receipts(vendor, 1000) if r.message_id == message_id]


def test_deliver_then_pull_and_acknowledge(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    msg = message("01018010018")
    result = client.send(msg)
    assert result.status is SendStatus.ACCEPTED
    assert "duplicate" not in result.detail

    receipts = receipts_for(client, DIGIPOST, msg.message_id)
    assert [r.kind for r in receipts] == ["levering", "aapning"]  # seed: open=true
    assert all(r.conversation_id == msg.conversation_id for r in receipts)
    assert all(r.timestamp.tzinfo is not None for r in receipts)
    # not acknowledged yet: still queued
    assert [r.receipt_id for r in receipts_for(client, DIGIPOST, msg.message_id)] == [
        r.receipt_id for r in receipts
    ]

    client.acknowledge_vendor_receipt(DIGIPOST, receipts[0].receipt_id)
    client.acknowledge_vendor_receipt(DIGIPOST, receipts[0].receipt_id)  # idempotent
    assert [r.kind for r in receipts_for(client, DIGIPOST, msg.message_id)] == ["aapning"]
    client.acknowledge_vendor_receipt(DIGIPOST, receipts[1].receipt_id)
    assert receipts_for(client, DIGIPOST, msg.message_id) == []
    assert sim.stats(DIGIPOST)["delivered"][msg.message_id] == 1


def test_deliver_without_open_gives_only_levering(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    msg = message("02028110068")
    assert client.send(msg).status is SendStatus.ACCEPTED
    assert [r.kind for r in receipts_for(client, EBOKS, msg.message_id)] == ["levering"]


def test_reject_is_klient_feil_without_retry(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim, call_attempts=3))
    before = sim.stats(DIGIPOST)
    msg = message("07078610098")
    result = client.send(msg)
    assert result.status is SendStatus.REJECTED
    assert "KLIENT" in result.detail and DIGIPOST in result.detail
    after = sim.stats(DIGIPOST)
    assert after["sends"] - before["sends"] == 1  # not retried
    assert after["rejected"] - before["rejected"] == 1
    assert msg.message_id not in after["delivered"]
    assert receipts_for(client, DIGIPOST, msg.message_id) == []


@pytest.mark.parametrize(
    "pid,vendor,reason",
    [
        ("03038210008", DIGIPOST, "no postbox"),
        ("01018010018", EBOKS, "no postbox with this vendor"),
    ],
)
def test_recipient_without_postbox_at_vendor_is_rejected(
    sim: SimServer, pid: str, vendor: str, reason: str
) -> None:
    client = PostboxClient(settings_for(sim))
    result = client.send(message(pid, vendor=vendor))
    assert result.status is SendStatus.REJECTED
    assert reason in result.detail


def test_wrong_postbox_address_is_rejected(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    result = client.send(message("01018010018", postkasseadresse="someone.else#0000"))
    assert result.status is SendStatus.REJECTED
    assert "postkasseadresse" in result.detail


def test_fail_then_deliver_within_attempts(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim, call_attempts=3))
    before = sim.stats(EBOKS)
    msg = message("08088710038")
    result = client.send(msg)
    assert result.status is SendStatus.ACCEPTED
    after = sim.stats(EBOKS)
    assert after["server_failures"] - before["server_failures"] == 2
    assert after["sends"] - before["sends"] == 3
    assert after["delivered"][msg.message_id] == 1
    assert [r.kind for r in receipts_for(client, EBOKS, msg.message_id)] == ["levering"]


def test_fail_then_deliver_exhausts_attempts_then_later_send_delivers_once(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim, call_attempts=2))
    msg = message("08088710038")
    with pytest.raises(VendorUnavailable) as info:
        client.send(msg)
    assert "SERVER" in str(info.value) and EBOKS in str(info.value) and "2 attempt" in str(info.value)
    assert msg.message_id not in sim.stats(EBOKS)["delivered"]

    # the worker retries later with the same message id
    assert client.send(msg).status is SendStatus.ACCEPTED
    assert sim.stats(EBOKS)["delivered"][msg.message_id] == 1
    # and once more (e.g. the worker crashed before storing the result): duplicate, still delivered once
    again = client.send(msg)
    assert again.status is SendStatus.ACCEPTED and "duplicate" in again.detail
    assert sim.stats(EBOKS)["delivered"][msg.message_id] == 1
    assert [r.kind for r in receipts_for(client, EBOKS, msg.message_id)] == ["levering"]


def test_duplicate_send_is_accepted_and_delivered_once(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    msg = message("02028110068")
    before = sim.stats(EBOKS)
    first = client.send(msg)
    second = client.send(msg)
    assert first.status is SendStatus.ACCEPTED and "duplicate" not in first.detail
    assert second.status is SendStatus.ACCEPTED and "duplicate" in second.detail
    after = sim.stats(EBOKS)
    assert after["delivered"][msg.message_id] == 1
    assert after["accepted"] - before["accepted"] == 1
    assert after["duplicates"] - before["duplicates"] == 1
    assert [r.kind for r in receipts_for(client, EBOKS, msg.message_id)] == ["levering"]  # no second levering


def test_slow_vendor_with_short_read_timeout_is_unavailable(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim, read_timeout=0.3, call_attempts=2))
    started = time.monotonic()
    with pytest.raises(VendorUnavailable) as info:
        client.send(message("09098810088"))  # seed: delay_seconds 2.0
    assert time.monotonic() - started < 1.9
    assert "timed out" in str(info.value)


def test_http_5xx_is_retried_then_unavailable(sim: SimServer) -> None:
    client = PostboxClient(
        settings_for(sim, call_attempts=3, vendor_endpoints={DIGIPOST: f"{sim.base}/broken/503"})
    )
    before = sim.broken_calls
    with pytest.raises(VendorUnavailable) as info:
        client.send(message("01018010018"))
    assert sim.broken_calls - before == 3
    assert "503" in str(info.value)


def test_connection_refused_is_unavailable() -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as tmp:
        port = tmp.server_address[1]
    settings = Settings(
        vendor_endpoints={DIGIPOST: f"http://127.0.0.1:{port}/postbox/{DIGIPOST}"},
        connect_timeout=0.5,
        call_attempts=2,
        call_backoff=0.01,
    )
    with pytest.raises(VendorUnavailable) as info:
        PostboxClient(settings).send(message("01018010018"))
    assert "unreachable" in str(info.value)


def test_unknown_vendor_orgnr_is_a_clear_error(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    with pytest.raises(UnknownVendorError) as info:
        client.send(message("01018010018", vendor="123456789"))
    text = str(info.value)
    assert "123456789" in text and DIGIPOST in text and "INNBYGGERPOST_VENDOR_ENDPOINTS" in text
    with pytest.raises(UnknownVendorError):
        client.pull_vendor_receipts("123456789")
    with pytest.raises(UnknownVendorError):
        client.acknowledge_vendor_receipt("123456789", "x")


def test_notification_without_address_gives_varslingfeilet(sim: SimServer) -> None:
    # 08088710038 has an e-mail address in the seed but no mobile number
    client = PostboxClient(settings_for(sim, call_attempts=3))
    msg = message("08088710038", notifications=(Notification("sms", "Du har post", (1,)),))
    assert client.send(msg).status is SendStatus.ACCEPTED
    receipts = receipts_for(client, EBOKS, msg.message_id)
    assert [r.kind for r in receipts] == ["levering", "varslingfeilet"]
    assert receipts[1].detail.startswith("SMS")


def test_feil_receipt_is_parsed(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    rid = str(uuid.uuid4())
    sim.state.queue_receipt(
        EBOKS,
        SimReceipt(
            receipt_id=rid,
            message_id="msg-feil",
            conversation_id="conv-feil",
            recipient=f"0192:{SENDER}",
            kind="feil",
            timestamp=datetime(2024, 5, 19, 12, 0, tzinfo=UTC),
            feiltype="KLIENT",
            detail="Ugyldig PDF",
        ),
    )
    (receipt,) = receipts_for(client, EBOKS, "msg-feil")
    assert (receipt.receipt_id, receipt.kind, receipt.feiltype, receipt.detail) == (
        rid,
        "feil",
        "KLIENT",
        "Ugyldig PDF",
    )
    assert receipt.conversation_id == "conv-feil"
    assert receipt.timestamp == datetime(2024, 5, 19, 12, 0, tzinfo=UTC)
    client.acknowledge_vendor_receipt(EBOKS, rid)
    assert receipts_for(client, EBOKS, "msg-feil") == []


def test_pull_respects_max_count(sim: SimServer) -> None:
    client = PostboxClient(settings_for(sim))
    for _ in range(3):
        assert client.send(message("02028110068")).status is SendStatus.ACCEPTED
    assert len(client.pull_vendor_receipts(EBOKS, 2)) == 2


def test_simulator_serves_its_wsdl(sim: SimServer) -> None:
    remote = zeep.Client(f"{sim.url(DIGIPOST)}?wsdl")
    service = next(iter(remote.wsdl.services.values()))
    port = next(iter(service.ports.values()))
    assert port.binding_options["address"] == sim.url(DIGIPOST)
    assert set(port.binding._operations) == {"SendDigitalPost", "HentKvitteringer", "BekreftKvittering"}


def test_state_json_shape_and_reset() -> None:
    state = PostboxSimState()
    make_postbox_router(load_seed(), [DIGIPOST], state)
    data = state.to_json()
    assert data == {
        "vendors": {
            DIGIPOST: {
                "sends": 0,
                "accepted": 0,
                "duplicates": 0,
                "rejected": 0,
                "server_failures": 0,
                "delivered": {},
                "arrivals": {},
                "answers": {},
                "queued_receipts": 0,
            }
        }
    }
    state.vendor(DIGIPOST).sends = 5
    state.vendor(DIGIPOST).delivered["m"] = 1
    state.vendor(DIGIPOST).arrivals["m"] = 1
    state.reset()
    assert state.to_json() == data
    assert postbox_state_json(state) == data
