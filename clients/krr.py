"""KRR adapter: ``ContactRegistry`` over the SOAP 1.2 oppslagstjeneste 16-02 (``wsdl/krr/``), with zeep.

- ``HentPersoner`` with informasjonsbehov ``Person``, ``Kontaktinfo``, ``SikkerDigitalPost``,
  ``VarslingsStatus``; the ids are de-duplicated and sent in batches of at most
  ``settings.krr_batch_size`` (capped at the contract's 1000).
- Header ``Oppslagstjenesten/PaaVegneAv`` when ``settings.krr_paa_vegne_av`` is set.
- WS-Security when ``settings.krr_cert_file`` and ``settings.krr_key_file`` are both set: a
  ``wsu:Timestamp``, a ``wsse:BinarySecurityToken`` with the certificate and an ``rsa-sha256``
  signature (sha256 digests, exclusive c14n) over the Timestamp and the ``soap:Body``.
- Timeouts from ``make_transport``; ``call_with_retries`` resends a batch on connection errors,
  timeouts, HTTP 5xx without a SOAP answer and SOAP ``Receiver``/``Server`` faults. A ``Sender``
  fault (our request is wrong or refused) is not retried. Every failure ends in ``RegistryUnavailable``.

Response-verification policy: responses are **not** signature-verified (``RESPONSE_SIGNATURE_POLICY``).
The simulator answers unsigned, and the production service signs *and encrypts* its answers, which
zeep cannot decrypt anyway; the server is authenticated by HTTPS. ``_UnverifiedResponseSignature``
makes this explicit: it signs requests and its ``verify`` deliberately accepts any response. Turning on
verification means replacing it with a verifier that holds KRR's certificate (and decryption).

Answer validation: exactly one ``Person`` per requested id, no unknown or duplicate ids, a known
``status``, and a ``reservasjon`` for every ``AKTIV`` person. A missing person is *not* read as
``IKKE_REGISTRERT``: that would silently turn a reserved citizen into "no postbox" (and so into an
Altinn-inbox delivery that ignores the reservation). Any inconsistency raises ``RegistryUnavailable``
instead, so the caller faults the request and the sender retries later (docs/specification.md §2.4).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
import xmlsec
import zeep
from lxml import etree
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError, XMLParseError
from zeep.wsse.compose import Compose
from zeep.wsse.signature import BinarySignature
from zeep.wsse.utils import WSU, ensure_id, get_security_header

from clients.certificates import certificate_expiry
from clients.krr_answer import (
    Retryable,
    call_with_retries_or_unavailable,
    look_up_in_calls,
    persons_of_answer,
)
from clients.transport import make_transport
from service import ns
from service.config import Settings, project_root
from service.domain.ports import Person, RegistryUnavailable

log = logging.getLogger(__name__)

WSDL_PATH: Path = project_root() / "wsdl" / "krr" / "oppslagstjeneste-ws-16-02.wsdl"
BINDING = "{http://kontaktinfo.difi.no/wsdl/oppslagstjeneste-16-02}oppslagstjeneste-16-02_SOAP12Binding"
NS_OT = ns.KRR_OPPSLAGSTJENESTE
INFORMASJONSBEHOV = ("Person", "Kontaktinfo", "SikkerDigitalPost", "VarslingsStatus", "Sertifikat")
MAX_BATCH = 1000  # HentPersonerForespoersel: personidentifikator maxOccurs=1000
RESPONSE_SIGNATURE_POLICY = "not-verified"  # see module docstring
TIMESTAMP_TTL = dt.timedelta(minutes=5)

_STATUSES = {"AKTIV", "SLETTET", "IKKE_REGISTRERT"}
_RESERVASJON = {"JA", "NEI"}
_VARSLING = {"KAN_VARSLES", "KAN_IKKE_VARSLES"}


class _Timestamp:
    """zeep wsse plugin: adds ``wsu:Timestamp`` (Created/Expires, UTC) to ``wsse:Security``.

    Used in ``Compose`` *before* the signature so that the signature covers it.
    """

    def __init__(self, ttl: dt.timedelta = TIMESTAMP_TTL) -> None:
        self.ttl = ttl

    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        now = dt.datetime.now(dt.UTC)

        def fmt(t: dt.datetime) -> str:
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

        security = get_security_header(envelope)
        timestamp = WSU.Timestamp(WSU.Created(fmt(now)), WSU.Expires(fmt(now + self.ttl)))
        ensure_id(timestamp)
        security.append(timestamp)
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        return envelope


class _UnverifiedResponseSignature(BinarySignature):  # type: ignore[misc]
    """Signs requests (BinarySecurityToken + rsa-sha256); response verification policy: none.

    See the module docstring (``RESPONSE_SIGNATURE_POLICY``): the simulator answers unsigned and the
    real service's answers are encrypted as well; the server is authenticated by TLS.
    """

    def verify(self, envelope: Any) -> Any:
        return envelope


def make_wsse(cert_file: str, key_file: str) -> Compose:
    """Timestamp + BinarySecurityToken + rsa-sha256 signature over Timestamp and Body."""
    return Compose(
        [
            _Timestamp(),
            _UnverifiedResponseSignature(
                key_file,
                cert_file,
                signature_method=xmlsec.constants.TransformRsaSha256,
                digest_method=xmlsec.constants.TransformSha256,
            ),
        ]
    )


class KrrClient:
    """``ContactRegistry`` backed by KRR's ``HentPersoner`` (see module docstring)."""

    def __init__(self, settings: Settings, transport: Any | None = None) -> None:
        if not settings.krr_soap_endpoint:
            raise ValueError("INNBYGGERPOST_KRR_SOAP_URL is not set")
        if bool(settings.krr_cert_file) != bool(settings.krr_key_file):
            raise ValueError(
                "set both INNBYGGERPOST_KRR_CERT_FILE and INNBYGGERPOST_KRR_KEY_FILE, or neither"
            )
        self.settings = settings
        self.url = settings.krr_soap_endpoint
        self.batch_size = max(1, min(settings.krr_batch_size, MAX_BATCH))
        self.attempts = max(1, settings.call_attempts)
        wsse = make_wsse(settings.krr_cert_file, settings.krr_key_file) if settings.krr_cert_file else None
        self._client = zeep.Client(
            str(WSDL_PATH),
            transport=transport or make_transport(settings.connect_timeout, settings.read_timeout),
            wsse=wsse,
        )
        self._service = self._client.create_service(BINDING, self.url)
        self._headers: list[Any] = []
        if settings.krr_paa_vegne_av:
            header_type = self._client.get_element(f"{{{NS_OT}}}Oppslagstjenesten")
            self._headers = [header_type(PaaVegneAv=settings.krr_paa_vegne_av)]

    @property
    def signs_requests(self) -> bool:
        return bool(self.settings.krr_cert_file)

    def hent_personer(self, personidentifikatorer: Sequence[str]) -> dict[str, Person]:
        """One ``Person`` per distinct requested id, in batches; ``RegistryUnavailable`` on any failure.

        Ids must be 11 digits (``ValueError`` otherwise: that is a caller bug, not a KRR outage).
        """
        return look_up_in_calls(personidentifikatorer, self.batch_size, self._batch)

    # -- one batch -----------------------------------------------------------------------------
    def _batch(self, batch: list[str]) -> dict[str, Person]:
        what = f"KRR HentPersoner ({len(batch)} ids) at {self.url}"
        response = call_with_retries_or_unavailable(
            lambda: self._call(batch), self.attempts, self.settings.call_backoff, what
        )
        return self._validate(batch, response)

    def _call(self, batch: list[str]) -> Any:
        try:
            return self._service.HentPersoner(
                informasjonsbehov=list(INFORMASJONSBEHOV),
                personidentifikator=batch,
                _soapheaders=self._headers or None,
            )
        except Fault as exc:
            code = (exc.code or "").rsplit(":", 1)[-1]
            if code in ("Receiver", "Server"):
                raise Retryable(f"SOAP {code} fault: {exc.message}") from exc
            raise RegistryUnavailable(
                f"KRR refused the request (SOAP {code or 'unknown'} fault): {exc.message}"
            ) from exc
        except TransportError as exc:
            if exc.status_code >= 500:
                raise Retryable(f"HTTP {exc.status_code}: {_short(exc.message)}") from exc
            raise RegistryUnavailable(f"KRR answered HTTP {exc.status_code}: {_short(exc.message)}") from exc
        except requests.Timeout as exc:
            raise Retryable(f"timeout ({exc.__class__.__name__})") from exc
        except requests.ConnectionError as exc:
            raise Retryable(f"connection failed: {exc}") from exc
        except (XMLParseError, etree.XMLSyntaxError) as exc:
            raise RegistryUnavailable(f"KRR answered with unparseable XML: {exc}") from exc
        except ZeepError as exc:
            raise RegistryUnavailable(f"KRR call failed: {exc}") from exc
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"KRR call failed: {exc}") from exc

    # -- answer validation and mapping --------------------------------------------------------
    @staticmethod
    def _validate(batch: list[str], response: Any) -> dict[str, Person]:
        return persons_of_answer(batch, _persons_of(response), _map_person)


