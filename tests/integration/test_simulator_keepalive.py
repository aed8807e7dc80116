"""The simulators' server (``innbyggerpost simulate``: waitress, HTTP/1.1 keep-alive) and the outbound
clients reuse connections against it; the simulators' counters stay exact under concurrent calls.

The simulator process counts every TCP connection it accepts (``/_sim/stats`` ``http``), and per
area the distinct client peers (address:port) it served. A client that opened a new connection
per call (as against the former HTTP/1.0 server) would show one connection per call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from clients.certificates import load_credentials
from clients.dpi.client import AccessPointClient
from clients.dpi.postbox import DpiPostbox
from clients.krr import KrrClient
from clients.maskinporten import MaskinportenClient
from service.config import DEMO_CLIENT_ID, DEMO_OPERATOR_ORGNR, Settings
from service.domain.ports import DigitalPostMessage, Document, SendStatus
from simulators.pki import TEST_P12_PASSWORD, TestPki
from tests.support.harness import REPO, free_port, wait_until

DIGIPOST_PERSON = "01018010018"  # seed: Digipost, delivers (and opens)
EBOKS_PERSON = "02028110068"  # seed: e-Boks, delivers
DIGIPOST, EBOKS = "984661185", "922020175"
ADDRESSES = {DIGIPOST_PERSON: ("ola.nordmann#1A2B", DIGIPOST), EBOKS_PERSON: ("kari.nordmann#E0K5", EBOKS)}


class SimProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="innbyggerpost-sim-", suffix=".log")[1])
        self.pki_dir = Path(tempfile.mkdtemp(prefix="innbyggerpost-pki-"))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.entrypoints.cli",
                "simulate",
                "--port",
                str(self.port),
                "--pki-dir",
                str(self.pki_dir),
            ],  # fmt: skip
            cwd=REPO,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, 30, "simulators")

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            self.stats()
            return True
        except OSError:
            return False

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            self.url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=5) as r:
            stats: dict[str, Any] = json.loads(r.read())
            return stats

    def reset(self) -> None:
        self._post("/_sim/reset", {})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.unlink(missing_ok=True)
        shutil.rmtree(self.pki_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    s = SimProcess()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def fresh(sim: SimProcess) -> SimProcess:
    sim.reset()
    return sim


def settings(sim: SimProcess) -> Settings:
    return Settings(
        krr_soap_url=f"{sim.url}/krr",
        krr_paa_vegne_av="",
        krr_cert_file="",
        krr_key_file="",
        connect_timeout=2.0,
        read_timeout=10.0,
        call_attempts=1,
        call_backoff=0.01,
    )


def dpi_postbox(sim: SimProcess, pool_size: int = 16) -> DpiPostbox:
    """The delivery worker's PostboxVendor (DPI through the access point) against the simulator."""
    pki = TestPki(sim.pki_dir)
    pair = pki.enterprise(DEMO_OPERATOR_ORGNR)
    creds = load_credentials(str(pki.p12_path(DEMO_OPERATOR_ORGNR)), TEST_P12_PASSWORD)
    tokens = MaskinportenClient(f"{sim.url}/maskinporten/", DEMO_CLIENT_ID, creds)
    client = AccessPointClient(
        f"{sim.url}/dpi", tokens, trusted=[pki.ca().certificate], attempts=1, pool_size=pool_size
    )
    return DpiPostbox(client, pair.certificate, pair.private_key, pair.chain, sim.pki_dir)


def message(pid: str) -> DigitalPostMessage:
    address, vendor = ADDRESSES[pid]
    mid = str(uuid.uuid4())
    return DigitalPostMessage(
        message_id=mid,
        conversation_id=f"conv-{mid}",
        sender_orgnr="910646192",
        personidentifikator=pid,
        postkasseadresse=address,
        vendor_orgnr=vendor,
        title="Vedtak",
        primary=Document("vedtak.pdf", "Vedtak", "application/pdf", b"%PDF-1.4\n% keep-alive test\n"),
        attachments=(),
        virkningstidspunkt=datetime(2024, 5, 17, 8, 0, tzinfo=UTC),
        sikkerhetsnivaa=4,
        notifications=(),
    )


