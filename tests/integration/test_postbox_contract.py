"""The postbox transport carries real SDP 1.0 messages: check them against the published SDP schemas.

The reference schemas live outside the repository (``<repo>/../shared/reference/sdp``; override with
``INNBYGGERPOST_REFERENCE_DIR=<dir containing sdp/>``). They import the W3C xmldsig and xenc schemas,
which are not shipped with them, via ``w3/xmldsig-core-schema.xsd`` and ``w3/xenc-schema.xsd``. The test
copies the reference SDP schemas into a temporary directory and puts small stand-ins at those two
locations: for xmldsig the project's own ``wsdl/postbox/xmldsig-subset.xsd`` (ds:Signature with opaque
content, ds:ReferenceType/DigestMethod/DigestValue), for xenc an empty schema (no SDP element we use
refers to it). The reference files themselves are read, never changed.

SDP requires a ds:Signature in every business message; our transport does not sign them (see
postbox.wsdl), so before validating a ``digitalPost``/``kvittering``/``feil`` against the reference the
test inserts a placeholder ``ds:Signature`` as its first child, which the stand-in accepts. Everything
else in the message is checked as published.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import os
import shutil
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import zeep
from lxml import etree

from clients.postbox import NS_DS, NS_POSTBOX, NS_SBDH, NS_SDP, PostboxClient, package_fingerprint
from service.config import Settings, project_root
from service.domain.ports import DigitalPostMessage, Document, Notification
from simulators.postbox import NS_SOAP12, PostboxSimState, SimReceipt, contract_schema, make_postbox_app
from simulators.seed import load_seed

CONTRACT_DIR = project_root() / "wsdl" / "postbox"
DIGIPOST = "984661185"
XENC_NS = "http://www.w3.org/2001/04/xmlenc#"


def reference_dir() -> Path:
    env = os.environ.get("INNBYGGERPOST_REFERENCE_DIR")
    path = Path(env) if env else project_root().parent / "shared" / "reference"
    if not (path / "sdp" / "sdp-melding.xsd").is_file():
        pytest.fail(f"reference SDP schemas not found under {path}/sdp; set INNBYGGERPOST_REFERENCE_DIR")
    return path


@pytest.fixture(scope="module")
def reference_sdp_schema(tmp_path_factory: pytest.TempPathFactory) -> etree.XMLSchema:
    """All reference SDP schemas (sdp.xsd includes melding, manifest, kvittering, feil) with stub imports."""
    work = tmp_path_factory.mktemp("sdp-reference")
    for xsd in (reference_dir() / "sdp").glob("*.xsd"):
        shutil.copyfile(xsd, work / xsd.name)
    (work / "w3").mkdir()
    shutil.copyfile(CONTRACT_DIR / "xmldsig-subset.xsd", work / "w3" / "xmldsig-core-schema.xsd")
    (work / "w3" / "xenc-schema.xsd").write_text(
        f'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="{XENC_NS}"/>',
        encoding="utf-8",
    )
    return etree.XMLSchema(etree.parse(str(work / "sdp.xsd")))


def standalone(el: etree._Element, *, signed: bool) -> etree._Element:
    """A copy of ``el`` as its own document; with a placeholder ds:Signature first when ``signed``."""
    out = etree.fromstring(etree.tostring(copy.deepcopy(el)))
    if signed:
        sig = etree.Element(f"{{{NS_DS}}}Signature")
        etree.SubElement(sig, f"{{{NS_DS}}}SignedInfo")
        out.insert(0, sig)
    return out


def assert_valid(schema: etree.XMLSchema, el: etree._Element) -> None:
    assert schema.validate(el), "\n".join(str(e) for e in schema.error_log)


def sample_message(**kw: Any) -> DigitalPostMessage:
    values: dict[str, Any] = {
        "message_id": "3f2c7a1e-0b4d-4f7e-9a51-2f9c1d7e8a10",
        "conversation_id": "b8e1f0c2-5d3a-4c6b-8e7f-1a2b3c4d5e6f",
        "sender_orgnr": "910646192",
        "personidentifikator": "01018010018",
        "postkasseadresse": "ola.nordmann#1A2B",
        "vendor_orgnr": DIGIPOST,
        "title": "Vedtak om barnehageplass",
        "primary": Document("vedtak.pdf", "Vedtak", "application/pdf", b"%PDF-1.4\n"),
        "attachments": (
            Document("info.html", "Informasjon", "text/html", b"<p>hei</p>"),
            Document("journal.txt", "Journal", "text/plain", b"journal"),
        ),
        "virkningstidspunkt": datetime(2024, 5, 17, 8, 0, tzinfo=UTC),
        "sikkerhetsnivaa": 3,
        "notifications": (
            Notification("epost", "Viktig melding i din digitale postkasse", (0, 7)),
            Notification("sms", "Viktig melding", (1,)),
        ),
    }
    values.update(kw)
    return DigitalPostMessage(**values)


@pytest.fixture(scope="module")
def client() -> PostboxClient:
    return PostboxClient(Settings(vendor_endpoints={DIGIPOST: "http://127.0.0.1:9/postbox/984661185"}))


@pytest.fixture(scope="module")
def envelope(client: PostboxClient) -> etree._Element:
    return client.create_send_envelope(sample_message())


def _find(root: etree._Element, path: str) -> etree._Element:
    el = root.find(path, namespaces={"pb": NS_POSTBOX, "sdp": NS_SDP, "sbd": NS_SBDH, "env": NS_SOAP12})
    assert el is not None, path
    return el


# -- the client's SendDigitalPost -----------------------------------------------------------------


def test_send_request_matches_our_contract(envelope: etree._Element) -> None:
    request = _find(envelope, "env:Body/pb:SendDigitalPost")
    assert_valid(contract_schema(), standalone(request, signed=False))


def test_client_digital_post_is_valid_sdp(
    envelope: etree._Element, reference_sdp_schema: etree.XMLSchema
) -> None:
    post = _find(envelope, "env:Body/pb:SendDigitalPost/sbd:StandardBusinessDocument/sdp:digitalPost")
    doc = standalone(post, signed=True)
    assert_valid(reference_sdp_schema, doc)
    ns = {"sdp": NS_SDP}
    assert doc.findtext("sdp:avsender/sdp:organisasjon", namespaces=ns) == "0192:910646192"
    assert doc.findtext("sdp:mottaker/sdp:person/sdp:personidentifikator", namespaces=ns) == "01018010018"
    assert doc.findtext("sdp:mottaker/sdp:person/sdp:postkasseadresse", namespaces=ns) == "ola.nordmann#1A2B"
    assert doc.findtext("sdp:digitalPostInfo/sdp:sikkerhetsnivaa", namespaces=ns) == "3"
    assert (
        doc.findtext("sdp:digitalPostInfo/sdp:ikkeSensitivTittel", namespaces=ns)
        == "Vedtak om barnehageplass"
    )
    days = [
        el.text
        for el in doc.iterfind(
            "sdp:digitalPostInfo/sdp:varsler/sdp:epostVarsel/sdp:repetisjoner/sdp:dagerEtter", ns
        )
    ]
    assert days == ["0", "7"]
    assert doc.find("sdp:digitalPostInfo/sdp:varsler/sdp:smsVarsel", ns) is not None


def test_client_manifest_is_valid_sdp(
    envelope: etree._Element, reference_sdp_schema: etree.XMLSchema
) -> None:
    manifest = _find(envelope, "env:Body/pb:SendDigitalPost/pb:Dokumentpakke/sdp:manifest")
    doc = standalone(manifest, signed=False)  # the manifest is not a Melding: never signed
    assert_valid(reference_sdp_schema, doc)
    ns = {"sdp": NS_SDP}
    assert doc.find("sdp:hoveddokument", ns).get("href") == "vedtak.pdf"  # type: ignore[union-attr]
    assert [el.get("href") for el in doc.iterfind("sdp:vedlegg", ns)] == ["info.html", "journal.txt"]
    files = [
        el.get("href")
        for el in envelope.iterfind(f".//{{{NS_POSTBOX}}}Dokumentpakke/{{{NS_POSTBOX}}}Dokument")
    ]
    assert files == ["vedtak.pdf", "info.html", "journal.txt"]


def test_sbdh_names_sender_receiver_message_and_conversation(envelope: etree._Element) -> None:
    header = _find(
        envelope,
        "env:Body/pb:SendDigitalPost/sbd:StandardBusinessDocument/sbd:StandardBusinessDocumentHeader",
    )
    ns = {"sbd": NS_SBDH}
    assert header.findtext("sbd:Sender/sbd:Identifier", namespaces=ns) == "0192:910646192"
    assert header.findtext("sbd:Receiver/sbd:Identifier", namespaces=ns) == f"0192:{DIGIPOST}"
    ident = header.find("sbd:DocumentIdentification", ns)
    assert ident is not None
    assert ident.findtext("sbd:InstanceIdentifier", namespaces=ns) == sample_message().message_id
    assert ident.findtext("sbd:Type", namespaces=ns) == "digitalPost"
    assert ident.findtext("sbd:Standard", namespaces=ns) == "urn:no:difi:sdp:1.0"
    assert ident.findtext("sbd:TypeVersion", namespaces=ns) == "1.0"
    assert ident.findtext("sbd:CreationDateAndTime", namespaces=ns)
    scope = header.find("sbd:BusinessScope/sbd:Scope", ns)
    assert scope is not None
    assert scope.findtext("sbd:Type", namespaces=ns) == "ConversationId"
    assert scope.findtext("sbd:InstanceIdentifier", namespaces=ns) == sample_message().conversation_id


def test_fingerprint_covers_the_package(envelope: etree._Element) -> None:
    value = envelope.findtext(f".//{{{NS_SDP}}}dokumentpakkefingeravtrykk/{{{NS_DS}}}DigestValue")
    msg = sample_message()
    assert base64.b64decode(value or "") == package_fingerprint((msg.primary, *msg.attachments))


# -- negative checks: the validation can fail -------------------------------------------------------


@pytest.mark.parametrize(
    "breakage",
    ["unsigned", "short_id", "bad_level", "no_avsender", "long_sms", "repeated_day"],
)
def test_broken_digital_post_is_refused_by_reference(
    envelope: etree._Element, reference_sdp_schema: etree.XMLSchema, breakage: str
) -> None:
    post = _find(envelope, "env:Body/pb:SendDigitalPost/sbd:StandardBusinessDocument/sdp:digitalPost")
    doc = standalone(post, signed=breakage != "unsigned")
    ns = {"sdp": NS_SDP}
    if breakage == "short_id":
        doc.find("sdp:mottaker/sdp:person/sdp:personidentifikator", ns).text = "0101801001"  # type: ignore[union-attr]
    elif breakage == "bad_level":
        doc.find("sdp:digitalPostInfo/sdp:sikkerhetsnivaa", ns).text = "5"  # type: ignore[union-attr]
    elif breakage == "no_avsender":
        doc.remove(doc.find("sdp:avsender", ns))  # type: ignore[arg-type]
    elif breakage == "long_sms":
        doc.find("sdp:digitalPostInfo/sdp:varsler/sdp:smsVarsel/sdp:varslingsTekst", ns).text = "x" * 161  # type: ignore[union-attr]
    elif breakage == "repeated_day":
        rep = doc.find("sdp:digitalPostInfo/sdp:varsler/sdp:epostVarsel/sdp:repetisjoner", ns)
        assert rep is not None
        etree.SubElement(rep, f"{{{NS_SDP}}}dagerEtter").text = "7"
    assert not reference_sdp_schema.validate(doc)


def test_broken_manifest_is_refused_by_reference(
    envelope: etree._Element, reference_sdp_schema: etree.XMLSchema
) -> None:
    manifest = standalone(
        _find(envelope, "env:Body/pb:SendDigitalPost/pb:Dokumentpakke/sdp:manifest"), signed=False
    )
    manifest.find(f"{{{NS_SDP}}}hoveddokument").attrib.pop("mime")  # type: ignore[union-attr]
    assert not reference_sdp_schema.validate(manifest)


# -- the simulator's kvittering and feil ------------------------------------------------------------


def _call(app: Callable[..., Iterable[bytes]], body: bytes) -> tuple[str, etree._Element]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/soap+xml; charset=utf-8",
        CONTENT_LENGTH=str(len(body)),
    )
    environ["wsgi.input"] = BytesIO(body)
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]]) -> None:
        status.append(s)

    out = b"".join(app(environ, start_response))
    return status[0], etree.fromstring(out)


def _soap(body_xml: str) -> bytes:
    return (
        f'<env:Envelope xmlns:env="{NS_SOAP12}" xmlns:pb="{NS_POSTBOX}"><env:Body>{body_xml}</env:Body></env:Envelope>'
    ).encode()


@pytest.fixture(scope="module")
def pulled(client: PostboxClient) -> list[etree._Element]:
    """Receipts of a simulated vendor after one delivery (levering, varslingfeilet SMS, aapning) plus a feil."""
    # 01018010018 (open=true) without a mobile number in the seed: the SMS notification fails
    seed = load_seed()
    seed.persons["01018010018"] = dataclasses.replace(seed.persons["01018010018"], mobil=None)
    state = PostboxSimState()
    app = make_postbox_app(seed, DIGIPOST, state)
    msg = sample_message(notifications=(Notification("sms", "Viktig melding", (0,)),))
    status, _ = _call(app, etree.tostring(client.create_send_envelope(msg)))
    assert status.startswith("200")
    state.queue_receipt(
        DIGIPOST,
        SimReceipt(
            "r-feil",
            msg.message_id,
            msg.conversation_id,
            "0192:910646192",
            "feil",
            datetime.now(UTC),
            "SERVER",
            "x",
        ),
    )
    status, resp = _call(
        app, _soap("<pb:HentKvitteringer><pb:MaksAntall>10</pb:MaksAntall></pb:HentKvitteringer>")
    )
    assert status.startswith("200")
    return list(resp.iterfind(f".//{{{NS_POSTBOX}}}KoetKvittering"))


def test_simulator_receipts_are_valid_sdp(
    pulled: list[etree._Element], reference_sdp_schema: etree.XMLSchema
) -> None:
    kinds = []
    for item in pulled:
        sbd = item.find(f"{{{NS_SBDH}}}StandardBusinessDocument")
        assert sbd is not None
        payload = sbd[1]
        assert_valid(reference_sdp_schema, standalone(payload, signed=True))
        if payload.tag == f"{{{NS_SDP}}}kvittering":
            kinds.append(etree.QName(payload[1]).localname)
        else:
            kinds.append("feil")
        message_id = sbd.findtext(f".//{{{NS_SBDH}}}RequestingDocumentInstanceIdentifier")
        assert message_id == sample_message().message_id
    assert kinds == ["levering", "varslingfeilet", "aapning", "feil"]


def test_simulator_fault_carries_valid_sdp_feil(
    client: PostboxClient, reference_sdp_schema: etree.XMLSchema
) -> None:
    app = make_postbox_app(load_seed(), DIGIPOST, PostboxSimState())
    msg = sample_message(personidentifikator="07078610098", postkasseadresse="avvist.person#9Z9Z")
    status, resp = _call(app, etree.tostring(client.create_send_envelope(msg)))
    assert status.startswith("400")
    assert resp.findtext(f".//{{{NS_SOAP12}}}Code/{{{NS_SOAP12}}}Value") == "env:Sender"
    feil = resp.find(f".//{{{NS_SOAP12}}}Detail/{{{NS_SDP}}}feil")
    assert feil is not None
    assert feil.findtext(f"{{{NS_SDP}}}feiltype") == "KLIENT"
    assert_valid(reference_sdp_schema, standalone(feil, signed=True))
    broken = standalone(feil, signed=True)
    broken.find(f"{{{NS_SDP}}}feiltype").text = "TRANSIENT"  # type: ignore[union-attr]
    assert not reference_sdp_schema.validate(broken)


def test_simulator_refuses_request_that_breaks_the_contract(client: PostboxClient) -> None:
    app = make_postbox_app(load_seed(), DIGIPOST, PostboxSimState())
    env = client.create_send_envelope(sample_message())
    env.find(f".//{{{NS_SDP}}}sikkerhetsnivaa").text = "5"  # type: ignore[union-attr]
    status, resp = _call(app, etree.tostring(env))
    assert status.startswith("400")
    assert resp.findtext(f".//{{{NS_SDP}}}feiltype") == "KLIENT"
    assert "contract" in (resp.findtext(f".//{{{NS_SDP}}}detaljer") or "")


# -- the project's own contract files ---------------------------------------------------------------


def _named_types(path: Path) -> set[str]:
    doc = etree.parse(str(path))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    return {el.get("name", "") for el in doc.getroot() if el.tag in (f"{xs}complexType", f"{xs}simpleType")}


def test_project_sdp_schema_uses_reference_names() -> None:
    ours = _named_types(CONTRACT_DIR / "sdp.xsd")
    reference: set[str] = set()
    for xsd in (reference_dir() / "sdp").glob("sdp-*.xsd"):
        reference |= _named_types(xsd)
    assert ours and ours <= reference, sorted(ours - reference)
    root = etree.parse(str(CONTRACT_DIR / "sdp.xsd")).getroot()
    assert root.get("targetNamespace") == NS_SDP


def test_project_contract_files_are_not_copies_of_reference() -> None:
    reference = {p.read_bytes() for p in (reference_dir() / "sdp").rglob("*") if p.is_file()}
    for ours in CONTRACT_DIR.iterdir():
        assert ours.read_bytes() not in reference, ours.name


def test_wsdl_is_soap12_document_literal_with_three_operations() -> None:
    wsdl = zeep.Client(str(CONTRACT_DIR / "postbox.wsdl")).wsdl
    binding = wsdl.bindings[f"{{{NS_POSTBOX}}}PostboxBinding"]
    assert type(binding).__name__ == "Soap12Binding"
    assert set(binding._operations) == {"SendDigitalPost", "HentKvitteringer", "BekreftKvittering"}
    for op in binding._operations.values():
        assert op.style == "document"


def test_minimal_message_is_valid_sdp(client: PostboxClient, reference_sdp_schema: etree.XMLSchema) -> None:
    env = client.create_send_envelope(
        sample_message(notifications=(), virkningstidspunkt=None, attachments=())
    )
    assert_valid(reference_sdp_schema, standalone(_find(env, f".//{{{NS_SDP}}}digitalPost"), signed=True))
    assert_valid(reference_sdp_schema, standalone(_find(env, f".//{{{NS_SDP}}}manifest"), signed=False))


@pytest.mark.parametrize(
    "example",
    [
        "sdpMelding-digital.xml",
        "sdpKvittering-levertTilPostkasse.xml",
        "sdpKvittering-aapnetAvMottaker.xml",
        "sdpKvittering-mottakerVarselFeilet.xml",
        "sdpFeil.xml",
    ],
)
def test_reference_examples_pass_both_the_stubbed_reference_and_our_sdp_schema(
    reference_sdp_schema: etree.XMLSchema, example: str
) -> None:
    doc = etree.parse(str(reference_dir() / "sdp" / "examples" / example))
    assert_valid(reference_sdp_schema, doc.getroot())
    ours = etree.XMLSchema(etree.parse(str(CONTRACT_DIR / "sdp.xsd")))
    assert_valid(ours, doc.getroot())
