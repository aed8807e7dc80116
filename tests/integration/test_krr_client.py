"""KrrClient against the KRR simulator over real HTTP/SOAP 1.2 (wsgiref server in a thread)."""

from __future__ import annotations

import datetime as dt
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from clients.krr import KrrClient
from service.config import Settings
from service.domain.ports import Person, RegistryUnavailable
from simulators.krr import KrrSimState, KrrSimulatorApp, krr_control, krr_state_json, make_krr_app
from simulators.krr_rest import make_krr_rest_app
from simulators.pki import TestPki
from simulators.seed import load_seed


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Sim:
    def __init__(self, app: KrrSimulatorApp) -> None:
        self.app = app
        self.server = make_server(
            "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/krr"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def state(self) -> KrrSimState:
        return self.app.state

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


PKI = TestPki(tempfile.mkdtemp(prefix="innbyggerpost-krr-pki-"))


def _start(**kwargs: Any) -> Iterator[Sim]:
    app = make_krr_app(load_seed(), **kwargs)
    app.certificate_of = make_krr_rest_app(load_seed(), PKI).certificate_of  # as simulators/app.py does
    sim = Sim(app)
    try:
        yield sim
    finally:
        sim.close()


@pytest.fixture
def sim() -> Iterator[Sim]:
    yield from _start()


def settings_for(url: str, **overrides: Any) -> Settings:
    base = Settings(
        krr_soap_url=url,
        krr_paa_vegne_av="",
        krr_cert_file="",
        krr_key_file="",
        krr_batch_size=1000,
        connect_timeout=2.0,
        read_timeout=5.0,
        call_attempts=3,
        call_backoff=0.01,
    )
    return replace(base, **overrides)


SEED_IDS = ["01018010018", "02028110068", "03038210008", "04048310058", "05058413730", "06068510048"]


def test_default_seed_persons_map_correctly(sim: Sim) -> None:
    got = KrrClient(settings_for(sim.url)).hent_personer(SEED_IDS)
    assert set(got) == set(SEED_IDS)

    digipost = got["01018010018"]
    assert digipost == Person(
        personidentifikator="01018010018",
        status="AKTIV",
        reservasjon="NEI",
        varslingsstatus="KAN_VARSLES",
        epostadresse="ola.digipost@example.no",
        mobiltelefonnummer="+4799000001",
        postkasseadresse="ola.nordmann#1A2B",
        postkasseleverandoer_adresse="984661185",
        sertifikat=PKI.postbox("984661185").certificate_der(),  # informasjonsbehov Sertifikat
        sertifikat_gyldig_til=PKI.postbox("984661185").certificate.not_valid_after_utc,
    )
    assert digipost.has_postbox and not digipost.reserved

    eboks = got["02028110068"]
    assert eboks.has_postbox
    assert (eboks.postkasseadresse, eboks.postkasseleverandoer_adresse) == ("kari.nordmann#E0K5", "922020175")

    no_box = got["03038210008"]
    assert no_box.status == "AKTIV" and no_box.reservasjon == "NEI" and not no_box.has_postbox
    assert no_box.postkasseadresse is None and no_box.epostadresse == "per.ingenpostkasse@example.no"

    reserved = got["04048310058"]
    assert reserved.reserved and not reserved.has_postbox
    assert reserved.varslingsstatus == "KAN_IKKE_VARSLES"

    for pid, status in (("05058413730", "IKKE_REGISTRERT"), ("06068510048", "SLETTET")):
        assert got[pid] == Person(personidentifikator=pid, status=status)
        assert not got[pid].has_postbox and not got[pid].reserved

    assert sim.state.calls == 1 and sim.state.batch_sizes == [6]


def test_unknown_id_is_not_registered(sim: Sim) -> None:
    got = KrrClient(settings_for(sim.url)).hent_personer(["12345678901", "12345678901"])
    assert got == {"12345678901": Person(personidentifikator="12345678901", status="IKKE_REGISTRERT")}
    assert sim.state.batch_sizes == [1]  # de-duplicated


def test_empty_input_makes_no_call(sim: Sim) -> None:
    assert KrrClient(settings_for(sim.url)).hent_personer([]) == {}
    assert sim.state.calls == 0


def test_invalid_id_is_a_caller_error(sim: Sim) -> None:
    with pytest.raises(ValueError):
        KrrClient(settings_for(sim.url)).hent_personer(["123"])
    assert sim.state.calls == 0


def test_2500_ids_go_in_three_batches(sim: Sim) -> None:
    ids = [f"{n:011d}" for n in range(20000000000, 20000002500)] + SEED_IDS[:1]
    got = KrrClient(settings_for(sim.url)).hent_personer(ids)
    assert len(got) == 2501
    assert got["01018010018"].has_postbox
    assert sim.state.calls == 3
    assert sim.state.batch_sizes == [1000, 1000, 501]
    assert all(size <= 1000 for size in sim.state.batch_sizes)


def test_configured_batch_size_is_used(sim: Sim) -> None:
    ids = [f"{n:011d}" for n in range(20000000000, 20000000250)]
    KrrClient(settings_for(sim.url, krr_batch_size=100)).hent_personer(ids)
    assert sim.state.batch_sizes == [100, 100, 50]


def test_batch_size_is_capped_at_1000(sim: Sim) -> None:
    ids = [f"{n:011d}" for n in range(20000000000, 20000001500)]
    KrrClient(settings_for(sim.url, krr_batch_size=5000)).hent_personer(ids)
    assert sim.state.batch_sizes == [1000, 500]


def test_more_than_1000_ids_is_a_sender_fault_at_the_simulator(sim: Sim) -> None:
    ids = "".join(f"<ns:personidentifikator>{n:011d}</ns:personidentifikator>" for n in range(1001))
    envelope = (
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
        '<ns:HentPersonerForespoersel xmlns:ns="http://kontaktinfo.difi.no/xsd/oppslagstjeneste/16-02">'
        f"<ns:informasjonsbehov>Person</ns:informasjonsbehov>{ids}</ns:HentPersonerForespoersel>"
        "</env:Body></env:Envelope>"
    )
    r = requests.post(
        sim.url, data=envelope.encode(), headers={"Content-Type": "application/soap+xml"}, timeout=10
    )
    assert r.status_code == 400
    doc = etree.fromstring(r.content)
    ns = {"env": "http://www.w3.org/2003/05/soap-envelope"}
    assert doc.findtext("env:Body/env:Fault/env:Code/env:Value", namespaces=ns) == "env:Sender"
    assert "1001" in (doc.findtext("env:Body/env:Fault/env:Reason/env:Text", namespaces=ns) or "")


def test_schema_invalid_request_is_refused(sim: Sim) -> None:
    envelope = (
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
        '<ns:HentPersonerForespoersel xmlns:ns="http://kontaktinfo.difi.no/xsd/oppslagstjeneste/16-02">'
        "<ns:informasjonsbehov>Alt</ns:informasjonsbehov><ns:personidentifikator>1</ns:personidentifikator>"
        "</ns:HentPersonerForespoersel></env:Body></env:Envelope>"
    )
    r = requests.post(
        sim.url, data=envelope.encode(), headers={"Content-Type": "application/soap+xml"}, timeout=10
    )
    assert r.status_code == 400 and b"env:Sender" in r.content and b"schema" in r.content


def test_paa_vegne_av_header_arrives(sim: Sim) -> None:
    KrrClient(settings_for(sim.url, krr_paa_vegne_av="991825827")).hent_personer(SEED_IDS[:2])
    KrrClient(settings_for(sim.url)).hent_personer(SEED_IDS[:1])
    assert sim.state.paa_vegne_av == ["991825827", None]


def test_wsdl_is_served_with_our_address(sim: Sim) -> None:
    import zeep

    r = requests.get(sim.url + "?wsdl", timeout=5)
    assert r.status_code == 200
    doc = etree.fromstring(r.content)
    loc = doc.find(".//{http://schemas.xmlsoap.org/wsdl/soap12/}address")
    assert loc is not None and loc.get("location") == sim.url
    client = zeep.Client(sim.url + "?wsdl")  # fetches the imported schemas via ?xsd=
    result = client.service.HentPersoner(informasjonsbehov=["Person"], personidentifikator=["04048310058"])
    assert result[0].reservasjon == "JA"


# -- failure handling ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fault", "http500"])
def test_failures_raise_registry_unavailable_after_attempts(sim: Sim, mode: str) -> None:
    sim.state.set_mode(mode)
    client = KrrClient(settings_for(sim.url, call_attempts=3))
    with pytest.raises(RegistryUnavailable, match="after 3 attempts"):
        client.hent_personer(SEED_IDS[:1])
    assert sim.state.calls == 3


def test_slow_answer_times_out_and_raises_after_attempts(sim: Sim) -> None:
    krr_control(sim.state, {"mode": "slow", "slow_seconds": 1.0})
    client = KrrClient(settings_for(sim.url, call_attempts=2, read_timeout=0.3))
    with pytest.raises(RegistryUnavailable, match="timeout"):
        client.hent_personer(SEED_IDS[:1])
    assert sim.state.calls == 2


def test_recovers_when_failure_clears(sim: Sim) -> None:
    """A transient failure is retried: first answer is a fault, the retry succeeds."""
    original = sim.state.apply_mode
    seen = {"n": 0}

    def flaky(mode: str, slow_seconds: float, fault: Callable[[], Exception]) -> None:
        seen["n"] += 1
        original("fault" if seen["n"] == 1 else "normal", slow_seconds, fault)

    sim.state.apply_mode = flaky  # type: ignore[method-assign]
    got = KrrClient(settings_for(sim.url, call_attempts=3)).hent_personer(SEED_IDS[:1])
    assert got["01018010018"].has_postbox
    assert sim.state.calls == 2


def test_unreachable_registry() -> None:
    sock = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    port = sock.server_address[1]
    sock.server_close()  # nothing listens there any more
    client = KrrClient(settings_for(f"http://127.0.0.1:{port}/krr", call_attempts=2, connect_timeout=0.5))
    with pytest.raises(RegistryUnavailable, match="after 2 attempts"):
        client.hent_personer(SEED_IDS[:1])


def test_missing_person_in_answer_is_registry_unavailable(sim: Sim) -> None:
    """A short answer is not read as IKKE_REGISTRERT (it could hide a reservation)."""
    original = sim.app._hent_personer

    def drop_last(request: Any, ids: list[str]) -> Any:
        resp = original(request, ids)
        resp.remove(resp[-1])
        return resp

    sim.app._hent_personer = drop_last  # type: ignore[method-assign]
    with pytest.raises(RegistryUnavailable, match="missing"):
        KrrClient(settings_for(sim.url)).hent_personer(SEED_IDS[:3])
    assert sim.state.calls == 1  # not retried: a wrong answer is not a transient failure


def test_state_json_and_control(sim: Sim) -> None:
    state = krr_state_json(sim.state)
    assert state == {
        "mode": "normal",
        "slow_seconds": 5.0,
        "calls": 0,
        "requests": 0,
        "refused": 0,
        "batch_sizes": [],
        "paa_vegne_av": [],
        "reject_tokens": 0,
        "tokens_rejected": 0,
    }
    KrrClient(settings_for(sim.url)).hent_personer(SEED_IDS[:2])
    assert krr_state_json(sim.state)["batch_sizes"] == [2]
    new = krr_control(sim.state, {"reset": True, "mode": "http500"})
    assert new["calls"] == 0 and new["mode"] == "http500" and new["batch_sizes"] == []
    with pytest.raises(ValueError):
        krr_control(sim.state, {"mode": "broken"})
    with pytest.raises(ValueError):
        krr_control(sim.state, {"bogus": 1})


# -- WS-Security ---------------------------------------------------------------------------------


def _self_signed(tmp: Path, cn: str) -> tuple[Path, Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.SERIAL_NUMBER, "991825827")]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp / f"{cn}.crt.pem", tmp / f"{cn}.key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file, cert_pem


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, tuple[Path, Path, bytes]]:
    return {"ours": _self_signed(tmp_path, "innbyggerpost"), "other": _self_signed(tmp_path, "intruder")}


