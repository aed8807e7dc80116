"""DPI (digital post til innbyggere): the letter as the access point takes it.

``asice``: the ASiC-E document package with its XAdES signature; ``cms``: its encryption to the
postbox certificate; ``message``: the business message (SBD JSON as JWS) and the receipts;
``LetterBuilder`` puts them together once per letter; ``client``: the access point's REST API.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from . import asice, cms, message
from .asice import PackageDocument
from .message import Digital, Varsel

__all__ = ["Digital", "LetterBuilder", "PackageDocument", "SignedLetter", "Varsel"]


@dataclass(frozen=True)
class SignedLetter:
    forretningsmelding: str  # the compact JWS
    dokumentpakke: bytes | bytearray  # DER CMS


class LetterBuilder:
    """Builds the two parts of a DPI send with the sender's enterprise certificate (loaded once)."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: rsa.RSAPrivateKey,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        self.package_signer = asice.PackageSigner(certificate, private_key, chain)
        self.jws_signer = message.JwsSigner(certificate, private_key, chain)

    def build(
        self,
        digital: Digital,
        message_id: str,
        primary: PackageDocument,
        attachments: Sequence[PackageDocument],
        postbox_certificate: x509.Certificate,
        maskinportentoken: str,
        now: datetime,
        personidentifikator: str | None = None,
    ) -> SignedLetter:
        package = self.package_signer.package(
            digital.sender_orgnr,
            digital.postkasseadresse,
            primary,
            attachments,
            now,
            digital.language,
            personidentifikator,
        )
        encrypted = cms.envelope(package, postbox_certificate)
        digest = base64.b64encode(hashlib.sha256(encrypted).digest()).decode()
        sbd = message.digital_message(digital, message_id, message_id, digest, maskinportentoken, now)
        return SignedLetter(self.jws_signer.sign(sbd), encrypted)
