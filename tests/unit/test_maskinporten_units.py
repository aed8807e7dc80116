"""Maskinporten client without a network: the grant assertion's header and claims, cache keys, the
cache's freshness rule, the errors' texts; the certificate loader (PKCS#12, PEM, bad input)."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from clients.certificates import CredentialsError, load_credentials
from clients.maskinporten import (
    KRR_SCOPES,
    MAX_ASSERTION_LIFETIME,
    MaskinportenClient,
    MaskinportenRefused,
    cache_key,
)
from simulators.pki import TEST_P12_PASSWORD, TestPki

ISSUER = "https://test.maskinporten.no/"
ORGNR = "910646192"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    pki = TestPki(tmp_path_factory.mktemp("pki"))
    pki.enterprise(ORGNR)
    return pki


@pytest.fixture(scope="module")
def creds(pki: TestPki) -> Any:
    return load_credentials(pki.p12_path(ORGNR), TEST_P12_PASSWORD)


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self._body = body
        self.text = str(body)

    def json(self) -> dict[str, Any]:
        return self._body


class FakeSession:
    """Answers token requests with numbered tokens; records the assertions."""

    def __init__(self, expires_in: int = 120, answer: FakeResponse | None = None) -> None:
        self.assertions: list[str] = []
        self.expires_in = expires_in
        self.answer = answer
        self.lock = threading.Lock()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def post(self, url: str, data: dict[str, str], **_: Any) -> FakeResponse:
        assert url == ISSUER + "token"
        with self.lock:
            self.assertions.append(data["assertion"])
            n = len(self.assertions)
        self.entered.set()
        self.release.wait(5)
        if self.answer is not None:
            return self.answer
        return FakeResponse(
            200, {"access_token": f"token-{n}", "token_type": "Bearer", "expires_in": self.expires_in}
        )


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(creds: Any, session: FakeSession, clock: Clock | None = None, **kw: Any) -> MaskinportenClient:
    return MaskinportenClient(ISSUER, "client-1", creds, session=session, clock=clock or Clock(), **kw)  # type: ignore[arg-type]


def test_assertion_header_and_claims(creds: Any) -> None:
    clock = Clock()
    mp = make(creds, FakeSession(), clock)
    token = mp.assertion(["b", "a", "a"], consumer_org="974760673")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and "kid" not in header
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert leaf == creds.certificate  # leaf first, then the chain
    assert len(header["x5c"]) == 1 + len(creds.chain)
    claims = jwt.decode(
        token,
        creds.certificate.public_key(),
        algorithms=["RS256"],
        audience=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert set(claims) == {"aud", "iss", "scope", "iat", "exp", "jti", "consumer_org"}
    assert claims["aud"] == ISSUER and claims["iss"] == "client-1"
    assert claims["scope"] == "a b"
    assert claims["iat"] == int(clock.now)
    assert 0 < claims["exp"] - claims["iat"] <= MAX_ASSERTION_LIFETIME
    assert claims["consumer_org"] == "974760673"
    assert mp.assertion(["a"]) != mp.assertion(["a"])  # a fresh jti each time
    assert jwt.decode(mp.assertion(["a"]), options={"verify_signature": False})["jti"] != claims["jti"]


def test_assertion_with_kid_and_resource(creds: Any) -> None:
    mp = make(
        creds, FakeSession(), kid="key-7", resource="https://dpi.example/", assertion_lifetime_seconds=500
    )
    token = mp.assertion(["a"])
    header = jwt.get_unverified_header(token)
    assert header["kid"] == "key-7" and "x5c" not in header
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["resource"] == "https://dpi.example/"
    assert claims["exp"] - claims["iat"] == MAX_ASSERTION_LIFETIME  # capped
    assert "consumer_org" not in claims


def test_cache_keys() -> None:
    assert cache_key(["a", "b"]) == cache_key(["b", "a", "a"])
    assert cache_key(["a"]) != cache_key(["a", "b"])
    assert cache_key(["a"], "974760673") != cache_key(["a"])
    assert cache_key(["a"], "") == cache_key(["a"], None)


def test_cache_per_scope_set_and_consumer_renewed_before_expiry(creds: Any) -> None:
    clock, session = Clock(), FakeSession(expires_in=120)
    mp = make(creds, session, clock, renew_before_seconds=30)
    t1 = mp.token(KRR_SCOPES)
    assert mp.token(list(reversed(KRR_SCOPES))) == t1
    assert mp.token(["x"]) != t1 and mp.token(KRR_SCOPES, "974760673") not in (t1,)
    assert len(session.assertions) == 3
    clock.now += 89
    assert mp.token(KRR_SCOPES) == t1  # 31 s left: still fresh
    clock.now += 2
    t2 = mp.token(KRR_SCOPES)  # 29 s left: renewed before it runs out
    assert t2 != t1 and len(session.assertions) == 4


def test_one_request_in_flight_per_key(creds: Any) -> None:
    session = FakeSession()
    session.release.clear()
    mp = make(creds, session)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(mp.token(["a"]))) for _ in range(8)]
    for t in threads:
        t.start()
    assert session.entered.wait(5)
    session.release.set()
    for t in threads:
        t.join(5)
    assert got == ["token-1"] * 8 and len(session.assertions) == 1


@pytest.mark.parametrize(
    "error, names",
    [
        ("invalid_scope", ["INNBYGGERPOST_MASKINPORTEN_CLIENT_ID", "a b"]),
        (
            "invalid_grant",
            ["INNBYGGERPOST_MASKINPORTEN_CLIENT_ID", "INNBYGGERPOST_CERTIFICATE_FILE", "clock"],
        ),
        ("invalid_request", ["INNBYGGERPOST_MASKINPORTEN_URL"]),
    ],
)
def test_refusals_name_the_setting(creds: Any, error: str, names: list[str]) -> None:
    session = FakeSession(answer=FakeResponse(400, {"error": error, "error_description": "nope"}))
    with pytest.raises(MaskinportenRefused) as info:
        make(creds, session).token(["b", "a"])
    for name in names:
        assert name in str(info.value)
    assert info.value.error == error and len(session.assertions) == 1


def test_settings_required(creds: Any) -> None:
    with pytest.raises(ValueError, match="INNBYGGERPOST_MASKINPORTEN_URL"):
        MaskinportenClient("", "c", creds)
    with pytest.raises(ValueError, match="INNBYGGERPOST_MASKINPORTEN_CLIENT_ID"):
        MaskinportenClient(ISSUER, "", creds)


# -- the certificate loader -----------------------------------------------------------------------
def test_pkcs12_and_pem_give_the_same_credentials(pki: TestPki, creds: Any, tmp_path: Path) -> None:
    pair = pki.enterprise(ORGNR)
    assert creds.certificate == pair.certificate and creds.chain == (pki.ca().certificate,)
    assert creds.organisation_number() == ORGNR
    pem = tmp_path / "both.pem"
    key = pair.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    # the CA first, then the key, then the leaf: the leaf is found by its key
    pem.write_bytes(
        pki.ca().certificate.public_bytes(serialization.Encoding.PEM)
        + key
        + pair.certificate.public_bytes(serialization.Encoding.PEM)
    )
    loaded = load_credentials(pem, "pw")
    assert loaded.certificate == pair.certificate and loaded.chain == (pki.ca().certificate,)


def test_loader_errors_name_the_settings(pki: TestPki, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="INNBYGGERPOST_CERTIFICATE_FILE is not set"):
        load_credentials("", None)
    with pytest.raises(CredentialsError, match="cannot be read"):
        load_credentials(tmp_path / "missing.p12", None)
    with pytest.raises(CredentialsError, match="INNBYGGERPOST_CERTIFICATE_PASSWORD"):
        load_credentials(pki.p12_path(ORGNR), "wrong")
    only_cert = tmp_path / "cert.pem"
    only_cert.write_bytes(pki.ca().certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(CredentialsError, match="no private key"):
        load_credentials(only_cert, None)
    other = tmp_path / "mismatch.pem"
    other.write_bytes(
        pki.ca().certificate.public_bytes(serialization.Encoding.PEM)
        + pki.postbox("984661185").private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(CredentialsError, match="matches its private key"):
        load_credentials(other, None)


def test_container_credentials_demo_mode_uses_the_test_pki(tmp_path: Path) -> None:
    from service.bootstrap import bootstrap
    from service.config import Settings

    demo = bootstrap(Settings(demo_mode=True, sim_pki_dir=str(tmp_path), certificate_file=""))
    assert demo.credentials.organisation_number() == ORGNR
    assert demo.maskinporten.client_id == "innbyggerpost-demo"
    assert demo.maskinporten is demo.maskinporten  # one per process: one token cache
    with pytest.raises(CredentialsError, match="INNBYGGERPOST_CERTIFICATE_FILE is not set"):
        bootstrap(Settings(demo_mode=False, certificate_file="")).credentials  # noqa: B018


def test_token_requests_counted_by_outcome(creds: Any) -> None:
    from prometheus_client import REGISTRY

    def count(outcome: str) -> float:
        name = "innbyggerpost_maskinporten_token_requests_total"
        return REGISTRY.get_sample_value(name, {"outcome": outcome}) or 0.0

    issued, refused = count("issued"), count("refused")
    mp = make(creds, FakeSession())
    mp.token(["a"])
    mp.token(["a"])  # cached: no request
    assert count("issued") == issued + 1
    with pytest.raises(MaskinportenRefused):
        make(creds, FakeSession(answer=FakeResponse(400, {"error": "invalid_scope"}))).token(["a"])
    assert count("refused") == refused + 1


def test_service_starts_without_a_certificate_and_a_lookup_names_the_setting() -> None:
    from service.bootstrap import bootstrap
    from service.config import Settings
    from service.domain.ports import RegistryUnavailable

    container = bootstrap(Settings(demo_mode=False, certificate_file=""))
    client = container.krr_client  # built at start: no certificate needed yet
    with pytest.raises(RegistryUnavailable, match="INNBYGGERPOST_CERTIFICATE_FILE is not set"):
        client.hent_personer(["01018010018"])


def test_short_lived_token_renewed_half_way(creds: Any) -> None:
    clock, session = Clock(), FakeSession(expires_in=20)
    mp = make(creds, session, clock, renew_before_seconds=30)
    t1 = mp.token(["a"])
    clock.now += 9
    assert mp.token(["a"]) == t1  # not one request per call although it lives less than 30 s
    clock.now += 2
    assert mp.token(["a"]) != t1 and len(session.assertions) == 2