def test_signed_client_accepted_unsigned_refused(certs: dict[str, tuple[Path, Path, bytes]]) -> None:
    cert_file, key_file, cert_pem = certs["ours"]
    for sim in _start(require_signature=True, trusted_cert_pem=cert_pem):
        signed = KrrClient(settings_for(sim.url, krr_cert_file=str(cert_file), krr_key_file=str(key_file)))
        assert signed.signs_requests
        got = signed.hent_personer(SEED_IDS)
        assert got["01018010018"].has_postbox and got["04048310058"].reserved
        assert sim.state.calls == 1 and sim.state.refused == 0

        unsigned = KrrClient(settings_for(sim.url))
        with pytest.raises(RegistryUnavailable, match="Sender.*WS-Security"):
            unsigned.hent_personer(SEED_IDS[:1])
        assert sim.state.refused == 1
        assert sim.state.calls == 1  # refused before the operation; and not retried
        assert sim.state.requests == 2


def test_signature_by_untrusted_certificate_is_refused(certs: dict[str, tuple[Path, Path, bytes]]) -> None:
    _, _, trusted_pem = certs["ours"]
    other_cert, other_key, _ = certs["other"]
    for sim in _start(require_signature=True, trusted_cert_pem=trusted_pem):
        client = KrrClient(settings_for(sim.url, krr_cert_file=str(other_cert), krr_key_file=str(other_key)))
        with pytest.raises(RegistryUnavailable, match="not trusted"):
            client.hent_personer(SEED_IDS[:1])


