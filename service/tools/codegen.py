"""Generate the spyne contract modules of the Altinn 2 correspondence contract.

Reads the type schemas, messages, portTypes and bindings of the published Altinn 2
``CorrespondenceAgencyExternal`` WSDLs (WS variant, SOAP 1.2, and Basic variant, SOAP 1.1) and writes:

* ``service/entrypoints/soap/types.py``: one spyne model per ``xs:complexType`` / ``xs:simpleType``
  (namespace, type name, element order, minOccurs, maxOccurs and nillable as published), plus the
  ordered schema registry ``SCHEMAS`` that :mod:`service.tools.wsdl_writer` walks.
* ``service/entrypoints/soap/operations.py``: the operation table of both variants (wrapper elements,
  parameters, results, soapAction, WS-Addressing actions, message names, header parts), as data of
  the hand-written classes in :mod:`service.entrypoints.soap.contract`.

A build-time tool: run through ``make generate`` (:mod:`service.tools.generate`), which also
rewrites the golden WSDLs. Namespaces are named after their constants in :mod:`service.ns`.
Only facts of the contract are carried over (names, namespaces, types, order, cardinalities); the
documentation text of the published files is not.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from service import ns
from service.xml import parse_file

XS = ns.XSD
WSDL = ns.WSDL
SOAP11 = ns.WSDL_SOAP11
SOAP12 = ns.WSDL_SOAP12
WSAW = ns.WSAW

REPO_ROOT = Path(__file__).resolve().parents[2]
SOAP_PACKAGE = REPO_ROOT / "service" / "entrypoints" / "soap"
BASIC_FILE = "CorrespondenceAgencyExternalBasic.wsdl"
WS_FILE = "CorrespondenceAgencyExternal.wsdl"
TYPES_OUT = SOAP_PACKAGE / "types.py"
OPERATIONS_OUT = SOAP_PACKAGE / "operations.py"
COMMAND = "make generate"

# ``ns.<CONSTANT>`` per schema namespace, from service/ns.py (an unknown namespace is an error: add it
# there first).
_ALTINN_NAMESPACES = (
    "ALTINN_",
    "MS_SERIALIZATION",
    "MS_ARRAYS",
)
NAMESPACE_CONSTANTS: dict[str, str] = {
    value: f"ns.{name}"
    for name, value in vars(ns).items()
    if name.isupper() and name.startswith(_ALTINN_NAMESPACES)
}

# Namespaces whose schema holds operation wrapper elements (written from the operation table) or the
# Microsoft serialization primitives (written by wsdlgen): no spyne classes are generated from them.
OPERATION_NAMESPACES = (ns.ALTINN_SERVICES_2009_10, ns.ALTINN_SERVICE)
MS_SERIALIZATION_NS = ns.MS_SERIALIZATION

# Python class names for type names that occur in more than one namespace.
CLASS_NAME_OVERRIDES: dict[tuple[str, str], str] = {
    (ns.ALTINN_CORRESPONDENCE_2013_11, "Notification"): "StatusNotification",
    (ns.ALTINN_NOTIFICATION_2009_10, "Notification"): "Notification",
}

# The Microsoft serialization simple types (not referenced by any element of the contract).
MS_SIMPLE_CLASSES = {"char": "MsChar", "duration": "MsDuration", "guid": "MsGuid"}

PRIMITIVES: dict[str, str] = {
    "string": "Unicode",
    "int": "Integer32",
    "unsignedInt": "UnsignedInteger32",
    "boolean": "Boolean",
    "dateTime": "DateTime",
    "base64Binary": "ByteArray",
}


def _q(tag: str, uri: str) -> str:
    return f"{{{uri}}}{tag}"


def _resolve_qname(el: etree._Element, value: str) -> tuple[str, str]:
    prefix, _, local = value.rpartition(":")
    uri = el.nsmap.get(prefix or None)
    if uri is None:
        raise ValueError(f"unbound prefix in {value!r} at line {el.sourceline}")
    return uri, local


@dataclass
class ElementDecl:
    name: str
    type_ns: str
    type_name: str
    min_occurs: int
    max_occurs: str  # "1" or "unbounded"
    nillable: bool


@dataclass
class TypeDecl:
    namespace: str
    name: str
    kind: str  # "complex" | "enum" | "ms"
    elements: list[ElementDecl] = field(default_factory=list)
    base: tuple[str, str] | None = None
    values: list[str] = field(default_factory=list)
    # WCF data contract enum member values (xs:appinfo/ser:EnumerationValue), where published
    enumeration_values: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass
class SchemaDecl:
    namespace: str
    imports: list[str]
    types: list[TypeDecl]
    elements: list[str]  # global element names in document order (operation namespaces)


def _element_decl(el: etree._Element) -> ElementDecl:
    type_ns, type_name = _resolve_qname(el, el.get("type"))
    return ElementDecl(
        name=el.get("name"),
        type_ns=type_ns,
        type_name=type_name,
        min_occurs=int(el.get("minOccurs", "1")),
        max_occurs=el.get("maxOccurs", "1"),
        nillable=el.get("nillable", "false") == "true",
    )


def _sequence_elements(seq: etree._Element | None) -> list[ElementDecl]:
    if seq is None:
        return []
    return [_element_decl(el) for el in seq.findall(_q("element", XS))]


def parse_schemas(wsdl_path: Path) -> list[SchemaDecl]:
    tree = parse_file(wsdl_path)
    schemas: list[SchemaDecl] = []
    for schema in tree.iter(_q("schema", XS)):
        uri = schema.get("targetNamespace")
        if uri not in NAMESPACE_CONSTANTS:
            raise ValueError(f"unknown schema namespace {uri}: add a constant for it to service/ns.py")
        imports = [imp.get("namespace") for imp in schema.findall(_q("import", XS))]
        types: list[TypeDecl] = []
        elements: list[str] = []
        for child in schema:
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if local == "element":
                elements.append(child.get("name"))
            elif local == "simpleType":
                restriction = child.find(_q("restriction", XS))
                enums = restriction.findall(_q("enumeration", XS))
                values = [e.get("value") for e in enums]
                numbers = {}
                for e in enums:
                    num = e.find(
                        f"{_q('annotation', XS)}/{_q('appinfo', XS)}/{_q('EnumerationValue', MS_SERIALIZATION_NS)}"
                    )
                    if num is not None:
                        numbers[e.get("value")] = int(num.text)
                kind = "enum" if values else "ms"
                types.append(
                    TypeDecl(uri, child.get("name"), kind, values=values, enumeration_values=numbers)
                )
            elif local == "complexType":
                decl = TypeDecl(uri, child.get("name"), "complex")
                ext = child.find(f"{_q('complexContent', XS)}/{_q('extension', XS)}")
                if ext is not None:
                    decl.base = _resolve_qname(ext, ext.get("base"))
                    decl.elements = _sequence_elements(ext.find(_q("sequence", XS)))
                else:
                    decl.elements = _sequence_elements(child.find(_q("sequence", XS)))
                types.append(decl)
        schemas.append(SchemaDecl(uri, imports, types, elements))
    return schemas


def _schema_signature(schemas: Iterable[SchemaDecl]) -> list[object]:
    return [
        (
            s.namespace,
            s.imports,
            [(t.name, t.kind, t.base, t.values, t.enumeration_values, t.elements) for t in s.types],
        )
        for s in schemas
        if s.namespace not in OPERATION_NAMESPACES
    ]


# ---------------------------------------------------------------------------------------------
# types.py


class TypesWriter:
    def __init__(self, schemas: list[SchemaDecl]):
        self.schemas = schemas
        self.types: dict[tuple[str, str], TypeDecl] = {}
        for s in schemas:
            if s.namespace in OPERATION_NAMESPACES:
                continue
            for t in s.types:
                self.types[t.key] = t

    def class_name(self, uri: str, name: str) -> str:
        if (uri, name) in CLASS_NAME_OVERRIDES:
            return CLASS_NAME_OVERRIDES[(uri, name)]
        if uri == MS_SERIALIZATION_NS:
            return MS_SIMPLE_CLASSES[name]
        return name

    def field_expr(self, el: ElementDecl) -> str:
        kwargs = [f"min_occurs={el.min_occurs}"]
        if el.max_occurs != "1":
            kwargs.append(f'max_occurs="{el.max_occurs}"')
        kwargs.append(f"nillable={el.nillable}")
        args = ", ".join(kwargs)
        if el.type_ns == XS:
            return f"{PRIMITIVES[el.type_name]}({args})"
        return f"{self.class_name(el.type_ns, el.type_name)}.customize({args})"

    def deps(self, t: TypeDecl) -> list[tuple[str, str]]:
        out = [t.base] if t.base else []
        out += [(e.type_ns, e.type_name) for e in t.elements if e.type_ns != XS]
        return out

    def definition_order(self) -> tuple[list[TypeDecl], set[tuple[tuple[str, str], str]]]:
        """Reference order, with every type after the types it uses; cycle edges are deferred."""
        order: list[TypeDecl] = []
        done: set[tuple[str, str]] = set()
        active: set[tuple[str, str]] = set()
        deferred: set[tuple[tuple[str, str], str]] = set()

        def visit(key: tuple[str, str]) -> None:
            if key in done:
                return
            active.add(key)
            t = self.types[key]
            if t.base:
                if t.base in active:
                    raise ValueError(f"cyclic base type {t.base}")
                visit(t.base)
            for e in t.elements:
                dep = (e.type_ns, e.type_name)
                if e.type_ns == XS:
                    continue
                if dep in active:
                    deferred.add((key, e.name))
                else:
                    visit(dep)
            active.discard(key)
            done.add(key)
            order.append(t)

        for s in self.schemas:
            for t in s.types:
                if t.key in self.types:
                    visit(t.key)
        return order, deferred

    def render(self) -> str:
        order, deferred = self.definition_order()
        lines: list[str] = [
            '"""Spyne models of the Altinn 2 correspondence contract (CorrespondenceAgencyExternal).',
            "",
            f"GENERATED FILE: do not edit. Written by ``{COMMAND}`` (service/tools/codegen.py) from the",
            "published WSDL schemas (type names, namespaces, element order, minOccurs/maxOccurs/nillable as",
            "published). Declarations only; hand-written code lives in the other modules of this package.",
            "",
            "WCF conventions kept as published: value types (int, bool, dateTime, enums) are ``minOccurs=0`` and",
            "not nillable unless the contract says so; strings and complex types are ``minOccurs=0`` and",
            "nillable; list types are wrapper complex types with one repeated child element.",
            '"""',
            "",
            "# ruff: noqa: E501",
            "",
            "from spyne.model.binary import ByteArray",
            "from spyne.model.complex import ComplexModel",
            "from spyne.model.primitive import (",
            "    Boolean,",
            "    DateTime,",
            "    Duration,",
            "    Integer32,",
            "    Unicode,",
            "    UnsignedInteger32,",
            ")",
            "",
            "from ... import ns",
            "from .spyne_compat import EnumModel",
            "",
        ]
        for t in order:
            cname = self.class_name(t.namespace, t.name)
            const = NAMESPACE_CONSTANTS[t.namespace]
            lines.append("")
            if t.kind == "enum":
                lines += [
                    f"class {cname}(EnumModel):",
                    f'    __type_name__ = "{t.name}"',
                    f"    __namespace__ = {const}",
                    "    __extends__ = Unicode",
                    "",
                    "    class Attributes(Unicode.Attributes):",
                    "        values = (",
                ]
                lines += [f'            "{v}",' for v in t.values]
                lines += ["        )", ""]
                for v in t.values:
                    lines.append(f'    {v} = "{v}"' if v.isidentifier() else f"    # {v!r}")
                if t.enumeration_values:
                    lines += [
                        "",
                        "    # WCF data contract values of the members (published as ser:EnumerationValue)",
                    ]
                    lines.append(f"    _enumeration_values = {t.enumeration_values!r}")
                lines.append("")
            elif t.kind == "ms":
                lines += self._ms_simple(cname, t)
            else:
                base = self.class_name(*t.base) if t.base else "ComplexModel"
                lines += [
                    f"class {cname}({base}):",
                    f'    __type_name__ = "{t.name}"',
                    f"    __namespace__ = {const}",
                ]
                fields = [e for e in t.elements if (t.key, e.name) not in deferred]
                if fields:
                    lines.append("    _type_info = [")
                    lines += [f'        ("{e.name}", {self.field_expr(e)}),' for e in fields]
                    lines.append("    ]")
                else:
                    lines.append("    _type_info: list = []")
                lines.append("")
            emitted = order[: order.index(t) + 1]
            later = [
                (t2, i, e)
                for t2 in emitted
                for i, e in enumerate(t2.elements)
                if (t2.key, e.name) in deferred and (e.type_ns, e.type_name) == t.key
            ]
            for t2, i, e in later:
                lines += [
                    "",
                    f"# {t2.name}.{e.name} refers back to {t2.name} through {t.name}: added once both exist.",
                    f'{self.class_name(*t2.key)}.insert_field({i}, "{e.name}", {self.field_expr(e)})',
                    "",
                ]
        lines += [
            "",
            "# Schemas in the published order: (targetNamespace, imported namespaces, models in document order).",
            "# Every model is followed in its schema by a global element of the same name (nillable).",
            "SCHEMAS: list[tuple[str, tuple[str, ...], tuple[type, ...]]] = [",
        ]
        for s in self.schemas:
            const = NAMESPACE_CONSTANTS[s.namespace]
            imports = "".join(f"{NAMESPACE_CONSTANTS[i]}, " for i in s.imports)
            imports = f"({imports.rstrip(', ')}{',' if len(s.imports) == 1 else ''})" if s.imports else "()"
            if s.namespace in OPERATION_NAMESPACES or s.namespace == MS_SERIALIZATION_NS:
                classes = "()"
            else:
                names = [self.class_name(s.namespace, t.name) for t in s.types]
                classes = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
            lines.append(f"    ({const}, {imports}, {classes}),")
        lines += ["]", ""]
        all_names = [self.class_name(t.namespace, t.name) for t in order]
        lines += [
            "ALL_TYPES: tuple[type, ...] = tuple(cls for _ns, _imports, classes in SCHEMAS for cls in classes)",
            "",
            "MS_SIMPLE_TYPES: tuple[type, ...] = (MsChar, MsDuration, MsGuid)",
            "",
            "__all__ = [",
        ]
        lines += [f'    "{n}",' for n in sorted(set(all_names))]
        lines += ['    "SCHEMAS",', '    "ALL_TYPES",', '    "MS_SIMPLE_TYPES",', "]", ""]
        return "\n".join(lines)

    @staticmethod
    def _ms_simple(cname: str, t: TypeDecl) -> list[str]:
        if t.name == "guid":
            return [
                f"{cname} = Unicode.customize(",
                '    type_name="guid",',
                "    __namespace__=ns.MS_SERIALIZATION,",
                '    pattern="[\\\\da-fA-F]{8}-[\\\\da-fA-F]{4}-[\\\\da-fA-F]{4}-[\\\\da-fA-F]{4}-[\\\\da-fA-F]{12}",',
                ")",
                "",
            ]
        base = {"char": "Integer32", "duration": "Duration"}[t.name]
        return [
            f"class {cname}({base}):",
            f'    __type_name__ = "{t.name}"',
            "    __namespace__ = ns.MS_SERIALIZATION",
            "",
        ]


