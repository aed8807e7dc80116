"""Tolerance as WCF: request elements the contract does not know are ignored, known ones validated.

Clients generated from newer Altinn WSDLs send elements this contract version lacks (for example
``UseServiceOwnerShortNameAsSenderOfSms`` inside a ``Notification``). WCF's DataContractSerializer
skips elements it does not know; spyne's ``validator='lxml'`` refuses them. :class:`UnknownElements`
removes, from the parsed request body and *before* schema validation, every element that is not a
declared child of its parent's type, so that:

* unknown elements are dropped, counted per name (``innbyggerpost_soap_unknown_elements_total`` in
  ``/metrics``) and logged once per name per process;
* known elements keep full validation: wrong types, missing required parts and wrong order of known
  elements still fault (WCF would silently drop a known element out of order; a fault is safer).

Two shapes that the ``soap`` package for Node.js (node-soap, 1.13) writes from Altinn's unchanged
WSDL are taken for what they unambiguously mean (:class:`ClientShapes`: counted per shape in
``innbyggerpost_soap_client_shapes_total`` and logged once per shape per process):

* *children in their parent's namespace*: node-soap writes the children of an element whose type
  comes from another schema in the namespace the element itself was written in (``SdpOptions``'
  ``BackupAltinn`` in ``.../Correspondence/2010/10`` instead of ``.../2016/02``; likewise
  ``BinaryAttachmentV2`` and its children, ``Notification``, ``ReplyOption``, the SDP notification
  elements, the V3 ``SdpSearchOptions``). When *none* of an element's children is in a namespace the
  contract has for them, *all* of them are in the namespace the element was written in, and that is
  not the contract's, each child whose local name the type declares is renamed to the contract's
  name; a child whose local name the type does not have (a misspelling) is left as written, so that
  schema validation refuses it by its name (``This element is not expected``);
* *the WSDL message's name as the operation element*: node-soap sends an operation without
  parameters (``Test``) as ``<ICorrespondenceAgencyExternalBasic_Test_InputMessage/>``, the name of
  the ``wsdl:message`` instead of its element: taken as that operation's element (only the exact
  message names of the contract, without a namespace or in the WSDL's target namespace).

Everything else stays strict: a child with a known name in a wrong namespace next to one in the
right namespace is unknown (dropped as above), and a misspelt element is never taken for another.

The known children of each type come from the generated models (:mod:`.types`: ``_type_info`` of a
type and of the types it extends, each child in the namespace of the type that declares it) and the
operation table (wrapper element -> parameters); an ``xsi:type`` on an element selects the derived
type's children. The body's root (the operation wrapper) is not touched: an unknown operation stays
``Unknown operation``. The set of names remembered is bounded (:data:`MAX_NAMES`), so a client
cannot grow memory or metric series by inventing names.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any, cast

from spyne.model.complex import ComplexModelBase

from ... import metrics, ns
from .contract import Variant
from .types import ALL_TYPES

logger = logging.getLogger(__name__)

MAX_NAMES = 200
# Set in the WSGI environ by a layer in front of spyne (fast_insert.py) that has already stripped the
# request body: the protocol then does not strip (and count) it a second time.
ENVIRON_STRIPPED = "innbyggerpost.unknown_elements_stripped"
OTHER = "(other)"
PARENT_NAMESPACE = "children in the parent's namespace"
MESSAGE_NAME = "the WSDL message's name as its element"
_XSI_TYPE = f"{{{ns.XSI}}}type"
Known = dict[str, Any]  # child element QName -> spyne model


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


class ClientShapes:
    """Counts (metrics) and logs once each shape taken for what it means; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def record(self, shape: str, where: str) -> None:
        label = f"{where}: {shape}"  # bounded: contract types and operations only
        with self._lock:
            first = label not in self.counts
            self.counts[label] += 1
        metrics.CLIENT_SHAPES.labels(label).inc()
        if first:
            logger.warning("took a request in a shape the contract does not allow: %s; logged once", label)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