def _short(text: Any, limit: int = 200) -> str:
    s = str(text or "")
    return s if len(s) <= limit else s[:limit] + "..."


def _persons_of(response: Any) -> list[Any]:
    """zeep gives the ``HentPersonerRespons`` object (``.Person``) or, unwrapped, the list itself."""
    if response is None:
        return []
    if isinstance(response, list):
        return response
    persons = getattr(response, "Person", None)
    if persons is None:
        try:
            persons = response["Person"]
        except (KeyError, TypeError):
            raise RegistryUnavailable(f"KRR answer has no Person list: {_short(response)}") from None
    return list(persons or [])


def _value(obj: Any) -> str | None:
    """Text of a simple element or of a simpleContent element (zeep: ``_value_1``)."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    value = getattr(obj, "_value_1", None)
    return None if value is None else str(value)


def _map_person(raw: Any) -> Person:
    pid = _value(getattr(raw, "personidentifikator", None))
    if not pid:
        raise ValueError("a Person without personidentifikator")
    status = _value(getattr(raw, "status", None))
    reservasjon = _value(getattr(raw, "reservasjon", None))
    varsling = _value(getattr(raw, "varslingsstatus", None))
    if status not in _STATUSES:
        raise ValueError(f"Person {pid}: unknown or missing status {status!r}")
    if status == "AKTIV" and reservasjon not in _RESERVASJON:
        raise ValueError(f"Person {pid}: AKTIV without a valid reservasjon ({reservasjon!r})")
    if reservasjon is not None and reservasjon not in _RESERVASJON:
        raise ValueError(f"Person {pid}: unknown reservasjon {reservasjon!r}")
    if varsling is not None and varsling not in _VARSLING:
        raise ValueError(f"Person {pid}: unknown varslingsstatus {varsling!r}")
    kontakt = getattr(raw, "Kontaktinformasjon", None)
    sdp = getattr(raw, "SikkerDigitalPostAdresse", None)
    sertifikat = getattr(raw, "X509Sertifikat", None) or None  # base64Binary: zeep gives the bytes
    return Person(
        personidentifikator=pid,
        status=status,
        reservasjon=reservasjon,
        varslingsstatus=varsling,
        epostadresse=_value(getattr(kontakt, "Epostadresse", None)) if kontakt is not None else None,
        mobiltelefonnummer=_value(getattr(kontakt, "Mobiltelefonnummer", None))
        if kontakt is not None
        else None,
        postkasseadresse=_value(getattr(sdp, "postkasseadresse", None)) if sdp is not None else None,
        postkasseleverandoer_adresse=(
            _value(getattr(sdp, "postkasseleverandoerAdresse", None)) if sdp is not None else None
        ),
        sertifikat=bytes(sertifikat) if sertifikat else None,
        sertifikat_gyldig_til=certificate_expiry(bytes(sertifikat)) if sertifikat else None,
    )