# ---------------------------------------------------------------------------------------------
# operations.py


@dataclass
class OperationDecl:
    name: str
    in_ns: str
    in_element: str
    in_params: list[ElementDecl]
    out_ns: str
    out_element: str
    out_params: list[ElementDecl]
    soap_action: str
    input_action: str
    output_action: str
    fault_action: str
    input_message: str
    output_message: str
    fault_message: str
    fault_name: str
    input_name: str | None
    output_name: str | None
    header_message: str | None
    header_parts: list[tuple[str, ElementDecl]]  # (part name, element decl of the header element)
    header_ns: str | None


def parse_operations(wsdl_path: Path, soap_ns: str) -> tuple[dict[str, str], list[OperationDecl]]:
    tree = parse_file(wsdl_path)
    root = tree.getroot()
    wrappers: dict[tuple[str, str], etree._Element] = {}
    for schema in root.iter(_q("schema", XS)):
        for el in schema.findall(_q("element", XS)):
            wrappers[(schema.get("targetNamespace"), el.get("name"))] = el
    messages: dict[str, etree._Element] = {m.get("name"): m for m in root.findall(_q("message", WSDL))}
    port_type = root.find(_q("portType", WSDL))
    binding = root.find(_q("binding", WSDL))
    service = root.find(_q("service", WSDL))
    port = service.find(_q("port", WSDL))
    binding_ops = {op.get("name"): op for op in binding.findall(_q("operation", WSDL))}

    def msg_name(el: etree._Element) -> str:
        return _resolve_qname(el, el.get("message"))[1]

    def part_element(message: str, part: str = "parameters") -> tuple[str, str]:
        m = messages[message]
        for p in m.findall(_q("part", WSDL)):
            if p.get("name") == part:
                return _resolve_qname(p, p.get("element"))
        raise KeyError(f"{message}/{part}")

    def wrapper_params(key: tuple[str, str]) -> list[ElementDecl]:
        el = wrappers[key]
        seq = el.find(f"{_q('complexType', XS)}/{_q('sequence', XS)}")
        return _sequence_elements(seq)

    ops: list[OperationDecl] = []
    for op in port_type.findall(_q("operation", WSDL)):
        name = op.get("name")
        inp, out, fault = op.find(_q("input", WSDL)), op.find(_q("output", WSDL)), op.find(_q("fault", WSDL))
        in_msg, out_msg, fault_msg = msg_name(inp), msg_name(out), msg_name(fault)
        in_key, out_key = part_element(in_msg), part_element(out_msg)
        bop = binding_ops[name]
        soap_op = bop.find(_q("operation", soap_ns))
        if soap_op.get("style") != "document":
            raise ValueError(f"{name}: style {soap_op.get('style')}")
        header_message = None
        header_parts: list[tuple[str, ElementDecl]] = []
        header_ns = None
        for h in bop.find(_q("input", WSDL)).findall(_q("header", soap_ns)):
            header_message = _resolve_qname(h, h.get("message"))[1]
            part = h.get("part")
            h_ns, h_name = part_element(header_message, part)
            header_ns = h_ns
            decl = _element_decl(wrappers[(h_ns, h_name)])
            header_parts.append((part, decl))
        ops.append(
            OperationDecl(
                name=name,
                in_ns=in_key[0],
                in_element=in_key[1],
                in_params=wrapper_params(in_key),
                out_ns=out_key[0],
                out_element=out_key[1],
                out_params=wrapper_params(out_key),
                soap_action=soap_op.get("soapAction"),
                input_action=inp.get(_q("Action", WSAW)),
                output_action=out.get(_q("Action", WSAW)),
                fault_action=fault.get(_q("Action", WSAW)),
                input_message=in_msg,
                output_message=out_msg,
                fault_message=fault_msg,
                fault_name=fault.get("name"),
                input_name=inp.get("name"),
                output_name=out.get("name"),
                header_message=header_message,
                header_parts=header_parts,
                header_ns=header_ns,
            )
        )
    info = {
        "definitions_name": root.get("name"),
        "target_namespace": root.get("targetNamespace"),
        "port_type": port_type.get("name"),
        "binding": binding.get("name"),
        "service": service.get("name"),
        "port": port.get("name"),
        "address": port.find(_q("address", soap_ns)).get("location"),
    }
    return info, ops