class UnknownElements:
    """Strips unknown elements from request bodies of the given variants; see the module docstring."""

    def __init__(self, *variants: Variant) -> None:
        self._wrappers: dict[str, Known] = {}
        self._message_names: dict[str, str] = {}  # wsdl:message name (as node-soap sends it) -> element
        for variant in variants:
            for op in variant.operations:
                self._wrappers[op.in_message_name] = {f"{{{op.in_ns}}}{p.name}": p.type for p in op.in_params}
                if op.input_message == op.in_element:  # a message contract: its name is the element's
                    continue
                for tag in (op.input_message, f"{{{variant.target_namespace}}}{op.input_message}"):
                    self._message_names[tag] = op.in_message_name
        models: tuple[Any, ...] = ALL_TYPES
        self._by_qname: dict[tuple[str, str], Any] = {
            (cls.get_namespace(), cls.get_type_name()): cls for cls in models
        }
        self._children: dict[Any, Known | None] = {}
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.shapes = ClientShapes()
        self._by_local: dict[int, dict[str, str]] = {}  # id(known) -> local name -> QName

    # ------------------------------------------------------------------------------------ public

    def strip(self, body_root: Any) -> int:
        """Remove unknown elements below ``body_root`` (the operation wrapper); returns how many.

        A wrapper named as its ``wsdl:message`` is renamed to the operation's element first: the
        caller dispatches on ``body_root.tag`` after this call."""
        element = self._message_names.get(body_root.tag)
        if element is not None:
            self.shapes.record(MESSAGE_NAME, _local(element))
            body_root.tag = element
        known = self._wrappers.get(body_root.tag)
        if known is None:
            return 0
        return self._walk(body_root, _local(body_root.tag), known, _namespace(body_root.tag))

    def element_for(self, tag: str) -> str:
        """The operation element a body root named ``tag`` is taken for (what :meth:`strip` renames
        a node-soap message name to; else ``tag``)."""
        return self._message_names.get(tag, tag)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    # ------------------------------------------------------------------------------------ internals

    def _walk(self, el: Any, where: str, known: Known, written_ns: str) -> int:
        """``written_ns``: the namespace ``el`` was written in (before any renaming)."""
        removed = 0
        by_local = self._in_parent_namespace(el, known, written_ns)
        if by_local is not None:
            self.shapes.record(PARENT_NAMESPACE, where)
        for child in list(el):
            if not isinstance(child.tag, str):  # comments, processing instructions
                continue
            child_ns = _namespace(child.tag)
            model = known.get(child.tag)
            if model is None and by_local is not None:
                qname = by_local.get(_local(child.tag))
                if qname is None:  # misspelt: left for schema validation to refuse by its name
                    continue
                child.tag = qname
                model = known[qname]
            if model is None:
                el.remove(child)
                self._record(f"{where}/{_local(child.tag)}", child.tag)
                removed += 1
                continue
            model = self._xsi_type(child) or model
            children = self._known_children(model)
            if children is not None:
                removed += self._walk(child, _type_name(model), children, child_ns)
        return removed

    def _in_parent_namespace(self, el: Any, known: Known, written_ns: str) -> dict[str, str] | None:
        """node-soap's shape (module docstring): local name -> the contract's name, else None."""
        tags = [child.tag for child in el if isinstance(child.tag, str)]
        if not tags or any(tag in known or _namespace(tag) != written_ns for tag in tags):
            return None
        by_local = self._by_local.get(id(known))
        if by_local is None:  # once per type: the known dicts live as long as this object
            by_local = {}
            ambiguous: set[str] = set()
            for qname in known:
                local = _local(qname)
                if local in by_local:
                    ambiguous.add(local)
                by_local[local] = qname
            for local in ambiguous:
                del by_local[local]
            self._by_local[id(known)] = by_local
        if not any(_local(tag) in by_local for tag in tags):
            return None
        return by_local

    def _xsi_type(self, el: Any) -> Any:
        value = el.get(_XSI_TYPE)
        if not value:
            return None
        prefix, _, local = value.strip().rpartition(":")
        return self._by_qname.get((el.nsmap.get(prefix or None, ""), local))

    def _known_children(self, model: Any) -> Known | None:
        orig = getattr(model, "__orig__", None) or model
        try:
            return self._children[orig]
        except KeyError:
            pass
        children: Known | None = None
        if isinstance(orig, type) and issubclass(orig, ComplexModelBase):
            children = {}
            cls: Any = orig
            while isinstance(cls, type) and issubclass(cls, ComplexModelBase):
                cls = cast(Any, cls)
                namespace = cls.get_namespace()
                for name, child_model in cls._type_info.items():
                    children.setdefault(f"{{{namespace}}}{name}", child_model)
                cls = getattr(cls, "__extends__", None)
        self._children[orig] = children
        return children

    def _record(self, name: str, tag: str) -> None:
        with self._lock:
            if name not in self.counts and len(self.counts) >= MAX_NAMES:
                name = OTHER
            first = name not in self.counts
            self.counts[name] += 1
        metrics.UNKNOWN_ELEMENTS.labels(name).inc()
        if first:
            logger.warning(
                "ignored an element the contract does not know: %s (%s); logged once per name", name, tag
            )


def _type_name(model: Any) -> str:
    name = model.get_type_name() if hasattr(model, "get_type_name") else None
    return name if isinstance(name, str) and name else getattr(model, "__name__", "?")