def test_server_speaks_http11_and_keeps_the_connection(fresh: SimProcess) -> None:
    with requests.Session() as s:
        for _ in range(5):
            r = s.get(fresh.url + "/_sim/stats", timeout=5)
            assert r.status_code == 200
            assert r.raw.version == 11  # HTTP/1.1
            assert r.headers.get("Connection", "").lower() != "close"
    http = fresh.stats()["http"]
    # 5 requests of this session on one connection (+1 for the stats call just made)
    assert http["requests"]["sim"] == 6
    assert http["connections"]["sim"] == 2
    assert http["connections_accepted"] == 2


def test_krr_client_reuses_its_connection(fresh: SimProcess) -> None:
    client = KrrClient(settings(fresh))
    for _ in range(20):
        persons = client.hent_personer([DIGIPOST_PERSON])
        assert persons[DIGIPOST_PERSON].postkasseadresse
    stats = fresh.stats()
    assert stats["krr"]["calls"] == 20
    assert stats["http"]["requests"]["krr"] == 20
    assert stats["http"]["connections"]["krr"] == 1, stats["http"]


def test_dpi_client_reuses_connections_for_sends_and_receipts(fresh: SimProcess) -> None:
    postbox = dpi_postbox(fresh)
    sent = []
    for pid in [DIGIPOST_PERSON, EBOKS_PERSON] * 5:
        msg = message(pid)
        assert postbox.send(msg).status is SendStatus.ACCEPTED
        sent.append(msg.message_id)
    for receipt in postbox.pull_receipts(100):
        postbox.acknowledge(receipt)
    stats = fresh.stats()
    requests_made = stats["http"]["requests"]["dpi"]
    assert requests_made >= 10 + 1 + 10  # sends, the pull, at least one acknowledgement per message
    # one keep-alive connection to the access point (both vendors behind it)
    assert stats["http"]["connections"]["dpi"] == 1, stats["http"]
    delivered = {
        **stats["dpi"]["vendors"][DIGIPOST]["delivered"],
        **stats["dpi"]["vendors"][EBOKS]["delivered"],
    }
    assert all(delivered[m] == 1 for m in sent)


def test_concurrent_clients_use_a_bounded_pool_and_counters_stay_exact(fresh: SimProcess) -> None:
    """16 threads share one KrrClient and one DpiPostbox (as a web / delivery worker does)."""
    cfg = settings(fresh)
    krr = KrrClient(cfg)
    postbox = dpi_postbox(fresh)
    threads, per_thread = 16, 12
    errors: list[BaseException] = []
    sent: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            for i in range(per_thread):
                pid = DIGIPOST_PERSON if i % 2 else EBOKS_PERSON
                assert krr.hent_personer([pid])[pid].status == "AKTIV"
                msg = message(pid)
                assert postbox.send(msg).status is SendStatus.ACCEPTED
                with lock:
                    sent.append(msg.message_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(120)
    assert not errors, errors[:3]
    calls = threads * per_thread
    stats = fresh.stats()
    assert stats["krr"]["calls"] == calls
    assert sum(stats["krr"]["batch_sizes"]) == calls
    vendors = stats["dpi"]["vendors"]
    assert vendors[DIGIPOST]["sends"] + vendors[EBOKS]["sends"] == calls
    assert vendors[DIGIPOST]["accepted"] + vendors[EBOKS]["accepted"] == calls
    delivered = {**vendors[DIGIPOST]["delivered"], **vendors[EBOKS]["delivered"]}
    assert sorted(delivered) == sorted(sent) and set(delivered.values()) == {1}
    # connections are pooled: at most one per concurrent thread per client, not one per call
    http = stats["http"]
    assert http["connections"]["krr"] <= threads, http
    assert http["connections"]["dpi"] <= threads, http
    assert http["connections_accepted"] <= 2 * threads + 2, http  # + the Maskinporten client's
