"""Validate SOAP messages against the schemas of the WSDLs we publish (``wsdl/altinn/*.wsdl``).

Each published WSDL carries its XML schemas inline (``wsdl:types``); :func:`contract_schema` splits
them into separate schema documents (each keeping the namespace declarations in scope in the WSDL)
and loads them as one ``xmlschema`` schema set, once per variant.

:func:`envelope_errors` checks a whole message: the SOAP envelope's structure (SOAP 1.1 for the Basic
variant, SOAP 1.2 for the WS variant), the body's element against the contract schema, the SOAP
header entries the contract declares (the history operation's ``SystemUserName``/``SystemPassword``),
and for a fault its structure plus the ``AltinnFault`` detail against the fault schema. Header
entries of other specifications (WS-Security, WS-Addressing) are not part of the WSDL's schemas and
are only checked for being elements. It returns a list of human-readable problems (empty = valid).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree

REPO = Path(__file__).resolve().parents[2]
WSDL_DIR = REPO / "wsdl" / "altinn"
XS = "http://www.w3.org/2001/XMLSchema"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
FAULT_NS = "http://www.altinn.no/services/common/fault/2009/10"
XML_NS = "http://www.w3.org/XML/1998/namespace"

BASIC = "basic"
WS = "ws"
WSDL_FILE = {BASIC: "CorrespondenceAgencyExternalBasic.wsdl", WS: "CorrespondenceAgencyExternal.wsdl"}
ENVELOPE_NS = {BASIC: S11, WS: S12}
PATH_SUFFIX = {
    BASIC: "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc",
    WS: "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc",
}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def variant_of_url(url: str) -> str | None:
    """``basic``/``ws`` for a URL of one of our two SOAP endpoints, else None."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    if "?" in url:
        return None  # ?wsdl, ?singleWsdl: not SOAP messages
    for variant, suffix in PATH_SUFFIX.items():
        if path.endswith(suffix):
            return variant
    return None


def inline_schemas(wsdl: Path) -> list[str]:
    """The ``xs:schema`` elements of ``wsdl:types`` as standalone schema documents."""
    tree = etree.parse(str(wsdl), _PARSER)
    out = []
    for schema in tree.getroot().iterfind(f".//{{{XS}}}schema"):
        standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=schema.nsmap)
        for child in schema:
            standalone.append(copy.deepcopy(child))
        out.append(etree.tostring(standalone, encoding="unicode"))
    return out


@functools.cache
def contract_schema(variant: str) -> xmlschema.XMLSchema:
    """All inline schemas of the published WSDL of ``variant`` as one schema set."""
    sources: list[Any] = list(inline_schemas(WSDL_DIR / WSDL_FILE[variant]))
    return xmlschema.XMLSchema(sources)


def _elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _stray_text(el: etree._Element) -> bool:
    """Non-whitespace character content directly inside ``el`` (not allowed in Envelope/Header/Body)."""
    if (el.text or "").strip():
        return True
    return any((c.tail or "").strip() for c in el)


def _schema_errors(schema: xmlschema.XMLSchema, el: etree._Element, what: str) -> list[str]:
    if schema.maps.elements.get(el.tag) is None:
        return [f"{what}: element {el.tag} is not declared in the contract schemas"]
    errors = []
    for err in schema.iter_errors(el):
        errors.append(f"{what}: {err.reason} at {err.path}")
        if len(errors) >= 5:
            break
    return errors


