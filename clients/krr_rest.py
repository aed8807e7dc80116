"""KRR adapter: ``ContactRegistry`` over KRR's REST API (kontaktregisteret, SPEC-transports §2).

- ``POST {INNBYGGERPOST_KRR_URL}/rest/v2/personer`` with ``{"personidentifikatorer": [...]}``, at
  most ``settings.krr_batch_size`` (≤ 1000) distinct ids a call, ``Authorization: Bearer`` a
  Maskinporten token with the KRR scopes (``krr:global/kontaktinformasjon.read``,
  ``krr:global/digitalpost.read``), for ``INNBYGGERPOST_KRR_PAA_VEGNE_AV`` (the token's
  ``consumer_org``) when set. The token comes from the process's one ``MaskinportenClient`` (its
  cache: one token for many calls).
- A 401 means the token is no longer good: it is invalidated and the call made once more with a new
  one; a second 401 gives up. 403 (a scope missing) is a configuration error, not retried.
- Connection errors, timeouts and 5xx are retried with backoff (``call_with_retries``); every failure
  ends in ``RegistryUnavailable``, which the KRR gateway and the insert turn into the KRR fault.

Parsing is lenient where the API is (no OpenAPI file is published): unknown fields, unknown nested
objects and fields in another case are ignored; strict where a wrong reading would misroute a letter:
exactly one person per requested id, a known ``status``, and ``reservasjon`` JA/NEI for an ``AKTIV``
person (a missing person is not "not registered": it could be a reserved citizen). The postbox
certificate (``sertifikat``, base64 DER; PEM armour tolerated) is kept with its expiry; a postbox
without one is no postbox (the domain's rule, ``Person.has_postbox``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import requests

from clients.certificates import CredentialsError, certificate_expiry
from clients.krr_answer import (
    Retryable,
    call_with_retries_or_unavailable,
    look_up_in_calls,
    persons_of_answer,
)
from clients.maskinporten import CLIENT_ID_SETTING, KRR_SCOPES, MaskinportenError
from service.config import Settings
from service.domain.ports import Person, RegistryUnavailable

log = logging.getLogger(__name__)

PATH = "/rest/v2/personer"
MAX_BATCH = 1000
_STATUSES = {"AKTIV", "SLETTET", "IKKE_REGISTRERT"}
_RESERVASJON = {"JA", "NEI"}
_VARSLING = {"KAN_VARSLES", "KAN_IKKE_VARSLES"}


class TokenSource(Protocol):
    """What this adapter needs of ``clients.maskinporten.MaskinportenClient``."""

    def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str: ...

    def invalidate(self, token: str) -> None: ...


def make_session(pool_size: int = 16) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "innbyggerpost"
    if not urllib.request.getproxies():
        session.trust_env = False  # no proxy configured: skip requests' per-call environment look-ups
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4, pool_maxsize=max(16, pool_size), max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class KrrRestClient:
    """``ContactRegistry`` backed by ``POST /rest/v2/personer`` (see the module docstring)."""

    def __init__(
        self, settings: Settings, tokens: TokenSource, session: requests.Session | None = None
    ) -> None:
        if not settings.krr_url:
            raise ValueError(
                "INNBYGGERPOST_KRR_URL is not set (KRR's REST base, e.g. https://kontaktregisteret.no)"
            )
        self.settings = settings
        self.url = settings.krr_url.rstrip("/") + PATH
        self.tokens = tokens
        self.consumer_org = settings.krr_paa_vegne_av or None
        self.batch_size = max(1, min(settings.krr_batch_size, MAX_BATCH))
        self.attempts = max(1, settings.call_attempts)
        self.timeout = (settings.connect_timeout, settings.read_timeout)
        self.session = session or make_session()

    def hent_personer(self, personidentifikatorer: Sequence[str]) -> dict[str, Person]:
        """One ``Person`` per distinct requested id, in calls of at most ``batch_size`` ids;
        ``RegistryUnavailable`` on any failure. Ids must be 11 digits (``ValueError``: a caller bug)."""
        return look_up_in_calls(personidentifikatorer, self.batch_size, self._batch)

    # -- one call ------------------------------------------------------------------------------------
    def _batch(self, batch: list[str]) -> dict[str, Person]:
        what = f"KRR personer ({len(batch)} ids) at {self.url}"
        body = call_with_retries_or_unavailable(
            lambda: self._call(batch), self.attempts, self.settings.call_backoff, what
        )
        return parse_personer(batch, body)

    def _token(self) -> str:
        try:
            return self.tokens.token(KRR_SCOPES, self.consumer_org)
        except (MaskinportenError, CredentialsError) as exc:
            log.error("no Maskinporten token for KRR: %s", exc)
            raise RegistryUnavailable(f"no Maskinporten token for KRR: {exc}") from exc

    def _call(self, batch: list[str]) -> Any:
        token = self._token()
        response = self._post(batch, token)
        if response.status_code == 401:
            # the token was revoked or expired early: a new one, once
            log.info(
                "KRR answered 401 (%s); renewing the token once", response.headers.get("WWW-Authenticate", "")
            )
            self.tokens.invalidate(token)
            response = self._post(batch, self._token())
            if response.status_code == 401:
                raise RegistryUnavailable(
                    f"KRR refused a fresh Maskinporten token too (401: {_short(response)}); check that "
                    f"{CLIENT_ID_SETTING} is a client of the Maskinporten KRR trusts"
                )
        status = response.status_code
        if status >= 500:
            raise Retryable(f"HTTP {status}: {_short(response)}")
        if status == 403:
            raise RegistryUnavailable(
                f"KRR refused the token (403: {_short(response)}): the client {CLIENT_ID_SETTING}="
                f"{getattr(self.tokens, 'client_id', '?')!r} needs the scopes {' '.join(KRR_SCOPES)}"
            )
        if status != 200:
            raise RegistryUnavailable(f"KRR answered HTTP {status}: {_short(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryUnavailable(
                f"KRR answered 200 with a body that is not JSON: {_short(response)}"
            ) from exc

    def _post(self, batch: list[str], token: str) -> requests.Response:
        try:
            return self.session.post(
                self.url,
                json={"personidentifikatorer": batch},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise Retryable(f"timeout ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            raise Retryable(f"connection failed: {exc}") from exc
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"KRR call failed: {exc}") from exc


def _short(response: requests.Response, limit: int = 200) -> str:
    text = response.text or ""
    return text if len(text) <= limit else text[:limit] + "..."


# -- parsing (pure: unit-tested without a network) -------------------------------------------------------
def _field(obj: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` present, compared without case (lenient: ``postkasseleverandoerAdresse``
    and ``postkasseleverandoeradresse`` both)."""
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def decode_certificate(value: Any) -> bytes | None:
    """``sertifikat``: base64 DER (PEM armour and line breaks tolerated); None when absent or not base64."""
    text = _text(value)
    if text is None:
        return None
    if "-----BEGIN" in text:
        text = text.split("-----", 2)[2].rsplit("-----END", 1)[0]
    try:
        return base64.b64decode("".join(text.split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def parse_person(raw: Any) -> Person:
    if not isinstance(raw, Mapping):
        raise ValueError(f"a person that is not an object: {str(raw)[:80]}")
    pid = _text(_field(raw, "personidentifikator"))
    if not pid:
        raise ValueError("a person without personidentifikator")
    status = (_text(_field(raw, "status")) or "").upper() or None
    reservasjon = (_text(_field(raw, "reservasjon")) or "").upper() or None
    varsling = (_text(_field(raw, "varslingsstatus")) or "").upper() or None
    if status not in _STATUSES:
        raise ValueError(f"person {pid}: unknown or missing status {status!r}")
    if status == "AKTIV" and reservasjon not in _RESERVASJON:
        raise ValueError(f"person {pid}: AKTIV without a valid reservasjon ({reservasjon!r})")
    if reservasjon is not None and reservasjon not in _RESERVASJON:
        raise ValueError(f"person {pid}: unknown reservasjon {reservasjon!r}")
    if varsling is not None and varsling not in _VARSLING:
        log.warning("KRR person %s: unknown varslingsstatus %r read as none", pid, varsling)
        varsling = None
    kontakt = _field(raw, "kontaktinformasjon")
    kontakt = kontakt if isinstance(kontakt, Mapping) else {}
    digital = _field(raw, "digital_post", "digitalPost")
    digital = digital if isinstance(digital, Mapping) else {}
    sertifikat = decode_certificate(_field(raw, "sertifikat"))
    return Person(
        personidentifikator=pid,
        status=status,
        reservasjon=reservasjon,
        varslingsstatus=varsling,
        epostadresse=_text(_field(kontakt, "epostadresse")),
        mobiltelefonnummer=_text(_field(kontakt, "mobiltelefonnummer")),
        postkasseadresse=_text(_field(digital, "postkasseadresse")),
        postkasseleverandoer_adresse=_text(_field(digital, "postkasseleverandoeradresse")),
        sertifikat=sertifikat,
        sertifikat_gyldig_til=certificate_expiry(sertifikat),
    )


def parse_personer(batch: Sequence[str], body: Any) -> dict[str, Person]:
    """KRR's answer to one call for ``batch``: every requested id exactly once, nothing else."""
    personer = _field(body, "personer") if isinstance(body, Mapping) else None
    if not isinstance(personer, list):
        raise RegistryUnavailable(f"KRR answer has no personer list: {str(body)[:200]}")
    return persons_of_answer(batch, personer, parse_person)
