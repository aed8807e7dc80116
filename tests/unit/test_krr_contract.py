"""The project's KRR contract files (wsdl/krr/) state the same facts as the published reference.

The comparison is structural: every WSDL/XSD construct (elements, types, sequences, occurrence
bounds, enumerations/facets, attributes, messages, portType operations, binding operations with
soapAction/header/body, service ports) in document order, with QName-valued attributes resolved to
{namespace}name. Documentation (``xs:annotation``, ``wsdl:documentation``), comments, whitespace,
prefixes and foreign-namespace annotation attributes (sawsdl) are ignored. Default occurrence bounds
are made explicit, so ``minOccurs="1"`` and no ``minOccurs`` compare equal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from tests.support.reference import reference_dir, require

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "wsdl" / "krr"
FILES = (
    "oppslagstjeneste-ws-16-02.wsdl",
    "oppslagstjeneste-ws-16-02.xsd",
    "oppslagstjeneste-metadata-16-02.xsd",
)

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
CONTRACT_NS = {XS, WSDL, SOAP12}
SKIP = {f"{{{XS}}}annotation", f"{{{WSDL}}}documentation"}
QNAME_ATTRS = {"type", "base", "ref", "element", "message", "binding", "itemType", "substitutionGroup"}
DEFAULTS = {
    f"{{{XS}}}element": {"minOccurs": "1", "maxOccurs": "1"},
    f"{{{XS}}}sequence": {"minOccurs": "1", "maxOccurs": "1"},
    f"{{{XS}}}choice": {"minOccurs": "1", "maxOccurs": "1"},
    f"{{{XS}}}any": {"minOccurs": "1", "maxOccurs": "1"},
}

Node = tuple[str, tuple[tuple[str, str], ...], tuple["Node", ...]]


def _attr_name(name: str) -> str | None:
    """Unqualified attributes keep their name; WSDL's own (wsdl:required) are kept; others dropped."""
    if not name.startswith("{"):
        return name
    ns, local = name[1:].split("}", 1)
    return f"wsdl:{local}" if ns == WSDL else None


def _canon(el: etree._Element) -> Node:
    attrs: dict[str, str] = dict(DEFAULTS.get(el.tag, {}))
    for raw_name, value in el.attrib.items():
        name = _attr_name(raw_name)
        if name is None:
            continue
        if name in QNAME_ATTRS:
            prefix, _, local = value.strip().rpartition(":")
            value = f"{{{el.nsmap.get(prefix or None, '')}}}{local}"
        attrs[name] = value.strip()
    children = tuple(
        _canon(c)
        for c in el
        if isinstance(c.tag, str) and c.tag not in SKIP and etree.QName(c).namespace in CONTRACT_NS
    )
    return (el.tag, tuple(sorted(attrs.items())), children)


def contract_facts(directory: Path) -> dict[str, Node]:
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)
    return {name: _canon(etree.parse(str(directory / name), parser).getroot()) for name in FILES}


def differences(a: Node, b: Node, path: str = "") -> list[str]:
    """Human-readable list of structural differences between two canonical trees."""
    tag_a, attrs_a, kids_a = a
    tag_b, attrs_b, kids_b = b
    here = f"{path}/{etree.QName(tag_a).localname}[{dict(attrs_a).get('name', '')}]"
    out: list[str] = []
    if tag_a != tag_b:
        return [f"{here}: element {tag_a} != {tag_b}"]
    if attrs_a != attrs_b:
        da, db = dict(attrs_a), dict(attrs_b)
        for key in sorted(set(da) | set(db)):
            if da.get(key) != db.get(key):
                out.append(f"{here}: @{key} {da.get(key)!r} != {db.get(key)!r}")
    if len(kids_a) != len(kids_b):
        out.append(f"{here}: {len(kids_a)} children != {len(kids_b)}")
    for ka, kb in zip(kids_a, kids_b, strict=False):
        out.extend(differences(ka, kb, here))
    return out


def compare_dirs(ours: Path, reference: Path) -> list[str]:
    a, b = contract_facts(ours), contract_facts(reference)
    return [f"{name}: {d}" for name in FILES for d in differences(a[name], b[name])]


# --------------------------------------------------------------------------------------------------


def _reference() -> Path:
    """The published KRR contract (skip on a developer machine without it, fail under CI=true)."""
    directory = reference_dir() / "krr"
    for name in FILES:
        require(directory / name)
    return directory