def render_operations(
    writer: TypesWriter, variants: dict[str, tuple[dict[str, str], list[OperationDecl]]]
) -> str:
    def param(el: ElementDecl) -> str:
        return f'Param("{el.name}", {writer.field_expr(el)})'

    def params(items: list[ElementDecl]) -> str:
        if not items:
            return "()"
        return "(" + ", ".join(param(e) for e in items) + ",)"

    def s(value: str | None) -> str:
        return "None" if value is None else f'"{value}"'

    used: set[str] = set()
    primitives: set[str] = set()
    for _info, ops in variants.values():
        for op in ops:
            for el in op.in_params + op.out_params + [d for _p, d in op.header_parts]:
                if el.type_ns != XS:
                    used.add(writer.class_name(el.type_ns, el.type_name))
                else:
                    primitives.add(PRIMITIVES[el.type_name])
    lines = [
        '"""Operation table of the Altinn 2 correspondence contract, both variants.',
        "",
        f"GENERATED FILE: do not edit. Written by ``{COMMAND}`` (service/tools/codegen.py) from the",
        "published WSDLs. Data only: the classes (:class:`~.contract.Operation`, ``Param``, ``Variant``)",
        "are hand-written in :mod:`service.entrypoints.soap.contract`.",
        '"""',
        "",
        "# ruff: noqa: E501",
        "",
        "from __future__ import annotations",
        "",
        f"from spyne.model.primitive import {', '.join(sorted(primitives))}",
        "",
        "from ... import ns",
        "from .contract import Operation, Param, Variant",
        "from .types import (",
    ]
    lines += [f"    {n}," for n in sorted(used)]
    lines += [")", "", ""]
    for key, (_info, ops) in variants.items():
        const = f"{key.upper()}_OPERATIONS"
        lines.append(f"{const}: tuple[Operation, ...] = (")
        for op in ops:
            lines += [
                "    Operation(",
                f'        variant="{key}",',
                f'        name="{op.name}",',
                f"        in_ns={NAMESPACE_CONSTANTS[op.in_ns]},",
                f'        in_element="{op.in_element}",',
                f"        in_params={params(op.in_params)},",
                f"        out_ns={NAMESPACE_CONSTANTS[op.out_ns]},",
                f'        out_element="{op.out_element}",',
                f"        out_params={params(op.out_params)},",
                f'        soap_action="{op.soap_action}",',
                f'        input_action="{op.input_action}",',
                f'        output_action="{op.output_action}",',
                f'        fault_action="{op.fault_action}",',
                f'        input_message="{op.input_message}",',
                f'        output_message="{op.output_message}",',
                f'        fault_message="{op.fault_message}",',
                f'        fault_name="{op.fault_name}",',
                f"        input_name={s(op.input_name)},",
                f"        output_name={s(op.output_name)},",
            ]
            if op.header_message:
                hp = ", ".join(f'Param("{part}", {writer.field_expr(d)})' for part, d in op.header_parts)
                lines += [
                    f'        header_message="{op.header_message}",',
                    f"        header_ns={NAMESPACE_CONSTANTS[op.header_ns or '']},",
                    f"        header_parts=({hp},),",
                ]
            lines.append("    ),")
        lines += [")", ""]
    paths = {
        "basic": "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc",
        "ws": "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc",
    }
    soap = {"basic": "1.1", "ws": "1.2"}
    for key, (info, _ops) in variants.items():
        lines += [
            f"{key.upper()} = Variant(",
            f'    key="{key}",',
            *[f'    {k}="{v}",' for k, v in info.items()],
            f'    path="{paths[key]}",',
            f'    soap_version="{soap[key]}",',
            f"    operations={key.upper()}_OPERATIONS,",
            ")",
            "",
        ]
    lines += [
        "VARIANTS: dict[str, Variant] = {" + ", ".join(f'"{k}": {k.upper()}' for k in variants) + "}",
        "",
    ]
    return "\n".join(lines)