def test_signature_with_token_certificate_when_no_trust_anchor(
    certs: dict[str, tuple[Path, Path, bytes]],
) -> None:
    cert_file, key_file, _ = certs["other"]
    for sim in _start(require_signature=True):
        client = KrrClient(settings_for(sim.url, krr_cert_file=str(cert_file), krr_key_file=str(key_file)))
        assert client.hent_personer(SEED_IDS[:1])["01018010018"].has_postbox


def test_signed_envelope_shape_and_tampering(certs: dict[str, tuple[Path, Path, bytes]]) -> None:
    """The signed request has Timestamp + BinarySecurityToken + rsa-sha256 over Timestamp and Body;
    a body changed after signing is refused."""
    from zeep.plugins import HistoryPlugin

    cert_file, key_file, cert_pem = certs["ours"]
    for sim in _start(require_signature=True, trusted_cert_pem=cert_pem):
        client = KrrClient(settings_for(sim.url, krr_cert_file=str(cert_file), krr_key_file=str(key_file)))
        history = HistoryPlugin()
        client._client.plugins.append(history)
        client.hent_personer(SEED_IDS[:1])
        envelope = history.last_sent["envelope"]
        ns = {
            "env": "http://www.w3.org/2003/05/soap-envelope",
            "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
            "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
            "ds": "http://www.w3.org/2000/09/xmldsig#",
        }
        sec = envelope.find("env:Header/wsse:Security", namespaces=ns)
        assert sec is not None
        assert sec.find("wsse:BinarySecurityToken", namespaces=ns) is not None
        ts = sec.find("wsu:Timestamp", namespaces=ns)
        assert ts is not None
        method = sec.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", namespaces=ns)
        assert (
            method is not None
            and method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        )
        uris = {r.get("URI") for r in sec.iterfind("ds:Signature/ds:SignedInfo/ds:Reference", namespaces=ns)}
        body = envelope.find("env:Body", namespaces=ns)
        assert body is not None
        wsu_id = f"{{{ns['wsu']}}}Id"
        assert uris == {"#" + body.get(wsu_id, ""), "#" + ts.get(wsu_id, "")}

        pid = body.find(".//{http://kontaktinfo.difi.no/xsd/oppslagstjeneste/16-02}personidentifikator")
        assert pid is not None
        pid.text = "04048310058"
        r = requests.post(
            sim.url,
            data=etree.tostring(envelope),
            headers={"Content-Type": "application/soap+xml; charset=utf-8"},
            timeout=10,
        )
        assert r.status_code == 400 and b"signature verification failed" in r.content
