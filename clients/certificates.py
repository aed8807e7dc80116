"""The enterprise certificate ("virksomhetssertifikat") and its key, loaded once per process.

One file holds what innbyggerpost signs with: the Maskinporten assertion (``x5c``), the XAdES
signature of a DPI document package and the JWS of its business message. ``INNBYGGERPOST_CERTIFICATE_FILE``
is either

- a PKCS#12 file (``.p12`` / ``.pfx``, what a certificate authority delivers), opened with
  ``INNBYGGERPOST_CERTIFICATE_PASSWORD``, or
- a PEM file holding the private key and the certificate (the leaf first or anywhere: the leaf is the
  certificate whose public key is the key's), and optionally the issuers after it; the key may be
  encrypted with the same password.

The file's kind is recognised from its content (PEM starts with ``-----BEGIN``), not from its name.
Anything that does not load gives :class:`CredentialsError` naming the setting to fix.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

FILE_SETTING = "INNBYGGERPOST_CERTIFICATE_FILE"
PASSWORD_SETTING = "INNBYGGERPOST_CERTIFICATE_PASSWORD"
_KEY_BLOCK = re.compile(rb"-----BEGIN ((?:[A-Z]+ )*PRIVATE KEY)-----.*?-----END \1-----", re.S)


class CredentialsError(ValueError):
    """The certificate file is missing, unreadable, of the wrong password, or lacks a key/certificate."""


@dataclass(frozen=True)
class Credentials:
    """An enterprise certificate, its private key and the issuers' certificates (leaf not included)."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def x5c(self) -> list[str]:
        """The JOSE ``x5c`` header: base64 (not url-safe) DER certificates, the leaf first."""
        return [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii")
            for c in (self.certificate, *self.chain)
        ]

    def organisation_number(self) -> str | None:
        """The organisation number of a Norwegian enterprise certificate (``serialNumber``, or
        ``organizationIdentifier`` NTRNO-<orgnr>), when it carries one."""
        subject = self.certificate.subject
        for attr in subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97")):
            value = str(attr.value)
            if value.startswith("NTRNO-"):
                return value[len("NTRNO-") :]
        for attr in subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER):
            value = str(attr.value)
            if value.isdigit() and len(value) == 9:
                return value
        return None

    def fingerprint_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def expires(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc


def load_credentials(path: str | Path, password: str | bytes | None = None) -> Credentials:
    """The certificate, key and chain of a PKCS#12 or PEM file (see the module docstring)."""
    if not path:
        raise CredentialsError(f"{FILE_SETTING} is not set (the enterprise certificate, PKCS#12 or PEM)")
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CredentialsError(
            f"{FILE_SETTING}={str(path)!r} cannot be read: {exc.strerror or exc}"
        ) from None
    secret = password.encode() if isinstance(password, str) else password
    secret = secret or None
    if data.lstrip().startswith(b"-----BEGIN"):
        return _from_pem(data, secret, str(path))
    return _from_pkcs12(data, secret, str(path))


def _from_pkcs12(data: bytes, password: bytes | None, where: str) -> Credentials:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        raise CredentialsError(
            f"{FILE_SETTING}={where!r} does not open as PKCS#12 with {PASSWORD_SETTING} "
            f"(wrong password, or not a PKCS#12/PEM file): {exc}"
        ) from None
    if key is None or cert is None:
        raise CredentialsError(f"{FILE_SETTING}={where!r} holds no private key and certificate")
    return _checked(key, cert, tuple(extra or ()), where)


def _from_pem(data: bytes, password: bytes | None, where: str) -> Credentials:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    key_blocks = [m.group(0) for m in _KEY_BLOCK.finditer(data)]
    if not key_blocks:
        raise CredentialsError(f"{FILE_SETTING}={where!r} (PEM) holds no private key")
    try:
        key = serialization.load_pem_private_key(key_blocks[0], password)
    except (ValueError, TypeError) as exc:
        raise CredentialsError(
            f"{FILE_SETTING}={where!r}: the PEM private key does not load with {PASSWORD_SETTING}: {exc}"
        ) from None
    if not certs:
        raise CredentialsError(f"{FILE_SETTING}={where!r} (PEM) holds no certificate")
    return _checked(key, None, tuple(certs), where)


def _checked(
    key: object, cert: x509.Certificate | None, others: tuple[x509.Certificate, ...], where: str
) -> Credentials:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError(
            f"{FILE_SETTING}={where!r}: the key must be RSA (RS256), not {type(key).__name__}"
        )
    public = key.public_key().public_numbers()

    def matches(c: x509.Certificate) -> bool:
        pk = c.public_key()
        return isinstance(pk, rsa.RSAPublicKey) and pk.public_numbers() == public

    candidates = ([cert] if cert is not None else []) + list(others)
    leaf = next((c for c in candidates if matches(c)), None)
    if leaf is None:
        raise CredentialsError(
            f"{FILE_SETTING}={where!r}: no certificate in the file matches its private key"
        )
    chain = tuple(c for c in candidates if c is not leaf)
    return Credentials(leaf, key, chain)


def certificate_expiry(der: bytes | None) -> dt.datetime | None:
    """``notAfter`` of a DER certificate (e.g. KRR's ``sertifikat``); None when it cannot be read."""
    if not der:
        return None
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None
