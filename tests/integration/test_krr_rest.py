"""KrrRestClient with MaskinportenClient against the KRR REST and Maskinporten simulators (a real
``innbyggerpost simulate`` process, real sockets): the seed's persons with their postbox
certificates, calls of at most 1000 ids on one token, a 401 renewing the token once, fields by
scope, failures retried then given up, and the KRR gateway in front."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from clients.certificates import load_credentials
from clients.krr_rest import KrrRestClient
from clients.maskinporten import DPI_SCOPES, KRR_SCOPES, MaskinportenClient
from service.adapters.krr_gateway import KrrGateway
from service.config import Settings
from service.domain.ports import RegistryUnavailable
from simulators.pki import TEST_P12_PASSWORD, TestPki
from tests.support.simprocess import SimProcess, operator_pki, simulators

OPERATOR = "910646192"
DIGIPOST, EBOKS = "984661185", "922020175"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with simulators(
        "innbyggerpost-krr-rest-",
        {
            "maskinporten_clients": [
                {"client_id": "kontakt-only", "orgnr": OPERATOR, "scopes": [KRR_SCOPES[0]]}
            ]
        },
    ) as s:
        yield s


@pytest.fixture(scope="module")
def pki(sim: SimProcess) -> TestPki:
    return operator_pki(sim, OPERATOR)


@pytest.fixture
def mp(sim: SimProcess, pki: TestPki) -> MaskinportenClient:
    creds = load_credentials(pki.p12_path(OPERATOR), TEST_P12_PASSWORD)
    return MaskinportenClient(sim.url + "/maskinporten/", "innbyggerpost-demo", creds, backoff=0.01)


@pytest.fixture(autouse=True)
def normal(sim: SimProcess) -> Iterator[None]:
    sim.post("/_sim/krr", {"reset": True, "mode": "normal", "reject_tokens": 0})
    yield
    sim.post("/_sim/krr", {"mode": "normal", "reject_tokens": 0})


def settings(sim: SimProcess, **overrides: Any) -> Settings:
    base = Settings(
        krr_url=sim.url + "/kontaktregisteret",
        krr_paa_vegne_av="",
        krr_batch_size=1000,
        connect_timeout=2.0,
        read_timeout=5.0,
        call_attempts=3,
        call_backoff=0.01,
    )
    return dataclasses.replace(base, **overrides)


def tokens_issued(sim: SimProcess) -> int:
    return int(sim.stats()["maskinporten"]["tokens_issued"])


def test_seed_persons_with_their_postbox_certificates(
    sim: SimProcess, pki: TestPki, mp: MaskinportenClient
) -> None:
    ids = ["01018010018", "02028110068", "03038210008", "04048310058", "05058413730", "06068510048"]
    got = KrrRestClient(settings(sim), mp).hent_personer(ids + ["14019310087", "14019310168"])
    ola = got["01018010018"]
    assert ola.has_postbox and ola.postbox_problem(None) is None
    assert (ola.postkasseadresse, ola.postkasseleverandoer_adresse) == ("ola.nordmann#1A2B", DIGIPOST)
    assert ola.sertifikat == pki.postbox(DIGIPOST).certificate_der()
    assert (ola.epostadresse, ola.mobiltelefonnummer, ola.varslingsstatus) == (
        "ola.digipost@example.no",
        "+4799000001",
        "KAN_VARSLES",
    )
    assert got["02028110068"].sertifikat == pki.postbox(EBOKS).certificate_der()
    assert not got["03038210008"].has_postbox and got["03038210008"].epostadresse
    assert got["04048310058"].reserved and got["04048310058"].sertifikat is None
    assert got["05058413730"].status == "IKKE_REGISTRERT" and got["06068510048"].status == "SLETTET"
    # a postbox KRR gives no certificate for is no postbox
    without = got["14019310087"]
    assert without.has_digital_post and not without.has_postbox and without.sertifikat is None
    # an expired certificate: there, but the domain refuses it
    expired = got["14019310168"]
    assert expired.has_postbox and expired.sertifikat_gyldig_til is not None
    assert "expired on" in (expired.postbox_problem(datetime.now(UTC)) or "")
    stats = sim.stats()["krr"]
    assert stats["calls"] == 1 and stats["batch_sizes"] == [8]


def test_calls_of_at_most_1000_ids_on_one_token(sim: SimProcess, mp: MaskinportenClient) -> None:
    ids = [f"{20000000000 + i}" for i in range(2500)]  # not in the seed: IKKE_REGISTRERT
    before = tokens_issued(sim)
    got = KrrRestClient(settings(sim), mp).hent_personer(ids + ids[:10])
    assert len(got) == 2500 and all(p.status == "IKKE_REGISTRERT" for p in got.values())
    assert sim.stats()["krr"]["batch_sizes"] == [1000, 1000, 500]
    assert tokens_issued(sim) == before + 1 and mp.requests == 1


def test_401_renews_the_token_once(sim: SimProcess, mp: MaskinportenClient) -> None:
    client = KrrRestClient(settings(sim), mp)
    first = mp.token(KRR_SCOPES)
    sim.post("/_sim/krr", {"reject_tokens": 1})
    assert client.hent_personer(["01018010018"])["01018010018"].has_postbox
    krr = sim.stats()["krr"]
    assert krr["tokens_rejected"] == 1 and krr["calls"] == 1  # the 401 came before the look-up
    assert mp.requests == 2 and mp.token(KRR_SCOPES) != first  # a new token, cached again
    # twice in a row: given up after one renewal, not retried in a loop
    sim.post("/_sim/krr", {"reject_tokens": 5})
    with pytest.raises(RegistryUnavailable, match="refused a fresh Maskinporten token"):
        client.hent_personer(["01018010018"])
    # the cached token refused, one new token refused too: two rejections, one more token request
    assert sim.stats()["krr"]["tokens_rejected"] == 3 and mp.requests == 3


def test_fields_follow_the_token_scopes(sim: SimProcess, pki: TestPki) -> None:
    creds = load_credentials(pki.p12_path(OPERATOR), TEST_P12_PASSWORD)
    narrow = MaskinportenClient(sim.url + "/maskinporten/", "kontakt-only", creds)
    token = narrow.token([KRR_SCOPES[0]])
    r = requests.post(
        sim.url + "/kontaktregisteret/rest/v2/personer",
        json={"personidentifikatorer": ["01018010018"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    person = r.json()["personer"][0]
    assert person["kontaktinformasjon"]["epostadresse"] == "ola.digipost@example.no"
    assert "digital_post" not in person and "sertifikat" not in person
    # the client with such a token: contact data, no postbox
    client = KrrRestClient(settings(sim), _FixedScopes(narrow, [KRR_SCOPES[0]]))
    assert not client.hent_personer(["01018010018"])["01018010018"].has_postbox


class _FixedScopes:
    def __init__(self, mp: MaskinportenClient, scopes: list[str]) -> None:
        self.mp, self.scopes = mp, scopes

    def token(self, scopes: Any, consumer_org: str | None = None) -> str:
        return self.mp.token(self.scopes, consumer_org)

    def invalidate(self, token: str) -> None:
        self.mp.invalidate(token)


def test_tokens_refused_without_a_krr_scope_or_without_a_token(
    sim: SimProcess, mp: MaskinportenClient
) -> None:
    url = sim.url + "/kontaktregisteret/rest/v2/personer"
    body = {"personidentifikatorer": ["01018010018"]}
    r = requests.post(url, json=body, timeout=5)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = requests.post(url, json=body, headers={"Authorization": "Bearer " + mp.token(DPI_SCOPES)}, timeout=5)
    assert r.status_code == 403 and "insufficient_scope" in r.headers["WWW-Authenticate"]
    r = requests.post(
        url,
        json={"personidentifikatorer": ["1"] * 1001},
        headers={"Authorization": "Bearer " + mp.token(KRR_SCOPES)},
        timeout=5,
    )
    assert r.status_code == 400 and "at most 1000" in r.json()["detail"]
    assert sim.stats()["krr"]["calls"] == 1  # only the last one reached the look-up


def test_missing_krr_scope_on_the_client_names_the_setting(sim: SimProcess, pki: TestPki) -> None:
    creds = load_credentials(pki.p12_path(OPERATOR), TEST_P12_PASSWORD)
    narrow = MaskinportenClient(sim.url + "/maskinporten/", "kontakt-only", creds)
    with pytest.raises(RegistryUnavailable, match="INNBYGGERPOST_MASKINPORTEN_CLIENT_ID"):
        KrrRestClient(settings(sim), narrow).hent_personer(["01018010018"])
    assert sim.stats()["krr"]["calls"] == 0


@pytest.mark.parametrize("mode", ["fault", "http500"])
def test_failures_retried_then_given_up(sim: SimProcess, mp: MaskinportenClient, mode: str) -> None:
    sim.post("/_sim/krr", {"mode": mode})
    with pytest.raises(RegistryUnavailable, match="after 3 attempts"):
        KrrRestClient(settings(sim), mp).hent_personer(["01018010018"])
    assert sim.stats()["krr"]["calls"] == 3


def test_timeout_retried(sim: SimProcess, mp: MaskinportenClient) -> None:
    sim.post("/_sim/krr", {"mode": "slow", "slow_seconds": 2})
    with pytest.raises(RegistryUnavailable, match="timeout"):
        KrrRestClient(settings(sim, read_timeout=0.5, call_attempts=2), mp).hent_personer(["01018010018"])
    assert sim.stats()["krr"]["calls"] == 2


def test_consumer_org_from_paa_vegne_av(sim: SimProcess, mp: MaskinportenClient) -> None:
    KrrRestClient(settings(sim, krr_paa_vegne_av="974760673"), mp).hent_personer(["01018010018"])
    assert sim.stats()["krr"]["paa_vegne_av"] == ["974760673"]


def test_print_certificate(sim: SimProcess, pki: TestPki, mp: MaskinportenClient) -> None:
    r = requests.get(
        sim.url + "/kontaktregisteret/rest/v2/printSertifikat",
        headers={"Authorization": "Bearer " + mp.token(KRR_SCOPES)},
        timeout=5,
    )
    assert r.status_code == 200
    assert r.json()["postkasseleverandoerAdresse"] == DIGIPOST and r.json()["x509Sertifikat"]


def test_behind_the_gateway_many_threads_share_calls_and_one_token(
    sim: SimProcess, mp: MaskinportenClient
) -> None:
    gateway = KrrGateway(
        KrrRestClient(settings(sim), mp), batch_wait=0.05, max_concurrent_calls=1, time_budget=10
    )
    before = tokens_issued(sim)
    results: list[bool] = []
    ids = [f"{30000000000 + i}" for i in range(40)] + ["01018010018"]

    def look(pid: str) -> None:
        results.append(gateway.hent_personer([pid])[pid].personidentifikator == pid)

    threads = [threading.Thread(target=look, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == [True] * len(ids)
    calls = sim.stats()["krr"]["calls"]
    assert calls == gateway.calls and calls < len(ids) / 2  # coalesced
    assert tokens_issued(sim) == before + 1