def _fault_errors(schema: xmlschema.XMLSchema, fault: etree._Element, ns: str) -> list[str]:
    kids = _elements(fault)
    names = [etree.QName(c) for c in kids]
    errors: list[str] = []
    if ns == S11:
        # SOAP 1.1 §4.4: faultcode, faultstring, faultactor?, detail? (unqualified), in this order.
        local = [n.localname for n in names]
        if any(n.namespace is not None for n in names):
            errors.append(f"SOAP 1.1 Fault children must be unqualified: {[c.tag for c in kids]}")
        if local not in (
            ["faultcode", "faultstring"],
            ["faultcode", "faultstring", "faultactor"],
            ["faultcode", "faultstring", "detail"],
            ["faultcode", "faultstring", "faultactor", "detail"],
        ):
            errors.append(f"SOAP 1.1 Fault children out of shape: {local}")
        code = fault.findtext("faultcode") or ""
        prefix, _, _ = code.strip().rpartition(":")
        if prefix and fault.nsmap.get(prefix) is None:
            errors.append(f"faultcode {code!r}: prefix {prefix!r} is not declared")
        detail = fault.find("detail")
    else:
        # SOAP 1.2 part 1 §5.4: Code (Value, Subcode?), Reason (Text+ with xml:lang), Node?, Role?, Detail?
        local = [n.localname for n in names]
        if any(n.namespace != S12 for n in names):
            errors.append(
                f"SOAP 1.2 Fault children must be in the envelope namespace: {[c.tag for c in kids]}"
            )
        allowed = ["Code", "Reason", "Node", "Role", "Detail"]
        if local[:2] != ["Code", "Reason"] or any(
            allowed.index(a) >= allowed.index(b)
            for a, b in zip(local, local[1:], strict=False)
            if b in allowed
        ):
            errors.append(f"SOAP 1.2 Fault children out of shape: {local}")
        if any(n not in allowed for n in local):
            errors.append(f"SOAP 1.2 Fault has unknown children: {local}")
        value = fault.findtext(f"{{{S12}}}Code/{{{S12}}}Value") or ""
        prefix, _, localname = value.strip().rpartition(":")
        if fault.nsmap.get(prefix) != S12 or localname not in (
            "VersionMismatch",
            "MustUnderstand",
            "DataEncodingUnknown",
            "Sender",
            "Receiver",
        ):
            errors.append(f"SOAP 1.2 Fault Code/Value {value!r} is not an env: fault code")
        texts = fault.findall(f"{{{S12}}}Reason/{{{S12}}}Text")
        if not texts or any(t.get(f"{{{XML_NS}}}lang") is None for t in texts):
            errors.append("SOAP 1.2 Fault Reason needs Text elements with xml:lang")
        detail = fault.find(f"{{{S12}}}Detail")
    if detail is None:
        return errors + ["Fault without a detail (the contract's faults carry AltinnFault)"]
    entries = _elements(detail)
    if len(entries) != 1 or entries[0].tag != f"{{{FAULT_NS}}}AltinnFault":
        return errors + [f"Fault detail must hold one AltinnFault, found {[c.tag for c in entries]}"]
    return errors + _schema_errors(schema, entries[0], "AltinnFault detail")


def envelope_errors(data: bytes, variant: str, *, allow_fault: bool = True) -> list[str]:
    """Problems of the SOAP message ``data`` for endpoint ``variant`` (``basic``/``ws``); [] = valid."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}; starts {data[:120]!r}"]
    ns = ENVELOPE_NS[variant]
    if root.tag != f"{{{ns}}}Envelope":
        return [f"root element is {root.tag}, expected {{{ns}}}Envelope"]
    errors: list[str] = []
    kids = _elements(root)
    tags = [c.tag for c in kids]
    if tags not in ([f"{{{ns}}}Body"], [f"{{{ns}}}Header", f"{{{ns}}}Body"]):
        errors.append(f"Envelope children must be Header?, Body: {tags}")
    if _stray_text(root):
        errors.append("character data directly inside Envelope")
    schema = contract_schema(variant)
    header = root.find(f"{{{ns}}}Header")
    if header is not None:
        if _stray_text(header):
            errors.append("character data directly inside Header")
        for entry in _elements(header):
            if etree.QName(entry).namespace is None:
                errors.append(f"header entry {entry.tag} must be namespace-qualified")
            elif schema.maps.elements.get(entry.tag) is not None:
                errors += _schema_errors(schema, entry, f"header {etree.QName(entry).localname}")
    body = root.find(f"{{{ns}}}Body")
    if body is None:
        return errors + ["no SOAP Body"]
    if _stray_text(body):
        errors.append("character data directly inside Body")
    entries = _elements(body)
    if len(entries) != 1:
        return errors + [f"Body must hold exactly one element, found {[c.tag for c in entries]}"]
    payload = entries[0]
    if payload.tag == f"{{{ns}}}Fault":
        if not allow_fault:
            errors.append("a SOAP Fault where none is allowed")
        return errors + _fault_errors(schema, payload, ns)
    return errors + _schema_errors(schema, payload, f"Body {etree.QName(payload).localname}")
