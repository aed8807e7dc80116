"""The DPI document package: an ASiC-E container (ETSI EN 319 162) holding the SDP ``manifest.xml``
(``http://begrep.difi.no/sdp/schema_v10``), the documents, ``META-INF/manifest.xml`` and
``META-INF/signatures.xml``, one XAdES baseline-B signature by the sender's enterprise certificate.

The XML signature is made and checked by libxmlsec1 (python-xmlsec): the references to the files of
the container are resolved through xmlsec's input callbacks from the bytes in hand (per thread), so
nothing is read from disk or network while signing or verifying. Laid out like Digdir's worked
examples (reference/dpi/examples/komplette): ``Signature`` ``Id="Signature"``, references ``ID_<n>``
per file, the ``SignedProperties`` reference, X509Data with the certificate chain.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

ASIC_MIMETYPE = b"application/vnd.etsi.asic-e+zip"
SDP_NS = "http://begrep.difi.no/sdp/schema_v10"
ASIC_NS = "http://uri.etsi.org/02918/v1.2.1#"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
ODF_MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
MANIFEST = "manifest.xml"
SIGNATURES = "META-INF/signatures.xml"
ODF_MANIFEST = "META-INF/manifest.xml"


class PackageError(Exception):
    """A document package that cannot be read or whose signature or manifest does not verify."""


@dataclass(frozen=True)
class PackageDocument:
    """One document of a letter: its file name in the package, title, MIME type and bytes."""

    filename: str
    title: str
    mime_type: str
    data: bytes


# -- xmlsec input callbacks: the container's files, per thread --------------------------------------
_files = threading.local()
_callbacks_lock = threading.Lock()
_callbacks_registered = False


def _match(uri: bytes) -> bool:
    # While a package is being signed or verified on this thread every URI is ours: a reference to
    # a name outside the package fails instead of reaching the file system or the network.
    return getattr(_files, "current", None) is not None


def _open(uri: bytes) -> io.BytesIO:
    name = unquote(uri.decode("utf-8", "replace"))
    data = _files.current.get(name)
    if data is None:
        raise PackageError(f"signature references {name!r}, which is not in the package")
    return io.BytesIO(data)


def _read(stream: io.BytesIO, buffer: memoryview) -> int:
    return stream.readinto(buffer)


def _close(stream: io.BytesIO) -> None:
    stream.close()


def _ensure_callbacks() -> None:
    global _callbacks_registered
    with _callbacks_lock:
        if not _callbacks_registered:
            # python-xmlsec asks ours before libxmlsec1's defaults only when the defaults are
            # registered (again) before ours
            xmlsec.cleanup_callbacks()
            xmlsec.register_default_callbacks()
            xmlsec.register_callbacks(_match, _open, _read, _close)
            _callbacks_registered = True


_ensure_callbacks()  # at import, before any thread signs or verifies anything


class _PackageFiles:
    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)

    def __enter__(self) -> None:
        _ensure_callbacks()
        _files.current = self.files

    def __exit__(self, *exc: object) -> None:
        _files.current = None


# -- manifest ---------------------------------------------------------------------------------------
def manifest_xml(
    sender_orgnr: str,
    postkasseadresse: str,
    primary: PackageDocument,
    attachments: Sequence[PackageDocument] = (),
    language: str = "no",
    personidentifikator: str | None = None,
) -> bytes:
    """The SDP ``manifest``: mottaker, avsender, hoveddokument, vedlegg. With the citizen's
    ``personidentifikator`` (inside the encrypted package only) it is valid against SDP 1.0's
    sdp-manifest.xsd; Digdir's DPI examples leave it out and carry the postbox address alone."""
    E = _maker(SDP_NS)
    root = etree.Element(E("manifest"), nsmap={None: SDP_NS})
    person = etree.SubElement(etree.SubElement(root, E("mottaker")), E("person"))
    if personidentifikator:
        etree.SubElement(person, E("personidentifikator")).text = personidentifikator
    etree.SubElement(person, E("postkasseadresse")).text = postkasseadresse
    org = etree.SubElement(etree.SubElement(root, E("avsender")), E("organisasjon"))
    org.set("authority", "iso6523-actorid-upis")
    org.text = f"0192:{sender_orgnr}"
    for tag, doc in [("hoveddokument", primary), *(("vedlegg", a) for a in attachments)]:
        el = etree.SubElement(root, E(tag), href=doc.filename, mime=doc.mime_type)
        etree.SubElement(el, E("tittel"), lang=language.lower()).text = doc.title
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _odf_manifest(entries: Sequence[tuple[str, str]]) -> bytes:
    E = _maker(ODF_MANIFEST_NS)
    root = etree.Element(E("manifest"), nsmap={"ns1": ODF_MANIFEST_NS})
    etree.SubElement(root, E("file-entry"), {E("full-path"): "/", E("media-type"): ASIC_MIMETYPE.decode()})
    for name, mime in entries:
        etree.SubElement(root, E("file-entry"), {E("full-path"): name, E("media-type"): mime})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _maker(ns: str):  # type: ignore[no-untyped-def]
    return lambda local: f"{{{ns}}}{local}"


