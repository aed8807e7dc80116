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
OTHER = "(other)"
_XSI_TYPE = f"{{{ns.XSI}}}type"
Known = dict[str, Any]  # child element QName -> spyne model


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class UnknownElements:
    """Strips unknown elements from request bodies of the given variants; see the module docstring."""

    def __init__(self, *variants: Variant) -> None:
        self._wrappers: dict[str, Known] = {}
        for variant in variants:
            for op in variant.operations:
                self._wrappers[op.in_message_name] = {f"{{{op.in_ns}}}{p.name}": p.type for p in op.in_params}
        models: tuple[Any, ...] = ALL_TYPES
        self._by_qname: dict[tuple[str, str], Any] = {
            (cls.get_namespace(), cls.get_type_name()): cls for cls in models
        }
        self._children: dict[Any, Known | None] = {}
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    # ------------------------------------------------------------------------------------ public

    def strip(self, body_root: Any) -> int:
        """Remove unknown elements below ``body_root`` (the operation wrapper); returns how many."""
        known = self._wrappers.get(body_root.tag)
        if known is None:
            return 0
        return self._walk(body_root, _local(body_root.tag), known)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    # ------------------------------------------------------------------------------------ internals

    def _walk(self, el: Any, where: str, known: Known) -> int:
        removed = 0
        for child in list(el):
            if not isinstance(child.tag, str):  # comments, processing instructions
                continue
            model = known.get(child.tag)
            if model is None:
                el.remove(child)
                self._record(f"{where}/{_local(child.tag)}", child.tag)
                removed += 1
                continue
            model = self._xsi_type(child) or model
            children = self._known_children(model)
            if children is not None:
                removed += self._walk(child, _type_name(model), children)
        return removed

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