def _format(path: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    cmd = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
    config = ["--config", str(REPO_ROOT / "pyproject.toml")]
    subprocess.run(
        [*cmd, "check", *config, "--quiet", "--fix", "--select", "I", str(path)], check=True, cwd=REPO_ROOT
    )
    subprocess.run([*cmd, "format", *config, "--quiet", str(path)], check=True, cwd=REPO_ROOT)


def generate(reference_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write types.py and operations.py (into ``out_dir``, default: this package); returns the paths."""
    basic_schemas = parse_schemas(reference_dir / BASIC_FILE)
    ws_schemas = parse_schemas(reference_dir / WS_FILE)
    if _schema_signature(basic_schemas) != _schema_signature(ws_schemas):
        raise SystemExit("the type schemas of the two variants differ: codegen assumes they are the same")
    writer = TypesWriter(basic_schemas)
    variants = {
        "basic": parse_operations(reference_dir / BASIC_FILE, SOAP11),
        "ws": parse_operations(reference_dir / WS_FILE, SOAP12),
    }
    types_out = (out_dir / TYPES_OUT.name) if out_dir else TYPES_OUT
    operations_out = (out_dir / OPERATIONS_OUT.name) if out_dir else OPERATIONS_OUT
    types_out.write_text(writer.render(), encoding="utf-8")
    operations_out.write_text(render_operations(writer, variants), encoding="utf-8")
    for path in (types_out, operations_out):
        _format(path)
    return [types_out, operations_out]


def main(argv: list[str] | None = None) -> int:
    """``codegen REFERENCE_ALTINN_DIR [OUT_DIR]`` (``make generate`` passes the reference directory)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m service.tools.codegen REFERENCE_ALTINN_DIR [OUT_DIR]", file=sys.stderr)
        return 2
    out_dir = Path(argv[1]) if len(argv) > 1 else None
    for path in generate(Path(argv[0]), out_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
