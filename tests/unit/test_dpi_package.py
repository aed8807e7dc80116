"""DPI letters, checked against Digdir's worked examples (golden vectors) and by independent tools.

- Digdir's ``.cms`` packages decrypt with our reader and the key in ``eksempel.jks`` to their
  ``.zip`` byte for byte; their XAdES signatures and business-message JWS verify with our code and
  their JSON validates against the schemas.
- Our packages decrypt with ``openssl cms -decrypt`` to the zip we built; ``xmlsec1 --verify``
  verifies our ``signatures.xml`` against the test CA; our manifest validates against
  sdp-manifest.xsd; our business messages validate against Digdir's JSON schemas.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from clients.dpi import Digital, LetterBuilder, PackageDocument, Varsel, asice, cms, message
from simulators.pki import TestPki
from tests.support.reference import dpi_reference, sdp_reference

EXAMPLES = ["digital", "digital-pa-vegne-av", "digital-avsenderidentifikator", "utskrift"]
SENDER, VENDOR = "910646192", "984661185"
NOW = datetime(2026, 12, 4, 12, 0, 0, 123000, tzinfo=UTC)
MESSAGE_ID = "6f1c0b0e-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def example_key(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The private key of eksempel.jks, converted with the JDK's keytool."""
    if shutil.which("keytool") is None:
        pytest.skip("keytool (a JDK) is not installed")
    jks = dpi_reference("examples", "komplette", "eksempel.jks")
    p12 = tmp_path_factory.mktemp("jks") / "eksempel.p12"
    subprocess.run(
        ["keytool", "-importkeystore", "-noprompt", "-srckeystore", str(jks), "-srcstorepass", "changeit",
         "-srcalias", "eksempel", "-destkeystore", str(p12), "-deststoretype", "PKCS12",
         "-deststorepass", "changeit"],
        check=True, capture_output=True,
    )  # fmt: skip
    key, _cert, _chain = pkcs12.load_key_and_certificates(p12.read_bytes(), b"changeit")
    return key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def schemas() -> message.Schemas:
    return message.Schemas(dpi_reference("schemas"))


# -- golden vectors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXAMPLES)
def test_digdir_package_decrypts_to_its_zip_and_its_signature_verifies(name: str, example_key) -> None:  # type: ignore[no-untyped-def]
    folder = ("examples", "komplette")
    encrypted = dpi_reference(*folder, f"{name}-dokumentpakke.cms").read_bytes()
    plain = cms.decrypt(encrypted, example_key)
    assert plain == dpi_reference(*folder, f"{name}-dokumentpakke.zip").read_bytes()
    opened = asice.open_package(plain)
    assert opened.documents()[0][0] == "hoveddokument"
    # a changed document no longer verifies: the check is real
    files = asice.read_zip(plain)
    href = opened.documents()[0][1]
    files[href] = files[href] + b" "
    with pytest.raises(asice.PackageError, match="does not verify"):
        asice.verify_signatures(files[asice.SIGNATURES], files)


@pytest.mark.parametrize("name", EXAMPLES)
def test_digdir_business_message_verifies_and_validates(name: str, schemas: message.Schemas) -> None:
    folder = ("examples", "komplette")
    token = dpi_reference(*folder, f"{name}-forretningsmelding.jwt").read_text().strip()
    payload, cert = message.verify_jws(token, trusted=None)  # Buypass test CA: not ours to trust
    assert payload == json.loads(dpi_reference(*folder, f"{name}-forretningsmelding.json").read_text())
    assert schemas.errors(payload) == []
    body = payload["standardBusinessDocument"]
    kind = body["standardBusinessDocumentHeader"]["documentIdentification"]["type"]
    fingerprint = body[kind]["dokumentpakkefingeravtrykk"]["digestValue"]
    cms_bytes = dpi_reference(*folder, f"{name}-dokumentpakke.cms").read_bytes()
    assert base64.b64decode(fingerprint) == hashlib.sha256(cms_bytes).digest()
    head, payload_b64, sig = token.split(".")
    tampered = f"{head}.{payload_b64[:-4]}AAAA.{sig}"
    with pytest.raises(message.MessageError):
        message.verify_jws(tampered, trusted=None)
    with pytest.raises(message.MessageError, match="trusted"):
        message.verify_jws(token, trusted=[cert])  # a self-chosen "CA" that did not issue it


def test_digdir_receipt_examples_read_and_validate(schemas: message.Schemas) -> None:
    for name in ["lerveringskvittering_budnad_sample.json", "lerveringskvittering_nav_sample.json"]:
        payload = json.loads(dpi_reference("examples", name).read_text())
        assert schemas.errors(payload) == []
        receipt = message.read_receipt(payload)
        assert receipt.kind == "leveringskvittering" and receipt.conversation_id


