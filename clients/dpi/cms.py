"""CMS EnvelopedData of the DPI document package (RFC 5652): AES-256-CBC content encryption, the key
transported with RSAES-OAEP (SHA-256, MGF1-SHA-256) to the postbox certificate from KRR.

``cryptography``'s PKCS#7 envelope builder (50.x) only does RSA PKCS#1 v1.5 key transport, so the
structure is built and read with asn1crypto and the primitives are ``cryptography``'s (no crypto of
our own). ``openssl cms -decrypt`` reads what ``envelope`` writes (tests/unit/test_dpi_package.py).
"""

from __future__ import annotations

import functools
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


def envelope(content: bytes, recipient: x509.Certificate) -> bytearray:
    """``content`` as DER CMS EnvelopedData to ``recipient`` (one key transport recipient)."""
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CmsError("the postbox certificate has no RSA key")
    cek = os.urandom(32)
    iv = os.urandom(16)
    # One buffer for the whole envelope, the content encrypted straight into its place (issue 17: the
    # delivery worker's memory): the content is the last value of every enclosing structure, so the
    # envelope is a prefix that depends only on its length, then the ciphertext. Before, padding,
    # encryption and each DER wrapping made a copy of the whole package: about nine for a letter.
    n = (len(content) // 16 + 1) * 16  # PKCS#7 pads always
    prefix = _prefix(
        _recipient_parts(recipient.public_bytes(serialization.Encoding.DER)),
        public_key.encrypt(cek, _OAEP),
        iv,
        n,
    )
    out = bytearray(len(prefix) + n)
    out[: len(prefix)] = prefix
    _aes_cbc_into(cek, iv, content, memoryview(out)[len(prefix) :])
    return out  # a bytearray: bytes-like, and no copy of it


def _aes_cbc_into(cek: bytes, iv: bytes, content: bytes, out: memoryview) -> None:
    """AES-CBC with PKCS#7 padding of ``content`` into ``out`` (exactly the padded length)."""
    full = len(content) - len(content) % 16
    pad = 16 - len(content) % 16
    encryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    if full:
        # update_into wants room for one block more than it writes: out has 16 bytes past ``full``
        written = encryptor.update_into(memoryview(content)[:full], out)
        assert written == full
    last = encryptor.update(bytes(memoryview(content)[full:]) + bytes((pad,)) * pad) + encryptor.finalize()
    out[full : full + 16] = last


def envelope_structure(
    recipient: x509.Certificate, encrypted_key: bytes, iv: bytes, encrypted_content: bytes
) -> bytes:
    """The same DER as :func:`envelope` writes, built whole by asn1crypto: the reference that
    ``envelope``'s assembly of pre-encoded parts is tested against (tests/unit/test_dpi_package.py)."""
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
            "encrypted_key": encrypted_key,
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
                    "encrypted_content": encrypted_content,
                }
            ),
        }
    )
    return bytes(cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump())


# -- the same structure from parts encoded once --------------------------------------------------
# asn1crypto builds a whole EnvelopedData in about 4 ms (object construction, copies of the
# certificate's issuer name), two thirds of a DPI letter's CPU. Everything but the encrypted key, the
# IV and the encrypted content is the same for every letter to one postbox certificate, so those
# parts are encoded by asn1crypto once per certificate and the per-letter values are wrapped in their
# DER headers around them (X.690 definite lengths); envelope_structure() is the reference.
_OID_ENVELOPED_DATA = core.ObjectIdentifier("1.2.840.113549.1.7.3").dump()
_OID_DATA = core.ObjectIdentifier("1.2.840.113549.1.7.1").dump()
_OID_AES256_CBC = core.ObjectIdentifier("2.16.840.1.101.3.4.1.42").dump()
_VERSION_0 = core.Integer(0).dump()


def _head(tag: int, n: int) -> bytes:
    """A DER TLV's tag (one octet) and definite length ``n``."""
    if n < 0x80:
        return bytes((tag, n))
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV: ``tag`` (one octet) and the definite length of ``content``."""
    return _head(tag, len(content)) + content


@functools.lru_cache(maxsize=64)
def _recipient_parts(certificate_der: bytes) -> tuple[bytes, bytes]:
    """(rid, key encryption algorithm) of the recipient, DER, by asn1crypto (once per certificate)."""
    cert = asn1_x509.Certificate.load(certificate_der)
    rid = cms.RecipientIdentifier(
        {
            "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": cert.issuer, "serial_number": cert.serial_number}
            )
        }
    )
    kea = cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": _oaep_parameters()})
    return bytes(rid.dump()), bytes(kea.dump())


def _assemble(parts: tuple[bytes, bytes], encrypted_key: bytes, iv: bytes, encrypted_content: bytes) -> bytes:
    """The envelope from its parts (what :func:`envelope` writes into one buffer)."""
    return _prefix(parts, encrypted_key, iv, len(encrypted_content)) + encrypted_content


def _prefix(parts: tuple[bytes, bytes], encrypted_key: bytes, iv: bytes, n: int) -> bytes:
    """The envelope's DER up to its encrypted content of ``n`` bytes, which ends every enclosing
    structure (ContentInfo, EnvelopedData, EncryptedContentInfo)."""
    rid, kea = parts
    ktri = _der(0x30, _VERSION_0 + rid + kea + _der(0x04, encrypted_key))
    algorithm = _der(0x30, _OID_AES256_CBC + _der(0x04, iv))
    eci = _OID_DATA + algorithm + _head(0x80, n)  # [0] IMPLICIT OCTET STRING
    eci = _head(0x30, len(eci) + n) + eci
    enveloped = _VERSION_0 + _der(0x31, ktri) + eci
    enveloped = _head(0x30, len(enveloped) + n) + enveloped
    outer = _OID_ENVELOPED_DATA + _head(0xA0, len(enveloped) + n) + enveloped  # [0] EXPLICIT
    return _head(0x30, len(outer) + n) + outer


def decrypt(data: bytes | bytearray, private_key: rsa.RSAPrivateKey) -> bytes:
    """The content of a DER CMS EnvelopedData whose key transport (RSAES-OAEP SHA-256, or PKCS#1 v1.5)
    is to ``private_key``; AES-CBC content. Raises CmsError on anything else."""
    try:
        info = cms.ContentInfo.load(bytes(data))
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
