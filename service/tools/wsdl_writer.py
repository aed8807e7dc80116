"""The WSDL we publish for the Altinn 2 correspondence contract, one single-file WSDL per variant.

spyne's own WSDL differs from WCF's (fault namespace, soapAction, part names, ordering, determinism),
so the service publishes golden WSDL files that this module writes, WCF style, from the spyne models
(:mod:`.types`) and the operation table (:mod:`.operations`):

* ``basic``: ``CorrespondenceAgencyExternalBasicSF``, SOAP 1.1 binding
  ``BasicHttpBinding_ICorrespondenceAgencyExternalBasic``;
* ``ws``: ``CorrespondenceAgencyExternalSF``, SOAP 1.2 binding ``CustomBinding_ICorrespondenceAgencyExternal``
  with the WS-Policy of the published service (transport security, signed-supporting UsernameToken,
  WS-Addressing).

A build-time tool: ``make generate`` (:mod:`service.tools.generate`) writes the golden copies into
``wsdl/altinn/`` (with the published placeholder address); at run time
:func:`service.entrypoints.soap.wsdl.render_wsdl` serves them with the configured public address.
The output depends only on the models and the table (no dict-order or hash dependence).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lxml import etree
from spyne.model.complex import ComplexModel

from service import ns
from service.entrypoints.soap import types as t
from service.entrypoints.soap.contract import Operation, Variant
from service.entrypoints.soap.operations import VARIANTS
from service.entrypoints.soap.wsdl import FILE_NAMES, GOLDEN_DIR, PLACEHOLDER_HOST

XS = ns.XSD
WSDL = ns.WSDL
SOAP11 = ns.WSDL_SOAP11
SOAP12 = ns.WSDL_SOAP12
WSP = ns.WSP
SP = ns.SP
WSU = ns.WSU
WSAW = ns.WSAW
WSA10 = ns.WSA10
XMIME = ns.XMIME
HTTP_TRANSPORT = ns.SOAP_HTTP_TRANSPORT

# Namespace declarations of wsdl:definitions, in the order WCF writes them.
ROOT_NSMAP: tuple[tuple[str, str], ...] = (
    ("wsdl", WSDL),
    ("wsam", ns.WSAM),
    ("wsx", ns.WSX),
    ("wsap", ns.WSAP),
    ("msc", ns.MSC),
    ("wsp", WSP),
    ("xsd", XS),
    ("soap", SOAP11),
    ("wsu", WSU),
    ("soap12", SOAP12),
    ("soapenc", ns.SOAP_ENCODING),
    ("tns", ns.ALTINN_SERVICE),
    ("wsa10", WSA10),
    ("wsaw", WSAW),
    ("wsa", ns.WSA_2004_08),
)

# The Microsoft serialization schema every WCF single-file WSDL carries (primitive elements,
# the char/duration/guid simple types and the FactoryType/Id/Ref attributes).
MS_PRIMITIVE_ELEMENTS = (
    "anyType",
    "anyURI",
    "base64Binary",
    "boolean",
    "byte",
    "dateTime",
    "decimal",
    "double",
    "float",
    "int",
    "long",
    "QName",
    "short",
    "string",
    "unsignedByte",
    "unsignedInt",
    "unsignedLong",
    "unsignedShort",
)
MS_DURATION_FACETS = (
    ("pattern", r"\-?P(\d*D)?(T(\d*H)?(\d*M)?(\d*(\.\d*)?S)?)?"),
    ("minInclusive", "-P10675199DT2H48M5.4775808S"),
    ("maxInclusive", "P10675199DT2H48M5.4775807S"),
)
MS_ATTRIBUTES = (("FactoryType", "QName"), ("Id", "ID"), ("Ref", "IDREF"))

# Elements of type xs:base64Binary carry an MTOM content-type hint in the WS variant.
WS_BINARY_CONTENT_TYPE = "application/octet-stream"

POLICY_ID = "CustomBinding_ICorrespondenceAgencyExternal_policy"


def _q(uri: str, local: str) -> str:
    return f"{{{uri}}}{local}"


def _model_qname(cls: Any) -> tuple[str, str]:
    uri, name = cls.get_namespace(), cls.get_type_name()
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls!r} has no type name")
    return uri, name


def _unbounded(value: Any) -> bool:
    return value == float("inf") or value == "unbounded"


class _SchemaWriter:
    """Writes one xs:schema; other namespaces get ``qN`` prefixes declared where they are used."""

    def __init__(self, parent: etree._Element, namespace: str, variant: str, extra_attrs: dict[str, str]):
        self.namespace = namespace
        self.variant = variant
        self.counter = 0
        attrs = dict(extra_attrs)
        attrs["elementFormDefault"] = "qualified"
        attrs["targetNamespace"] = namespace
        self.el = etree.SubElement(parent, _q(XS, "schema"), nsmap={"xs": XS, "tns": namespace})
        for key in ("attributeFormDefault", "elementFormDefault", "targetNamespace"):
            if key in attrs:
                self.el.set(key, attrs[key])

    def qname(self, el: etree._Element, uri: str, local: str) -> tuple[etree._Element, str]:
        """Return (element to use, prefixed value); declares ``qN`` on a fresh element if needed."""
        if uri == XS:
            return el, f"xs:{local}"
        if uri == self.namespace:
            return el, f"tns:{local}"
        self.counter += 1
        prefix = f"q{self.counter}"
        replacement = etree.Element(el.tag, nsmap={prefix: uri})
        for k, v in el.attrib.items():
            replacement.set(k, v)
        parent = el.getparent()
        if parent is not None:
            parent.replace(el, replacement)
        return replacement, f"{prefix}:{local}"

    def member(
        self,
        parent: etree._Element,
        name: str,
        cls: Any,
        *,
        explicit_min: bool,
        attrs: dict[str, str] | None = None,
    ) -> None:
        a = cls.Attributes
        el = etree.SubElement(parent, _q(XS, "element"))
        min_occurs = int(a.min_occurs)
        if explicit_min or min_occurs != 1:
            el.set("minOccurs", str(min_occurs))
        if _unbounded(a.max_occurs):
            el.set("maxOccurs", "unbounded")
        elif int(a.max_occurs) != 1:
            el.set("maxOccurs", str(int(a.max_occurs)))
        el.set("name", name)
        if a.nillable:
            el.set("nillable", "true")
        uri, local = _model_qname(cls)
        el, value = self.qname(el, uri, local)
        el.set("type", value)
        if self.variant == "ws" and (uri, local) == (XS, "base64Binary"):
            el.set(_q(XMIME, "expectedContentTypes"), WS_BINARY_CONTENT_TYPE)
        for k, v in (attrs or {}).items():
            el.set(k, v)

    def global_element(self, name: str, type_ns: str, type_local: str) -> None:
        el = etree.SubElement(self.el, _q(XS, "element"))
        el.set("name", name)
        el.set("nillable", "true")
        el, value = self.qname(el, type_ns, type_local)
        el.set("type", value)

    def model(self, cls: Any) -> None:
        uri, name = _model_qname(cls)
        if uri != self.namespace:
            raise ValueError(f"{cls!r} is in {uri}, not {self.namespace}")
        if issubclass(cls, ComplexModel):
            ct = etree.SubElement(self.el, _q(XS, "complexType"), name=name)
            base = cls.__extends__
            if base is not None and base in t.ALL_TYPES:
                content = etree.SubElement(ct, _q(XS, "complexContent"), mixed="false")
                ext = etree.SubElement(content, _q(XS, "extension"))
                ext, value = self.qname(ext, *_model_qname(base))
                ext.set("base", value)
                seq = etree.SubElement(ext, _q(XS, "sequence"))
            else:
                seq = etree.SubElement(ct, _q(XS, "sequence"))
            for field_name, field_cls in cls._type_info.items():
                self.member(seq, field_name, field_cls, explicit_min=False)
        else:
            st = etree.SubElement(self.el, _q(XS, "simpleType"), name=name)
            restriction = etree.SubElement(st, _q(XS, "restriction"), base="xs:string")
            numbers = getattr(cls, "_enumeration_values", {})
            for value in cls.Attributes.values:
                enum = etree.SubElement(restriction, _q(XS, "enumeration"), value=value)
                if value in numbers:
                    appinfo = etree.SubElement(
                        etree.SubElement(enum, _q(XS, "annotation")), _q(XS, "appinfo")
                    )
                    num = etree.SubElement(
                        appinfo,
                        _q(ns.MS_SERIALIZATION, "EnumerationValue"),
                        nsmap={None: ns.MS_SERIALIZATION},
                    )
                    num.text = str(numbers[value])
        self.global_element(name, uri, name)

    def wrapper(self, name: str, params: tuple[Any, ...]) -> None:
        el = etree.SubElement(self.el, _q(XS, "element"), name=name)
        seq = etree.SubElement(etree.SubElement(el, _q(XS, "complexType")), _q(XS, "sequence"))
        for p in params:
            self.member(seq, p.name, p.type, explicit_min=True)

    def header_element(self, param: Any) -> None:
        el = etree.SubElement(self.el, _q(XS, "element"), name=param.name)
        if param.type.Attributes.nillable:
            el.set("nillable", "true")
        el, value = self.qname(el, *_model_qname(param.type))
        el.set("type", value)

    def ms_serialization(self) -> None:
        for name in MS_PRIMITIVE_ELEMENTS:
            self.global_element(name, XS, name)
        self.global_element("char", self.namespace, "char")
        st = etree.SubElement(self.el, _q(XS, "simpleType"), name="char")
        etree.SubElement(st, _q(XS, "restriction"), base="xs:int")
        self.global_element("duration", self.namespace, "duration")
        st = etree.SubElement(self.el, _q(XS, "simpleType"), name="duration")
        restriction = etree.SubElement(st, _q(XS, "restriction"), base="xs:duration")
        for facet, value in MS_DURATION_FACETS:
            etree.SubElement(restriction, _q(XS, facet), value=value)
        self.global_element("guid", self.namespace, "guid")
        st = etree.SubElement(self.el, _q(XS, "simpleType"), name="guid")
        restriction = etree.SubElement(st, _q(XS, "restriction"), base="xs:string")
        etree.SubElement(restriction, _q(XS, "pattern"), value=t.MsGuid.Attributes.pattern)
        for name, xs_type in MS_ATTRIBUTES:
            etree.SubElement(self.el, _q(XS, "attribute"), name=name, type=f"xs:{xs_type}")


def _policy(parent: etree._Element) -> None:
    """The WS-Policy of the WS binding: HTTPS transport binding with timestamp, a signed supporting
    WSS 1.0 UsernameToken, WSS 1.1, WS-Trust 1.0 and WS-Addressing."""

    def sub(el: etree._Element, uri: str, local: str, **attrs: str) -> etree._Element:
        return etree.SubElement(el, _q(uri, local), **attrs)

    def sp(el: etree._Element, local: str) -> etree._Element:
        return etree.SubElement(el, _q(SP, local), nsmap={"sp": SP})

    def nested(el: etree._Element, local: str) -> etree._Element:
        """<sp:local><wsp:Policy><sp:..."""
        return sub(sub(el, SP, local), WSP, "Policy")

    policy = sub(parent, WSP, "Policy")
    policy.set(_q(WSU, "Id"), POLICY_ID)
    all_ = sub(sub(policy, WSP, "ExactlyOne"), WSP, "All")
    transport = sub(sp(all_, "TransportBinding"), WSP, "Policy")
    sub(nested(transport, "TransportToken"), SP, "HttpToken")
    sub(nested(transport, "AlgorithmSuite"), SP, "Basic256")
    sub(nested(transport, "Layout"), SP, "Strict")
    sub(transport, SP, "IncludeTimestamp")
    supporting = sub(sp(all_, "SignedSupportingTokens"), WSP, "Policy")
    token = sub(supporting, SP, "UsernameToken")
    token.set(
        _q(SP, "IncludeToken"),
        "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy/IncludeToken/AlwaysToRecipient",
    )
    sub(sub(token, WSP, "Policy"), SP, "WssUsernameToken10")
    sub(sp(all_, "Wss11"), WSP, "Policy")
    trust = sub(sp(all_, "Trust10"), WSP, "Policy")
    for local in ("MustSupportIssuedTokens", "RequireClientEntropy", "RequireServerEntropy"):
        sub(trust, SP, local)
    sub(all_, WSAW, "UsingAddressing")


class _MessagePrefixes:
    """WCF declares a fresh ``qN`` prefix on each wsdl:part whose element is outside the tns."""

    def __init__(self) -> None:
        self.counter = 0

    def part(self, message: etree._Element, name: str, uri: str, local: str) -> None:
        if uri == ns.ALTINN_SERVICE:
            etree.SubElement(message, _q(WSDL, "part"), name=name, element=f"tns:{local}")
            return
        self.counter += 1
        prefix = f"q{self.counter}"
        part = etree.SubElement(message, _q(WSDL, "part"), nsmap={prefix: uri})
        part.set("name", name)
        part.set("element", f"{prefix}:{local}")


def _messages(root: etree._Element, ops: tuple[Operation, ...]) -> None:
    prefixes = _MessagePrefixes()
    for op in ops:
        msg = etree.SubElement(root, _q(WSDL, "message"), name=op.input_message)
        prefixes.part(msg, "parameters", op.in_ns, op.in_element)
        if op.header_message:
            hmsg = etree.SubElement(root, _q(WSDL, "message"), name=op.header_message)
            for p in op.header_parts:
                prefixes.part(hmsg, p.name, op.header_ns or "", p.name)
        msg = etree.SubElement(root, _q(WSDL, "message"), name=op.output_message)
        prefixes.part(msg, "parameters", op.out_ns, op.out_element)
        msg = etree.SubElement(root, _q(WSDL, "message"), name=op.fault_message)
        prefixes.part(msg, "detail", op.fault_ns, op.fault_element)


def _port_type(root: etree._Element, variant: Variant) -> None:
    pt = etree.SubElement(root, _q(WSDL, "portType"), name=variant.port_type)
    for op in variant.operations:
        o = etree.SubElement(pt, _q(WSDL, "operation"), name=op.name)
        for tag, action, name, message in (
            ("input", op.input_action, op.input_name, op.input_message),
            ("output", op.output_action, op.output_name, op.output_message),
            ("fault", op.fault_action, op.fault_name, op.fault_message),
        ):
            el = etree.SubElement(o, _q(WSDL, tag))
            el.set(_q(WSAW, "Action"), action)
            if name:
                el.set("name", name)
            el.set("message", f"tns:{message}")


def _binding(root: etree._Element, variant: Variant) -> None:
    soap = SOAP11 if variant.soap_version == "1.1" else SOAP12
    b = etree.SubElement(root, _q(WSDL, "binding"), name=variant.binding, type=f"tns:{variant.port_type}")
    if variant.key == "ws":
        etree.SubElement(b, _q(WSP, "PolicyReference"), URI=f"#{POLICY_ID}")
    etree.SubElement(b, _q(soap, "binding"), transport=HTTP_TRANSPORT)
    for op in variant.operations:
        o = etree.SubElement(b, _q(WSDL, "operation"), name=op.name)
        etree.SubElement(o, _q(soap, "operation"), soapAction=op.soap_action, style="document")
        inp = etree.SubElement(o, _q(WSDL, "input"))
        if op.input_name:
            inp.set("name", op.input_name)
        for p in op.header_parts:
            etree.SubElement(
                inp, _q(soap, "header"), message=f"tns:{op.header_message}", part=p.name, use="literal"
            )
        etree.SubElement(inp, _q(soap, "body"), use="literal")
        out = etree.SubElement(o, _q(WSDL, "output"))
        if op.output_name:
            out.set("name", op.output_name)
        etree.SubElement(out, _q(soap, "body"), use="literal")
        fault = etree.SubElement(o, _q(WSDL, "fault"), name=op.fault_name)
        etree.SubElement(fault, _q(soap, "fault"), use="literal", name=op.fault_name, namespace="")


def _service(root: etree._Element, variant: Variant, address: str) -> None:
    soap = SOAP11 if variant.soap_version == "1.1" else SOAP12
    svc = etree.SubElement(root, _q(WSDL, "service"), name=variant.service)
    port = etree.SubElement(svc, _q(WSDL, "port"), name=variant.port, binding=f"tns:{variant.binding}")
    etree.SubElement(port, _q(soap, "address"), location=address)
    if variant.key == "ws":
        epr = etree.SubElement(port, _q(WSA10, "EndpointReference"))
        etree.SubElement(epr, _q(WSA10, "Address")).text = address


def build_wsdl(variant_key: str, address: str | None = None) -> bytes:
    """Build the WSDL of one variant (``basic`` or ``ws``); ``address`` defaults to the published one."""
    variant = VARIANTS[variant_key]
    address = address or PLACEHOLDER_HOST + variant.path
    nsmap: dict[str | None, str] = dict(ROOT_NSMAP)
    if variant_key == "ws":
        nsmap["xmime"] = XMIME
    root = etree.Element(_q(WSDL, "definitions"), nsmap=nsmap)
    root.set("name", variant.definitions_name)
    root.set("targetNamespace", variant.target_namespace)
    if variant_key == "ws":
        _policy(root)
    types = etree.SubElement(root, _q(WSDL, "types"))
    for uri, imports, classes in t.SCHEMAS:
        extra = {"attributeFormDefault": "qualified"} if uri == ns.MS_SERIALIZATION else {}
        schema = _SchemaWriter(types, uri, variant_key, extra)
        for imported in imports:
            etree.SubElement(schema.el, _q(XS, "import"), namespace=imported)
        if uri == ns.MS_SERIALIZATION:
            schema.ms_serialization()
            continue
        for op in variant.operations:
            if op.in_ns == uri:
                schema.wrapper(op.in_element, op.in_params)
                for p in op.header_parts:
                    schema.header_element(p)
            if op.out_ns == uri:
                schema.wrapper(op.out_element, op.out_params)
        for cls in classes:
            schema.model(cls)
    _messages(root, variant.operations)
    _port_type(root, variant)
    _binding(root, variant)
    _service(root, variant, address)
    body = etree.tostring(root, encoding="unicode", pretty_print=True)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def write_golden(out_dir: Path | None = None) -> list[Path]:
    """Write both golden WSDLs (into ``out_dir``, default ``wsdl/altinn/``); returns the paths."""
    out_dir = out_dir or GOLDEN_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key, name in FILE_NAMES.items():
        path = out_dir / name
        path.write_bytes(build_wsdl(key))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``wsdl_writer [OUT_DIR]``; ``make generate`` runs it after the code generator."""
    argv = sys.argv[1:] if argv is None else argv
    for path in write_golden(Path(argv[0]) if argv else None):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
