"""The shape of the operation table: what one operation and one variant of the contract are.

Hand-written. The table itself (every operation of both variants, as published) is generated data in
:mod:`.operations`; the spyne models its parameters use are generated in :mod:`.types`. Both are
written by ``make generate`` (``service/tools/codegen.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ... import ns


@dataclass(frozen=True)
class Param:
    """One child element of an operation wrapper, or one header element."""

    name: str
    type: Any  # spyne model class, customised with min_occurs / max_occurs / nillable


@dataclass(frozen=True)
class Operation:
    """One wsdl:operation of one variant (``basic``: SOAP 1.1, ``ws``: SOAP 1.2)."""

    variant: str
    name: str
    in_ns: str
    in_element: str
    in_params: tuple[Param, ...]
    out_ns: str
    out_element: str
    out_params: tuple[Param, ...]
    soap_action: str
    input_action: str
    output_action: str
    fault_action: str
    input_message: str
    output_message: str
    fault_message: str
    fault_name: str = "AltinnFaultFault"
    input_name: str | None = None  # wsdl:input/@name in portType and binding (message contracts)
    output_name: str | None = None
    header_message: str | None = None  # wsdl:message holding the soap:header parts
    header_ns: str | None = None
    header_parts: tuple[Param, ...] = ()  # part name == header element name
    fault_ns: str = ns.ALTINN_FAULT_2009_10
    fault_element: str = "AltinnFault"

    @property
    def in_message_name(self) -> str:
        return f"{{{self.in_ns}}}{self.in_element}"

    @property
    def out_message_name(self) -> str:
        return f"{{{self.out_ns}}}{self.out_element}"

    @property
    def in_types(self) -> tuple[Any, ...]:
        return tuple(p.type for p in self.in_params)

    @property
    def in_arg_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.in_params)

    def header_qname(self, part: str) -> str:
        return f"{{{self.header_ns}}}{part}"

    def rpc_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``spyne.rpc(*op.in_types, **op.rpc_kwargs())``.

        The decorated function takes ``ctx`` and then one argument per ``in_params`` entry, named
        like the elements (all are valid Python identifiers). Header parts are not declared here:
        spyne matches ``_in_header`` classes by position, which breaks as soon as a client adds
        other headers (WS-Addressing, WS-Security); read them from ``ctx.in_header_doc`` instead.
        """
        kwargs: dict[str, Any] = {
            "_in_message_name": self.in_message_name,
            "_out_message_name": self.out_message_name,
            "_in_arg_names": {p.name: p.name for p in self.in_params},
        }
        # No ``_wsdl_part_name``: it only names the part in spyne's own WSDL, which is never served
        # (the golden WSDL says ``parameters``), and it makes spyne *customise* the wrapper classes,
        # which spyne then instantiates for every response with a "seems to be a customized class"
        # warning (spyne_compat.py, item 6).
        if len(self.out_params) == 1:
            kwargs["_returns"] = self.out_params[0].type
            kwargs["_out_variable_name"] = self.out_params[0].name
        elif self.out_params:
            kwargs["_returns"] = tuple(p.type for p in self.out_params)
            kwargs["_out_variable_names"] = tuple(p.name for p in self.out_params)
        return kwargs


@dataclass(frozen=True)
class Variant:
    """wsdl:definitions facts of one variant."""

    key: str
    definitions_name: str
    target_namespace: str
    port_type: str
    binding: str
    service: str
    port: str
    address: str  # as published; we serve our own public URL instead
    path: str
    soap_version: str
    operations: tuple[Operation, ...]

    def operation(self, name: str) -> Operation:
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(name)
