"""The WSDLs we publish (wsdl/altinn/) state the same contract as the published Altinn 2 WSDLs.

(a) that the golden files are current is tests/unit/test_generated_current.py (``make generate``).
(b) Structural comparison against the reference: every WSDL/XSD/policy construct in document order
    (schemas and their imports, elements, complex/simple types, sequences, extensions, enumerations
    with their WCF EnumerationValue, minOccurs/maxOccurs/nillable, messages and parts, portType
    operations with input/output/fault names, messages and wsaw:Action, binding operations with
    soapAction/style/use/headers/faults, WS-Policy, service/port/address). QName-valued attributes are
    compared resolved; documentation, comments, whitespace, prefixes and stray non-contract markup of
    the reference files are ignored; default occurrence bounds are made explicit.
(c) zeep sees the same operations with the same input/output signatures in both.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree
from zeep import Client

from service.entrypoints.soap import wsdl as wsdl_serving
from service.entrypoints.soap.operations import VARIANTS
from tests.support.reference import BASIC_WSDL, WS_WSDL, altinn_reference

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
SP = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"
WSA10 = "http://www.w3.org/2005/08/addressing"
MS_SER = "http://schemas.microsoft.com/2003/10/Serialization/"
CONTRACT_NS = {XS, WSDL, SOAP11, SOAP12, WSP, SP, WSAW, WSA10, MS_SER}
TEXT_NS = {WSA10, MS_SER}  # elements whose text content is part of the contract
DOCUMENTATION = {f"{{{XS}}}documentation", f"{{{WSDL}}}documentation"}
QNAME_ATTRS = {"type", "base", "element", "message", "binding"}
DEFAULTS = {
    f"{{{XS}}}element": {"minOccurs": "1", "maxOccurs": "1", "nillable": "false"},
    f"{{{XS}}}complexContent": {"mixed": "false"},
}

FILES = {"basic": BASIC_WSDL, "ws": WS_WSDL}
BINDING_NS = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"

Node = tuple[str, tuple[tuple[str, str], ...], str, tuple["Node", ...]]


def _canon(el: etree._Element) -> Node | None:
    if not isinstance(el.tag, str) or el.tag in DOCUMENTATION:
        return None
    if etree.QName(el).namespace not in CONTRACT_NS:
        return None
    attrs: dict[str, str] = dict(DEFAULTS.get(el.tag, {}))
    for name, value in el.attrib.items():
        if name in QNAME_ATTRS:
            prefix, _, local = value.strip().rpartition(":")
            value = f"{{{el.nsmap.get(prefix or None, '')}}}{local}"
        attrs[name] = value.strip()
    children = tuple(c for c in (_canon(child) for child in el) if c is not None)
    text = (el.text or "").strip() if etree.QName(el).namespace in TEXT_NS else ""
    node: Node = (el.tag, tuple(sorted(attrs.items())), text, children)
    # an annotation left with nothing but empty appinfo (its documentation removed) says nothing
    if el.tag == f"{{{XS}}}annotation" and all(c[0] == f"{{{XS}}}appinfo" and not c[3] for c in children):
        return None
    return node


def canonical(root: etree._Element) -> Node:
    node = _canon(root)
    assert node is not None
    return node


def _label(node: Node) -> str:
    tag = node[0].split("}", 1)[1]
    attrs = dict(node[1])
    for key in ("name", "value", "namespace", "targetNamespace"):
        if key in attrs:
            return f"{tag}[@{key}={attrs[key]}]"
    return tag


def compare(reference: Node, ours: Node, path: str = "", limit: int = 20) -> list[str]:
    """Differences between two canonical trees (empty when they state the same contract)."""
    diffs: list[str] = []

    def walk(a: Node, b: Node, p: str) -> None:
        if len(diffs) >= limit:
            return
        here = f"{p}/{_label(a)}"
        if a[0] != b[0]:
            diffs.append(f"{here}: element {a[0]} != {b[0]}")
            return
        if a[1] != b[1]:
            ra, rb = dict(a[1]), dict(b[1])
            for key in sorted(set(ra) | set(rb)):
                if ra.get(key) != rb.get(key):
                    diffs.append(f"{here}: @{key} reference={ra.get(key)!r} ours={rb.get(key)!r}")
        if a[2] != b[2]:
            diffs.append(f"{here}: text reference={a[2]!r} ours={b[2]!r}")
        if len(a[3]) != len(b[3]):
            ref_labels = [_label(c) for c in a[3]]
            our_labels = [_label(c) for c in b[3]]
            diffs.append(f"{here}: children reference={ref_labels} ours={our_labels}")
            return
        for ca, cb in zip(a[3], b[3], strict=True):
            walk(ca, cb, here)

    walk(reference, ours, path)
    return diffs


def _parse(path: Path | bytes) -> etree._Element:
    if isinstance(path, bytes):
        return etree.fromstring(path)
    return etree.parse(str(path)).getroot()


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_golden_wsdl_states_the_reference_contract(variant: str) -> None:
    reference = canonical(_parse(altinn_reference(FILES[variant])))
    ours = canonical(_parse(wsdl_serving.golden_path(variant)))
    assert compare(reference, ours) == []


def test_comparator_reports_a_changed_min_occurs() -> None:
    reference = canonical(_parse(altinn_reference(BASIC_WSDL)))
    tree = copy.deepcopy(_parse(wsdl_serving.golden_path("basic")))
    (el,) = tree.xpath(
        "//xs:complexType[@name='SdpOptions']//xs:element[@name='Title']", namespaces={"xs": XS}
    )
    assert el.get("minOccurs") == "0"
    el.set("minOccurs", "1")
    diffs = compare(reference, canonical(tree))
    assert len(diffs) == 1
    assert "complexType[@name=SdpOptions]" in diffs[0] and "@minOccurs" in diffs[0]


def test_comparator_reports_reordered_elements_and_changed_actions() -> None:
    reference = canonical(_parse(altinn_reference(WS_WSDL)))
    tree = copy.deepcopy(_parse(wsdl_serving.golden_path("ws")))
    (seq,) = tree.xpath("//xs:complexType[@name='ReceiptExternal']/xs:sequence", namespaces={"xs": XS})
    first = seq[0]
    seq.remove(first)
    seq.append(first)
    (inp,) = tree.xpath("//wsdl:portType/wsdl:operation[@name='Test']/wsdl:input", namespaces={"wsdl": WSDL})
    inp.set(f"{{{WSAW}}}Action", "urn:changed")
    diffs = compare(reference, canonical(tree), limit=100)
    assert any("ReceiptExternal" in d and "@name" in d for d in diffs)
    assert any("operation[@name=Test]" in d and "Action" in d for d in diffs)


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_zeep_sees_the_same_operations_and_signatures(variant: str) -> None:
    binding_name = f"{{{BINDING_NS}}}{VARIANTS[variant].binding}"
    ref_binding = Client(str(altinn_reference(FILES[variant]))).wsdl.bindings[binding_name]
    our_binding = Client(str(wsdl_serving.golden_path(variant))).wsdl.bindings[binding_name]
    assert sorted(ref_binding._operations) == sorted(our_binding._operations)
    assert len(our_binding._operations) == 8
    for name, ref_op in ref_binding._operations.items():
        our_op = our_binding._operations[name]
        assert str(our_op.input.signature()) == str(ref_op.input.signature()), name
        assert str(our_op.output.signature()) == str(ref_op.output.signature()), name
        assert our_op.soapaction == ref_op.soapaction, name


@pytest.mark.parametrize(
    ("variant", "path", "occurrences"),
    [
        ("basic", "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc", 1),
        ("ws", "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc", 2),
    ],
)
def test_render_wsdl_serves_the_public_address(variant: str, path: str, occurrences: int) -> None:
    wsdl = wsdl_serving.render_wsdl(variant, "http://127.0.0.1:8080/")
    assert wsdl is wsdl_serving.render_wsdl(variant, "http://127.0.0.1:8080/"), "cached"
    assert wsdl.count(f"http://127.0.0.1:8080{path}".encode()) == occurrences
    assert b"https://www.altinn.no" not in wsdl
    root = _parse(wsdl)
    soap = SOAP11 if variant == "basic" else SOAP12
    (address,) = root.iter(f"{{{soap}}}address")
    assert address.get("location") == f"http://127.0.0.1:8080{path}"
    if variant == "ws":
        (epr,) = root.iter(f"{{{WSA10}}}Address")
        assert epr.text == f"http://127.0.0.1:8080{path}"
    # everything but the address is the golden file
    golden = canonical(_parse(wsdl_serving.golden_path(variant)))
    served = canonical(_parse(wsdl.replace(b"http://127.0.0.1:8080", b"https://www.altinn.no")))
    assert compare(golden, served) == []


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_golden_inline_schemas_compile(variant: str, tmp_path: Path) -> None:
    """The inline schemas, split into files with schemaLocations, form a valid XML Schema set."""
    root = _parse(wsdl_serving.golden_path(variant))
    schemas = list(root.iter(f"{{{XS}}}schema"))
    files = {s.get("targetNamespace"): f"s{i}.xsd" for i, s in enumerate(schemas)}
    for schema in schemas:
        copy_ = copy.deepcopy(schema)
        for imp in copy_.findall(f"{{{XS}}}import"):
            imp.set("schemaLocation", files[imp.get("namespace")])
        etree.ElementTree(copy_).write(str(tmp_path / files[schema.get("targetNamespace")]))
    main = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS})
    for ns, name in files.items():
        etree.SubElement(main, f"{{{XS}}}import", namespace=ns, schemaLocation=name)
    etree.ElementTree(main).write(str(tmp_path / "main.xsd"))
    etree.XMLSchema(etree.parse(str(tmp_path / "main.xsd")))
