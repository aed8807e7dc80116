"""Helpers for the Altinn 3 tests: the simulator on a real socket, tokens as the simulated
Maskinporten mints them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from simulators.altinn3 import CONTRACT_NAME, Altinn3App, Altinn3State, Contract
from simulators.app import make_server
from simulators.bearer import mint_access_token
from simulators.pki import TestPki
from tests.support.reference import reference_dir, require

ISSUER = "https://test.maskinporten.no/"


def contract_file() -> Path:
    return require(reference_dir() / CONTRACT_NAME)


@dataclass
class SimTokens:
    """A TokenProvider minting tokens with the simulated Maskinporten's key; counts what it did."""

    pki: TestPki
    orgnr: str = "910646192"
    issued: list[str] = field(default_factory=list)
    invalidated: list[str] = field(default_factory=list)
    _cache: dict[tuple[str, ...], str] = field(default_factory=dict)

    def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str:
        key = tuple(sorted(scopes))
        if key not in self._cache:
            tok, _ = mint_access_token(
                self.pki.signing_key("maskinporten"),
                issuer=ISSUER,
                client_id="innbyggerpost-test",
                orgnr=self.orgnr,
                scopes=scopes,
                lifetime_seconds=300,
                consumer_org=consumer_org,
            )
            self._cache[key] = tok
            self.issued.append(tok)
        return self._cache[key]

    def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        for k, v in list(self._cache.items()):
            if v == token:
                del self._cache[k]


@dataclass
class RunningSim:
    app: Altinn3App
    url: str  # base URL of the platform (…/altinn3)

    @property
    def state(self) -> Altinn3State:
        return self.app.state

    def control(self, path: str, **payload: Any) -> Any:
        r = requests.post(f"{self.url}/_sim/{path}", json=payload, timeout=5)
        r.raise_for_status()
        return r.json()


@contextmanager
def running_altinn3(pki: TestPki, reserved: Sequence[str] = ()) -> Iterator[RunningSim]:
    app = Altinn3App(
        pki.signing_key("maskinporten").public_key(), Contract(contract_file()), Altinn3State(reserved)
    )
    server = make_server("127.0.0.1", 0, app, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield RunningSim(app, f"http://127.0.0.1:{server.effective_port}/altinn3")
    finally:
        server.close()