def test_our_krr_contract_matches_reference() -> None:
    diffs = compare_dirs(OURS, _reference())
    assert diffs == [], "\n".join(diffs)


def test_key_facts_are_present() -> None:
    """A few facts spelled out, so a comparator bug cannot make the comparison vacuous."""
    facts = contract_facts(OURS)
    flat = repr(facts)
    assert f"{{{SOAP12}}}binding" in flat
    for op in ("HentPersoner", "HentEndringer", "HentPrintSertifikat"):
        assert f"('name', '{op}')" in flat
    assert "('maxOccurs', '1000')" in flat
    assert "('soapAction', '')" in flat
    assert "('value', 'SikkerDigitalPost')" in flat
    assert "('targetNamespace', 'http://kontaktinfo.difi.no/xsd/oppslagstjeneste/16-02')" in flat
    assert "('targetNamespace', 'http://begrep.difi.no')" in flat


def test_no_reference_documentation_copied() -> None:
    for name in FILES:
        doc = etree.parse(str(OURS / name))
        assert not doc.xpath("//xs:annotation|//xs:documentation|//xs:appinfo", namespaces={"xs": XS}), name
        assert not doc.xpath("//wsdl:documentation", namespaces={"wsdl": WSDL}), name
        text = (OURS / name).read_text(encoding="utf-8")
        assert "sawsdl" not in text and "Webtjeneste" not in text, name


def test_zeep_loads_our_wsdl() -> None:
    import zeep

    client = zeep.Client(str(OURS / FILES[0]))
    binding = client.wsdl.bindings[
        "{http://kontaktinfo.difi.no/wsdl/oppslagstjeneste-16-02}oppslagstjeneste-16-02_SOAP12Binding"
    ]
    assert set(binding._operations) == {"HentPersoner", "HentEndringer", "HentPrintSertifikat"}


MUTATIONS = [
    (
        "oppslagstjeneste-ws-16-02.xsd",
        'maxOccurs="1000"/>\n      </xs:sequence>',
        'maxOccurs="999"/>\n      </xs:sequence>',
    ),
    ("oppslagstjeneste-ws-16-02.xsd", '<xs:enumeration value="VarslingsStatus"/>', ""),
    (
        "oppslagstjeneste-metadata-16-02.xsd",
        'name="reservasjon" type="tns:reservasjon" minOccurs="0"',
        'name="reservasjon" type="tns:reservasjon"',
    ),
    ("oppslagstjeneste-metadata-16-02.xsd", '<xs:maxLength value="100"/>', '<xs:maxLength value="101"/>'),
    (
        "oppslagstjeneste-metadata-16-02.xsd",
        'targetNamespace="http://begrep.difi.no"',
        'targetNamespace="urn:x"',
    ),
    ("oppslagstjeneste-ws-16-02.wsdl", 'soapAction=""', 'soapAction="HentPersoner"'),
    ("oppslagstjeneste-ws-16-02.wsdl", 'part="Oppslagstjenesten"', 'part="Header"'),
    (
        "oppslagstjeneste-ws-16-02.wsdl",
        'element="ot16-02:HentPersonerRespons"',
        'element="ot16-02:HentPersonerForespoersel"',
    ),
]


@pytest.mark.parametrize(("name", "old", "new"), MUTATIONS)
def test_comparator_detects_mutated_copy(tmp_path: Path, name: str, old: str, new: str) -> None:
    for f in FILES:
        shutil.copy(OURS / f, tmp_path / f)
    text = (tmp_path / name).read_text(encoding="utf-8")
    assert old in text, f"mutation anchor not found in {name}: {old!r}"
    (tmp_path / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    assert compare_dirs(tmp_path, OURS), f"comparator missed mutation {old!r} -> {new!r} in {name}"


def test_comparator_detects_reordered_sequence(tmp_path: Path) -> None:
    for f in FILES:
        shutil.copy(OURS / f, tmp_path / f)
    path = tmp_path / "oppslagstjeneste-metadata-16-02.xsd"
    doc = etree.parse(str(path))
    seq = doc.find(f"{{{XS}}}complexType[@name='Person']/{{{XS}}}sequence")
    assert seq is not None
    first = seq[0]
    seq.remove(first)
    seq.append(first)
    doc.write(str(path))
    assert any("Person" in d for d in compare_dirs(tmp_path, OURS))