# -- signing ----------------------------------------------------------------------------------------
class PackageSigner:
    """Signs document packages with one enterprise certificate; the key is loaded once."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: rsa.RSAPrivateKey,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        self.certificate = certificate
        self.chain = tuple(chain)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem, None)
        der = certificate.public_bytes(serialization.Encoding.DER)
        self._cert_sha1 = base64.b64encode(hashlib.sha1(der).digest()).decode()  # noqa: S324 (XAdES CertDigest)
        self._x509_b64 = [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
            for c in (certificate, *self.chain)
        ]

    def signatures_xml(self, files: Sequence[tuple[str, str, bytes]], signing_time: datetime) -> bytes:
        """``META-INF/signatures.xml`` over ``files`` (name, MIME type, bytes)."""
        DS, XA = _maker(DS_NS), _maker(XADES_NS)
        root = etree.Element(f"{{{ASIC_NS}}}XAdESSignatures", nsmap={None: ASIC_NS})
        sig = etree.SubElement(root, DS("Signature"), Id="Signature", nsmap={"ds": DS_NS})
        signed_info = etree.SubElement(sig, DS("SignedInfo"))
        etree.SubElement(signed_info, DS("CanonicalizationMethod"), Algorithm=C14N)
        etree.SubElement(signed_info, DS("SignatureMethod"), Algorithm=RSA_SHA256)
        for n, (name, _mime, _data) in enumerate(files):
            ref = etree.SubElement(signed_info, DS("Reference"), Id=f"ID_{n}", URI=name)
            etree.SubElement(ref, DS("DigestMethod"), Algorithm=SHA256)
            etree.SubElement(ref, DS("DigestValue"))
        ref = etree.SubElement(
            signed_info, DS("Reference"), Type=SIGNED_PROPERTIES_TYPE, URI="#SignedProperties"
        )
        etree.SubElement(etree.SubElement(ref, DS("Transforms")), DS("Transform"), Algorithm=C14N)
        etree.SubElement(ref, DS("DigestMethod"), Algorithm=SHA256)
        etree.SubElement(ref, DS("DigestValue"))
        etree.SubElement(sig, DS("SignatureValue"))
        x509_data = etree.SubElement(etree.SubElement(sig, DS("KeyInfo")), DS("X509Data"))
        for b64 in self._x509_b64:
            etree.SubElement(x509_data, DS("X509Certificate")).text = b64
        qp = etree.SubElement(
            etree.SubElement(sig, DS("Object")),
            XA("QualifyingProperties"),
            Target="#Signature",
            nsmap={"xades": XADES_NS},
        )
        sp = etree.SubElement(qp, XA("SignedProperties"), Id="SignedProperties")
        ssp = etree.SubElement(sp, XA("SignedSignatureProperties"))
        etree.SubElement(ssp, XA("SigningTime")).text = signing_time.isoformat(timespec="milliseconds")
        cert = etree.SubElement(etree.SubElement(ssp, XA("SigningCertificate")), XA("Cert"))
        digest = etree.SubElement(cert, XA("CertDigest"))
        etree.SubElement(digest, DS("DigestMethod"), Algorithm=SHA1)
        etree.SubElement(digest, DS("DigestValue")).text = self._cert_sha1
        issuer_serial = etree.SubElement(cert, XA("IssuerSerial"))
        etree.SubElement(issuer_serial, DS("X509IssuerName")).text = self.certificate.issuer.rfc4514_string()
        etree.SubElement(issuer_serial, DS("X509SerialNumber")).text = str(self.certificate.serial_number)
        sdop = etree.SubElement(sp, XA("SignedDataObjectProperties"))
        for n, (_name, mime, _data) in enumerate(files):
            dof = etree.SubElement(sdop, XA("DataObjectFormat"), ObjectReference=f"#ID_{n}")
            etree.SubElement(dof, XA("MimeType")).text = mime
        xmlsec.tree.add_ids(root, ["Id"])
        ctx = xmlsec.SignatureContext()
        ctx.key = self._key
        with _PackageFiles({name: data for name, _mime, data in files}):
            ctx.sign(sig)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=False)

    def package(
        self,
        sender_orgnr: str,
        postkasseadresse: str,
        primary: PackageDocument,
        attachments: Sequence[PackageDocument],
        signing_time: datetime,
        language: str = "no",
        personidentifikator: str | None = None,
    ) -> bytes:
        """The ASiC-E zip of one letter."""
        docs = [primary, *attachments]
        names = [d.filename for d in docs]
        if (
            len(set(names)) != len(names)
            or MANIFEST in names
            or any(n.startswith("META-INF/") for n in names)
        ):
            raise PackageError(f"document file names must be unique and not reserved: {names}")
        manifest = manifest_xml(
            sender_orgnr, postkasseadresse, primary, attachments, language, personidentifikator
        )
        files = [(MANIFEST, "application/xml", manifest), *((d.filename, d.mime_type, d.data) for d in docs)]
        signatures = self.signatures_xml(files, signing_time)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr(
                zipfile.ZipInfo("mimetype", _zip_time(signing_time)), ASIC_MIMETYPE, zipfile.ZIP_STORED
            )
            for name, _mime, data in files:
                zf.writestr(zipfile.ZipInfo(name, _zip_time(signing_time)), data, zipfile.ZIP_DEFLATED)
            zf.writestr(
                zipfile.ZipInfo(SIGNATURES, _zip_time(signing_time)), signatures, zipfile.ZIP_DEFLATED
            )
            zf.writestr(
                zipfile.ZipInfo(ODF_MANIFEST, _zip_time(signing_time)),
                _odf_manifest([(n, m) for n, m, _ in files]),
                zipfile.ZIP_DEFLATED,
            )
        return out.getvalue()


def _zip_time(t: datetime) -> tuple[int, int, int, int, int, int]:
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


# -- reading and verifying --------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenedPackage:
    """A verified document package: its files, the parsed manifest, and who signed it."""

    files: dict[str, bytes]
    manifest: etree._Element
    signer: x509.Certificate

    def documents(self) -> list[tuple[str, str, str]]:
        """(role, href, mime) of every document in the manifest, hoveddokument first."""
        out = []
        for el in self.manifest:
            if el.tag in (f"{{{SDP_NS}}}hoveddokument", f"{{{SDP_NS}}}vedlegg"):
                out.append((etree.QName(el).localname, el.get("href", ""), el.get("mime", "")))
        return out

    @property
    def postkasseadresse(self) -> str:
        return (
            self.manifest.findtext(f"{{{SDP_NS}}}mottaker/{{{SDP_NS}}}person/{{{SDP_NS}}}postkasseadresse")
            or ""
        )


def read_zip(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if not infos or infos[0].filename != "mimetype" or infos[0].compress_type != zipfile.ZIP_STORED:
                raise PackageError("ASiC-E: 'mimetype' must be the first entry, stored")
            files = {i.filename: zf.read(i) for i in infos}
    except zipfile.BadZipFile as exc:
        raise PackageError(f"not a zip: {exc}") from exc
    if files["mimetype"] != ASIC_MIMETYPE:
        raise PackageError(f"ASiC-E: mimetype is {files['mimetype']!r}")
    return files


def verify_signatures(
    signatures: bytes,
    files: Mapping[str, bytes],
    trusted: Sequence[x509.Certificate] | None = None,
) -> x509.Certificate:
    """Check ``signatures.xml``: the signature (libxmlsec1), every referenced file's digest, the
    SignedProperties and the signing certificate's digest; with ``trusted``, the certificate must be
    issued by one of them. Returns the signer's certificate; raises PackageError."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(signatures, parser)
    except etree.XMLSyntaxError as exc:
        raise PackageError(f"signatures.xml: {exc}") from exc
    if root.tag != f"{{{ASIC_NS}}}XAdESSignatures":
        raise PackageError(f"signatures.xml: root is {root.tag}")
    sig = root.find(f"{{{DS_NS}}}Signature")
    cert_b64 = root.findtext(f".//{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if sig is None or not cert_b64:
        raise PackageError("signatures.xml: no Signature with an X509Certificate")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode("".join(cert_b64.split())))
    except ValueError as exc:
        raise PackageError(f"signatures.xml: bad certificate: {exc}") from exc
    if trusted is not None and not any(_issued_by(cert, ca) for ca in trusted):
        raise PackageError(f"signatures.xml: certificate {cert.subject.rfc4514_string()} is not trusted")
    cert_digest = root.findtext(
        f".//{{{XADES_NS}}}SigningCertificate/{{{XADES_NS}}}Cert/{{{XADES_NS}}}CertDigest/{{{DS_NS}}}DigestValue"
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    if cert_digest is None or base64.b64decode(cert_digest) != hashlib.sha1(der).digest():  # noqa: S324
        raise PackageError("signatures.xml: SigningCertificate digest does not match the certificate")
    refs = {r.get("URI") for r in sig.iter(f"{{{DS_NS}}}Reference")}
    if "#SignedProperties" not in refs:
        raise PackageError("signatures.xml: SignedProperties are not signed")
    unsigned = [n for n in files if n != "mimetype" and not n.startswith("META-INF/") and n not in refs]
    if unsigned:
        raise PackageError(f"signatures.xml: files not signed: {unsigned}")
    xmlsec.tree.add_ids(root, ["Id"])
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(
        cert.public_bytes(serialization.Encoding.PEM), xmlsec.constants.KeyDataFormatCertPem, None
    )
    try:
        with _PackageFiles(files):
            ctx.verify(sig)
    except (xmlsec.Error, PackageError) as exc:
        raise PackageError(f"signatures.xml does not verify: {exc}") from exc
    return cert


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):  # InvalidSignature or a mismatch
        return False
    return True


def open_package(data: bytes, trusted: Sequence[x509.Certificate] | None = None) -> OpenedPackage:
    """Read a decrypted package: ASiC-E layout, signature over every file, the manifest's documents
    present. Raises PackageError."""
    files = read_zip(data)
    if SIGNATURES not in files or MANIFEST not in files:
        raise PackageError("package lacks manifest.xml or META-INF/signatures.xml")
    signer = verify_signatures(files[SIGNATURES], files, trusted)
    try:
        manifest = etree.fromstring(files[MANIFEST], etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise PackageError(f"manifest.xml: {exc}") from exc
    if manifest.tag != f"{{{SDP_NS}}}manifest":
        raise PackageError(f"manifest.xml: root is {manifest.tag}")
    opened = OpenedPackage(files, manifest, signer)
    docs = opened.documents()
    if not docs or docs[0][0] != "hoveddokument":
        raise PackageError("manifest.xml: no hoveddokument")
    missing = [href for _role, href, _mime in docs if href not in files]
    if missing:
        raise PackageError(f"manifest.xml names files not in the package: {missing}")
    return opened
