"""MaskinportenClient against the Maskinporten simulator (a real ``innbyggerpost simulate`` process,
real sockets): the grant, the token cache shared by threads, renewal, invalidation, refusals that
name the setting to fix, replayed and malformed assertions, retries on 5xx."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from clients.certificates import Credentials, load_credentials
from clients.maskinporten import (
    DPI_SCOPES,
    GRANT_TYPE,
    KRR_SCOPES,
    MaskinportenClient,
    MaskinportenRefused,
    MaskinportenUnavailable,
)
from simulators.bearer import verify_bearer
from simulators.pki import TEST_P12_PASSWORD, TestPki
from tests.support.harness import wait_until
from tests.support.simprocess import SimProcess, simulators

OPERATOR = "910646192"
OTHER_ORG = "974760673"

JWK_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(JWK_KEY.public_key())), "kid": "jwk-1"}

EXTRA_CLIENTS = [
    {"client_id": "with-jwk", "orgnr": OPERATOR, "jwk": JWK, "scopes": list(KRR_SCOPES)},
    {"client_id": "narrow", "orgnr": OPERATOR, "scopes": list(KRR_SCOPES)},
    {"client_id": "short-lived", "orgnr": OPERATOR, "scopes": list(KRR_SCOPES), "token_lifetime_seconds": 4},
    {
        "client_id": "with-kid",
        "orgnr": OPERATOR,
        "kid": "key-1",
        "key": "client-key-1",
        "scopes": list(DPI_SCOPES),
    },
]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with simulators("innbyggerpost-mp-", {"maskinporten_clients": EXTRA_CLIENTS}) as s:
        yield s


@pytest.fixture(scope="module")
def pki(sim: SimProcess) -> TestPki:
    return TestPki(sim.pki_dir)


@pytest.fixture(scope="module")
def creds(pki: TestPki) -> Credentials:
    pki.enterprise(OPERATOR)
    return load_credentials(pki.p12_path(OPERATOR), TEST_P12_PASSWORD)


def issuer(sim: SimProcess) -> str:
    return sim.url + "/maskinporten/"


def client(
    sim: SimProcess, creds: Credentials, client_id: str = "innbyggerpost-demo", **kw: Any
) -> MaskinportenClient:
    kw.setdefault("connect_timeout", 2)
    kw.setdefault("read_timeout", 5)
    kw.setdefault("backoff", 0.05)
    return MaskinportenClient(issuer(sim), client_id, creds, **kw)


def issued(sim: SimProcess, client_id: str) -> int:
    return int(sim.stats()["maskinporten"]["tokens"].get(client_id, 0))


def test_metadata_and_jwks(sim: SimProcess) -> None:
    meta = requests.get(issuer(sim) + ".well-known/oauth-authorization-server", timeout=5).json()
    assert meta["issuer"] == issuer(sim)
    assert meta["token_endpoint"] == issuer(sim) + "token"
    keys = requests.get(meta["jwks_uri"], timeout=5).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["kid"]


def test_token_is_a_maskinporten_token_the_resource_servers_accept(
    sim: SimProcess, pki: TestPki, creds: Credentials
) -> None:
    mp = client(sim, creds)
    token = mp.token(KRR_SCOPES)
    key = pki.signing_key("maskinporten").public_key()
    claims = verify_bearer(f"Bearer {token}", key, KRR_SCOPES, issuer=issuer(sim))
    assert claims["client_id"] == "innbyggerpost-demo"
    assert claims["consumer"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{OPERATOR}"}
    # acting for an agency: consumer = the agency, supplier = the operator
    on_behalf = mp.token(KRR_SCOPES, consumer_org=OTHER_ORG)
    assert on_behalf != token
    claims = verify_bearer(f"Bearer {on_behalf}", key, KRR_SCOPES, issuer=issuer(sim))
    assert claims["consumer"]["ID"] == f"0192:{OTHER_ORG}" and claims["supplier"]["ID"] == f"0192:{OPERATOR}"


def test_one_token_for_many_calls_from_many_threads(sim: SimProcess, creds: Credentials) -> None:
    mp = client(sim, creds)
    before = issued(sim, "innbyggerpost-demo")
    tokens: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def work() -> None:
        start.wait()
        for _ in range(25):
            t = mp.token(list(reversed(DPI_SCOPES + KRR_SCOPES)))  # order does not matter
            with lock:
                tokens.append(t)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(tokens) == 400 and len(set(tokens)) == 1
    assert mp.requests == 1
    assert issued(sim, "innbyggerpost-demo") == before + 1


def test_token_renewed_before_it_expires(sim: SimProcess, creds: Credentials) -> None:
    mp = client(sim, creds, "short-lived", renew_before_seconds=2)
    first = mp.token(KRR_SCOPES)
    assert mp.token(KRR_SCOPES) == first  # fresh: from the cache
    # the token lives 4 s; 2 s before that the next caller gets a new one (still valid meanwhile)
    second = wait_until(lambda: (t := mp.token(KRR_SCOPES)) != first and t, 10, "a renewed token")
    assert issued(sim, "short-lived") == 2
    payload = jwt.decode(first, options={"verify_signature": False})
    assert payload["exp"] >= time.time() - 1  # the old one had not yet expired when it was replaced
    assert second != first


def test_invalidate_after_a_401_gets_a_new_token(sim: SimProcess, creds: Credentials) -> None:
    mp = client(sim, creds)
    first = mp.token(DPI_SCOPES)
    mp.invalidate("not-the-cached-token")
    assert mp.token(DPI_SCOPES) == first
    mp.invalidate(first)
    second = mp.token(DPI_SCOPES)
    assert second != first and mp.requests == 2


def test_refused_scope_names_the_setting(sim: SimProcess, creds: Credentials) -> None:
    mp = client(sim, creds, "narrow")
    with pytest.raises(MaskinportenRefused) as info:
        mp.token(DPI_SCOPES)
    assert info.value.error == "invalid_scope"
    assert "INNBYGGERPOST_MASKINPORTEN_CLIENT_ID" in str(info.value)
    assert "digitalpostinnbygger:send" in str(info.value)
    assert mp.requests == 1  # a refusal is not retried
    assert sim.stats()["maskinporten"]["refused"].get("invalid_scope", 0) >= 1


def test_unknown_client_and_foreign_certificate_name_the_settings(
    sim: SimProcess, pki: TestPki, creds: Credentials
) -> None:
    with pytest.raises(MaskinportenRefused) as info:
        client(sim, creds, "no-such-client").token(KRR_SCOPES)
    assert info.value.error == "invalid_grant" and "INNBYGGERPOST_MASKINPORTEN_CLIENT_ID" in str(info.value)
    pki.enterprise(OTHER_ORG)
    other = load_credentials(pki.p12_path(OTHER_ORG), TEST_P12_PASSWORD)
    with pytest.raises(MaskinportenRefused) as info:
        client(sim, other).token(KRR_SCOPES)
    assert info.value.error == "invalid_grant"
    assert "INNBYGGERPOST_CERTIFICATE_FILE" in str(info.value)
    assert OPERATOR in info.value.description


def test_registered_key_with_kid(sim: SimProcess, pki: TestPki, creds: Credentials) -> None:
    key = pki.signing_key("client-key-1")
    with_key = Credentials(creds.certificate, key, creds.chain)  # kid mode: only the key is used
    token = client(sim, with_key, "with-kid", kid="key-1").token(DPI_SCOPES)
    assert verify_bearer(f"Bearer {token}", pki.signing_key("maskinporten").public_key(), DPI_SCOPES)
    with pytest.raises(MaskinportenRefused) as info:
        client(sim, with_key, "with-kid", kid="key-2").token(DPI_SCOPES)
    assert "INNBYGGERPOST_MASKINPORTEN_KID" in str(info.value)
    with pytest.raises(MaskinportenRefused):  # the enterprise key is not the registered one
        client(sim, creds, "with-kid", kid="key-1").token(DPI_SCOPES)


def test_registered_jwk(sim: SimProcess, creds: Credentials) -> None:
    with_jwk = Credentials(creds.certificate, JWK_KEY, creds.chain)
    assert client(sim, with_jwk, "with-jwk", kid="jwk-1").token(KRR_SCOPES)
    with pytest.raises(MaskinportenRefused, match="INNBYGGERPOST_MASKINPORTEN_KID"):
        client(sim, creds, "with-jwk", kid="jwk-1").token(KRR_SCOPES)  # another key under that kid


def _grant(sim: SimProcess, assertion: str) -> requests.Response:
    return requests.post(
        issuer(sim) + "token", data={"grant_type": GRANT_TYPE, "assertion": assertion}, timeout=5
    )


def test_replayed_assertion_is_refused(sim: SimProcess, creds: Credentials) -> None:
    assertion = client(sim, creds).assertion(KRR_SCOPES)
    first = _grant(sim, assertion)
    assert first.status_code == 200, first.text
    again = _grant(sim, assertion)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant" and "jti" in again.json()["error_description"]


def _signed(creds: Credentials, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(
        claims,
        creds.private_key,
        algorithm="RS256",
        headers={"x5c": creds.x5c()} if headers is None else headers,
    )


@pytest.mark.parametrize(
    "change, why",
    [
        ({"aud": "https://maskinporten.no/"}, "aud"),
        ({"exp_after": 300}, "at most 120"),
        ({"extra": "x"}, "unknown claim"),
        ({"no_jti": True}, "jti"),
        ({"iat_shift": 3600}, "future"),
        ({"exp_after": -60, "iat_shift": -120}, "expired"),
    ],
)
def test_assertions_the_real_one_refuses(
    sim: SimProcess, creds: Credentials, change: dict[str, Any], why: str
) -> None:
    now = int(time.time()) + int(change.get("iat_shift", 0))
    claims: dict[str, Any] = {
        "aud": change.get("aud", issuer(sim)),
        "iss": "innbyggerpost-demo",
        "scope": " ".join(KRR_SCOPES),
        "iat": now,
        "exp": now + int(change.get("exp_after", 60)),
        "jti": str(uuid.uuid4()),
    }
    if "extra" in change:
        claims["pid"] = change["extra"]
    if change.get("no_jti"):
        del claims["jti"]
    r = _grant(sim, _signed(creds, claims))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_grant"
    assert why in r.json()["error_description"]


def test_header_needs_exactly_one_of_x5c_and_kid(sim: SimProcess, creds: Credentials) -> None:
    now = int(time.time())
    claims = {
        "aud": issuer(sim),
        "iss": "innbyggerpost-demo",
        "scope": KRR_SCOPES[0],
        "iat": now,
        "exp": now + 60,
    }
    for headers in ({}, {"x5c": creds.x5c(), "kid": "key-1"}):
        r = _grant(sim, _signed(creds, {**claims, "jti": str(uuid.uuid4())}, headers))
        assert r.status_code == 400 and "exactly one of x5c and kid" in r.json()["error_description"]


def test_5xx_retried_with_backoff_then_given_up(sim: SimProcess, creds: Credentials) -> None:
    sim.post("/_sim/maskinporten", {"fail_next": 2})
    mp = client(sim, creds, attempts=3)
    before = sim.stats()["maskinporten"]["requests"]
    assert mp.token(["altinn:serviceowner"])
    assert sim.stats()["maskinporten"]["requests"] == before + 3 and mp.requests == 3
    sim.post("/_sim/maskinporten", {"fail_next": 5})
    mp = client(sim, creds, attempts=2)
    with pytest.raises(MaskinportenUnavailable, match="HTTP 503"):
        mp.token(["altinn:correspondence.write"])
    assert mp.requests == 2
    sim.post("/_sim/maskinporten", {"fail_next": 0})


def test_unreachable_maskinporten_is_unavailable(creds: Credentials) -> None:
    from tests.support.harness import free_port

    mp = MaskinportenClient(
        f"http://127.0.0.1:{free_port()}/", "x", creds, attempts=2, backoff=0.01, connect_timeout=1
    )
    with pytest.raises(MaskinportenUnavailable, match="connection failed"):
        mp.token(KRR_SCOPES)
    assert mp.requests == 2
