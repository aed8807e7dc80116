"""TEST-ONLY certificates and keys for the simulators and for ``make run`` (never for production).

The real services are reached with an enterprise certificate ("virksomhetssertifikat") bought from a
certificate authority; the simulators stand in for those services with a test authority of their
own, made here at first use and kept in a directory (``var/test-pki`` for ``make run``, a temporary
one per test stack), so every process of a stack (simulators, service, workers) sees the same keys:

- the test CA (``ca.pem``): issuer of every certificate below; nothing outside this project trusts it;
- ``enterprise(orgnr)``: an organisation's enterprise certificate and key (RSA 2048) with its
  organisation number in the subject (``serialNumber`` and ``organizationIdentifier`` NTRNO-<orgnr>,
  as Norwegian enterprise certificates carry it); also written as PKCS#12 ``enterprise-<orgnr>.p12``
  with the password ``TEST_P12_PASSWORD``: what ``INNBYGGERPOST_CERTIFICATE_FILE`` takes. The sender
  signs Maskinporten assertions, XAdES signatures and JWS business messages with it; a postbox vendor
  signs its receipts with its own;
- ``postbox(orgnr)``: a postbox vendor's encryption certificate and key (what KRR hands out as
  ``sertifikat``; the document package is encrypted to it and the vendor decrypts with the key);
- ``signing_key(name)``: a bare RSA key for a simulated service's own tokens (Maskinporten's).

Generation is serialised across processes with a lock file; once written, files are only read.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID, ObjectIdentifier

#: password of the PKCS#12 files written here (test-only material)
TEST_P12_PASSWORD = "test-only"
_ORG_IDENTIFIER = ObjectIdentifier("2.5.4.97")  # organizationIdentifier (eIDAS: NTRNO-<orgnr>)
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key (``chain``: the issuer's certificate after the leaf)."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


class TestPki:
    """The test authority and the certificates it issued, kept in ``directory``."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, KeyPair] = {}

    # -- public API -------------------------------------------------------------------------
    def ca(self) -> KeyPair:
        return self._get("ca", lambda: self._make_ca())

    def enterprise(self, orgnr: str, name: str | None = None) -> KeyPair:
        pair = self._get(
            f"enterprise-{orgnr}",
            lambda: self._issue(f"{name or 'Organisasjon ' + orgnr} TEST", orgnr, signing=True),
        )
        p12 = self.p12_path(orgnr)
        if not p12.exists():
            with self._locked():
                if not p12.exists():
                    data = pkcs12.serialize_key_and_certificates(
                        name=f"enterprise-{orgnr}".encode(),
                        key=pair.private_key,
                        cert=pair.certificate,
                        cas=list(pair.chain),
                        encryption_algorithm=serialization.BestAvailableEncryption(
                            TEST_P12_PASSWORD.encode()
                        ),
                    )
                    _write_private(p12, data)
        return pair

    def p12_path(self, orgnr: str) -> Path:
        return self.directory / f"enterprise-{orgnr}.p12"

    def postbox(self, orgnr: str) -> KeyPair:
        return self._get(
            f"postbox-{orgnr}", lambda: self._issue(f"Postkasse {orgnr} TEST", orgnr, signing=False)
        )

    def signing_key(self, name: str) -> rsa.RSAPrivateKey:
        path = self.directory / f"key-{name}.pem"
        with self._locked():
            if not path.exists():
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                _write_private(path, _key_pem(key))
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded

    # -- internals --------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _get(self, name: str, make: Callable[[], KeyPair]) -> KeyPair:
        if name in self._cache:
            return self._cache[name]
        if name != "ca":
            self.ca()  # made (and cached) first: the lock below is not re-entrant
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}.key.pem"
        with self._locked():
            if not cert_path.exists():
                pair = make()
                _write_private(key_path, _key_pem(pair.private_key))
                cert_path.write_bytes(pair.certificate.public_bytes(serialization.Encoding.PEM))
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        chain = () if name == "ca" else (self.ca().certificate,)
        pair = KeyPair(cert, key, chain)
        self._cache[name] = pair
        return pair

    def _make_ca(self) -> KeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "innbyggerpost simulators"),
                x509.NameAttribute(NameOID.COMMON_NAME, "innbyggerpost TEST CA (not for production)"),
            ]
        )
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        return KeyPair(cert, key)

    def _issue(self, common_name: str, orgnr: str, signing: bool) -> KeyPair:
        ca = self.ca()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
                x509.NameAttribute(_ORG_IDENTIFIER, f"NTRNO-{orgnr}"),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, orgnr),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        usage = (
            x509.KeyUsage(True, True, False, False, False, False, False, False, False)
            if signing
            else x509.KeyUsage(False, False, True, True, False, False, False, False, False)
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(ca.private_key, hashes.SHA256())
        )
        return KeyPair(cert, key, (ca.certificate,))


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write key material readable by its owner only (0600), atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
