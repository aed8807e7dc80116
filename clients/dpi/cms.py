"""CMS EnvelopedData of the DPI document package (RFC 5652): AES-256-CBC content encryption, the key
transported with RSAES-OAEP (SHA-256, MGF1-SHA-256) to the postbox certificate from KRR.

``cryptography``'s PKCS#7 envelope builder (50.x) only does RSA PKCS#1 v1.5 key transport, so the
structure is built and read with asn1crypto and the primitives are ``cryptography``'s (no crypto of
our own). ``openssl cms -decrypt`` reads what ``envelope`` writes (tests/unit/test_dpi_package.py).
"""

from __future__ import annotations

import os

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_OAEP = asym_padding.OAEP(
    mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)


class CmsError(Exception):
    """The CMS structure cannot be read or decrypted with the given key."""


def _oaep_parameters() -> algos.RSAESOAEPParams:
    sha256 = algos.DigestAlgorithm({"algorithm": "sha256", "parameters": core.Null()})
    return algos.RSAESOAEPParams(
        {
            "hash_algorithm": sha256,
            "mask_gen_algorithm": algos.MaskGenAlgorithm({"algorithm": "mgf1", "parameters": sha256}),
        }
    )


def envelope(content: bytes, recipient: x509.Certificate) -> bytes:
    """``content`` as DER CMS EnvelopedData to ``recipient`` (one key transport recipient)."""
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CmsError("the postbox certificate has no RSA key")
    cek = os.urandom(32)
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(content) + padder.finalize()
    encryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    cert = asn1_x509.Certificate.load(recipient.public_bytes(serialization.Encoding.DER))
    recipient_info = cms.KeyTransRecipientInfo(
        {
            "version": "v0",
            "rid": cms.RecipientIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "key_encryption_algorithm": cms.KeyEncryptionAlgorithm(
                {"algorithm": "rsaes_oaep", "parameters": _oaep_parameters()}
            ),
            "encrypted_key": public_key.encrypt(cek, _OAEP),
        }
    )
    enveloped = cms.EnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [cms.RecipientInfo({"ktri": recipient_info})],
            "encrypted_content_info": cms.EncryptedContentInfo(
                {
                    "content_type": "data",
                    "content_encryption_algorithm": algos.EncryptionAlgorithm(
                        {"algorithm": "aes256_cbc", "parameters": core.OctetString(iv)}
                    ),
                    "encrypted_content": encrypted,
                }
            ),
        }
    )
    return cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()


def decrypt(data: bytes, private_key: rsa.RSAPrivateKey) -> bytes:
    """The content of a DER CMS EnvelopedData whose key transport (RSAES-OAEP SHA-256, or PKCS#1 v1.5)
    is to ``private_key``; AES-CBC content. Raises CmsError on anything else."""
    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native != "enveloped_data":
            raise CmsError(f"not EnvelopedData but {info['content_type'].native}")
        enveloped = info["content"]
        eci = enveloped["encrypted_content_info"]
        algorithm = eci["content_encryption_algorithm"]
        if algorithm["algorithm"].native not in ("aes256_cbc", "aes128_cbc", "aes192_cbc"):
            raise CmsError(f"unsupported content encryption {algorithm['algorithm'].native}")
        iv = algorithm["parameters"].native
        ciphertext = eci["encrypted_content"].native
        cek = None
        for ri in enveloped["recipient_infos"]:
            if ri.name != "ktri":
                continue
            ktri = ri.chosen
            kea = ktri["key_encryption_algorithm"]
            pad: asym_padding.AsymmetricPadding
            if kea["algorithm"].native == "rsaes_oaep":
                params = kea["parameters"]
                if (
                    params["hash_algorithm"]["algorithm"].native != "sha256"
                    or params["mask_gen_algorithm"]["parameters"]["algorithm"].native != "sha256"
                ):
                    raise CmsError("RSAES-OAEP parameters other than SHA-256/MGF1-SHA-256")
                pad = _OAEP
            elif kea["algorithm"].native == "rsaes_pkcs1v15":
                pad = asym_padding.PKCS1v15()
            else:
                continue
            try:
                cek = private_key.decrypt(ktri["encrypted_key"].native, pad)
                break
            except ValueError:
                continue
        if cek is None:
            raise CmsError("no recipient of the CMS can be decrypted with this key")
        decryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except CmsError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise CmsError(f"unreadable CMS: {exc}") from exc