# -- our letters through independent tools ---------------------------------------------------------
@pytest.fixture(scope="module")
def letter(pki: TestPki):  # type: ignore[no-untyped-def]
    sender = pki.enterprise(SENDER)
    builder = LetterBuilder(sender.certificate, sender.private_key, sender.chain)
    digital = Digital(
        SENDER, VENDOR, "ola.nordmann#1A2B", "Vedtak", language="NO",
        varsler=(Varsel("epost", "ola@example.no", "Du har post", (0, 7)), Varsel("sms", "+4799999999", "Post")),
    )  # fmt: skip
    primary = PackageDocument("brev.pdf", "Vedtak om innbyggerpost", "application/pdf", b"%PDF-1.4 letter")
    attachment = PackageDocument("vedlegg 1.txt", "Vedlegg", "text/plain", "hei på deg".encode())
    postbox = pki.postbox(VENDOR).certificate
    return builder.build(digital, MESSAGE_ID, primary, [attachment], postbox, "the-token", NOW, "01018010018")


def test_our_package_decrypts_with_openssl(letter, pki: TestPki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    postbox = pki.postbox(VENDOR)
    (tmp_path / "p.cms").write_bytes(letter.dokumentpakke)
    (tmp_path / "key.pem").write_bytes(
        postbox.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    subprocess.run(
        ["openssl", "cms", "-decrypt", "-inform", "DER", "-in", "p.cms", "-inkey", "key.pem", "-out", "p.zip"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    out = (tmp_path / "p.zip").read_bytes()
    assert out == cms.decrypt(letter.dokumentpakke, postbox.private_key)
    info = zipfile.ZipFile(BytesIO(out)).infolist()
    assert info[0].filename == "mimetype" and info[0].compress_type == zipfile.ZIP_STORED
    assert {i.filename for i in info} == {
        "mimetype", "manifest.xml", "brev.pdf", "vedlegg 1.txt", "META-INF/signatures.xml", "META-INF/manifest.xml"
    }  # fmt: skip
    # the other postbox's key cannot open it
    with pytest.raises(cms.CmsError):
        cms.decrypt(letter.dokumentpakke, pki.postbox("922020175").private_key)


def _xmlsec1(folder: Path, ca: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = ["xmlsec1", "--verify", "--trusted-pem", str(ca),
           "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"]  # fmt: skip
    for n in names:
        cmd += [f"--url-map:{n}", str(folder / n)]
    return subprocess.run([*cmd, str(folder / "META-INF" / "signatures.xml")], capture_output=True, text=True)


def test_our_signature_verifies_with_xmlsec1(letter, pki: TestPki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("xmlsec1") is None:
        pytest.fail("xmlsec1 is not installed (deploy/system-deps.sh installs it)")
    plain = cms.decrypt(letter.dokumentpakke, pki.postbox(VENDOR).private_key)
    zipfile.ZipFile(BytesIO(plain)).extractall(tmp_path)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.ca().certificate.public_bytes(serialization.Encoding.PEM))
    names = ["manifest.xml", "brev.pdf", "vedlegg 1.txt"]
    ok = _xmlsec1(tmp_path, ca, names)
    assert ok.returncode == 0, ok.stderr
    assert "SignedInfo References (ok/all): 4/4" in ok.stderr + ok.stdout
    signed = etree.parse(str(tmp_path / "META-INF" / "signatures.xml")).getroot()
    ns = {"ds": asice.DS_NS, "x": asice.XADES_NS}
    assert signed.tag == f"{{{asice.ASIC_NS}}}XAdESSignatures"
    assert (
        signed.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", ns).get("Algorithm") == asice.RSA_SHA256
    )
    assert [e.text for e in signed.iterfind(".//x:DataObjectFormat/x:MimeType", ns)] == [
        "application/xml", "application/pdf", "text/plain"
    ]  # fmt: skip
    assert signed.find(".//x:SigningTime", ns).text == "2026-12-04T12:00:00.123+00:00"
    # a changed attachment fails the same independent check
    (tmp_path / "vedlegg 1.txt").write_bytes(b"endret")
    assert _xmlsec1(tmp_path, ca, names).returncode != 0


def test_our_manifest_is_valid_sdp(letter, pki: TestPki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # sdp-felles.xsd imports the W3C xmldsig schema, which the reference data does not carry: a
    # stand-in declaring its Signature element is enough for the manifest (which has none).
    stub = tmp_path / "xmldsig-core-schema.xsd"
    stub.write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/2000/09/xmldsig#">'
        '<xsd:element name="Signature" type="xsd:anyType"/></xsd:schema>'
    )

    class Resolver(etree.Resolver):
        def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
            return (
                self.resolve_filename(str(stub), context) if url.endswith("xmldsig-core-schema.xsd") else None
            )

    parser = etree.XMLParser()
    parser.resolvers.add(Resolver())
    schema = etree.XMLSchema(etree.parse(str(sdp_reference("sdp-manifest.xsd")), parser))
    plain = cms.decrypt(letter.dokumentpakke, pki.postbox(VENDOR).private_key)
    manifest = etree.fromstring(asice.read_zip(plain)["manifest.xml"])
    assert schema.validate(manifest), schema.error_log
    opened = asice.open_package(plain, trusted=[pki.ca().certificate])
    assert opened.documents() == [
        ("hoveddokument", "brev.pdf", "application/pdf"), ("vedlegg", "vedlegg 1.txt", "text/plain")
    ]  # fmt: skip
    assert opened.postkasseadresse == "ola.nordmann#1A2B"
    assert opened.signer == pki.enterprise(SENDER).certificate


def test_our_business_message_verifies_and_validates(letter, pki: TestPki, schemas: message.Schemas) -> None:  # type: ignore[no-untyped-def]
    payload, cert = message.verify_jws(letter.forretningsmelding, trusted=[pki.ca().certificate])
    assert cert == pki.enterprise(SENDER).certificate
    assert schemas.errors(payload) == []
    sbd = payload["standardBusinessDocument"]
    header = sbd["standardBusinessDocumentHeader"]
    assert header["sender"][0]["identifier"]["value"] == f"0192:{SENDER}"
    assert header["receiver"][0]["identifier"]["value"] == f"0192:{VENDOR}"
    assert header["documentIdentification"]["instanceIdentifier"] == MESSAGE_ID
    digital = sbd["digital"]
    assert (
        base64.b64decode(digital["dokumentpakkefingeravtrykk"]["digestValue"])
        == hashlib.sha256(letter.dokumentpakke).digest()
    )
    assert digital["maskinportentoken"] == "the-token"
    assert digital["sikkerhetsnivaa"] == 4 and digital["spraak"] == "no"
    assert digital["varsler"]["epostvarsel"] == {
        "epostadresse": "ola@example.no", "varslingstekst": "Du har post", "repetisjoner": [0, 7]
    }  # fmt: skip
    assert digital["varsler"]["smsvarsel"]["mobiltelefonnummer"] == "+4799999999"
    # the schemas catch a wrong document: the check is real
    digital["sikkerhetsnivaa"] = 2
    assert schemas.errors(payload)
    # a key outside the test CA is not trusted
    other = TestPki(pki.directory / "other")
    with pytest.raises(message.MessageError, match="trusted"):
        message.verify_jws(letter.forretningsmelding, trusted=[other.ca().certificate])


@pytest.mark.parametrize("size", [0, 1, 111, 112, 127, 128, 255, 256, 65_535, 65_536, 3_000_000])
def test_the_envelope_assembled_from_parts_is_asn1cryptos_byte_for_byte(pki: TestPki, size: int) -> None:
    """``cms.envelope`` encodes the per-certificate parts once (asn1crypto) and wraps the per-letter
    values in their DER headers; the whole structure built by asn1crypto is the reference, across the
    length encodings (short form, one to three length octets)."""
    import os

    certificate = pki.postbox(VENDOR).certificate
    encrypted_key, iv, content = os.urandom(256), os.urandom(16), os.urandom(size)
    parts = cms._recipient_parts(certificate.public_bytes(serialization.Encoding.DER))
    assert cms._assemble(parts, encrypted_key, iv, content) == cms.envelope_structure(
        certificate, encrypted_key, iv, content
    )


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4_095, 4_096, 1_000_003])
def test_the_envelope_written_into_one_buffer_decrypts_to_the_content(pki: TestPki, size: int) -> None:
    """``cms.envelope`` encrypts the content straight into the envelope's buffer (issue 17: memory);
    the result is the reference structure around the ciphertext and decrypts to the content."""
    import os

    postbox = pki.postbox(VENDOR)
    content = os.urandom(size)
    envelope = cms.envelope(content, postbox.certificate)
    assert cms.decrypt(bytes(envelope), postbox.private_key) == content
    ciphertext = envelope[-((size // 16 + 1) * 16) :]
    reference = cms.envelope_structure(postbox.certificate, b"\0" * 256, b"\0" * 16, bytes(ciphertext))
    assert len(envelope) == len(reference)
