"""The insert past spyne: ``InsertCorrespondenceV2`` / ``InsertCorrespondenceBasicV2`` answered on the
guard's tree (issue 17).

spyne's cost for an insert is mostly its generic machinery around the handler: method contexts and
events, dispatch, and above all its deserialiser (``XmlDocument.from_element``: attribute look-ups,
frequency counts and model ``__init__`` for every element). :class:`FastInsert` sits between the
:class:`~.guard.RequestGuard` and spyne's ``WsgiApplication`` of one endpoint and answers the two
insert operations itself, doing what spyne would do, in the same order, with the same parts:

1. authentication: the principal the guard's early authentication left in the environ
   (:mod:`.early_auth`: Basic body credentials, WS-Security); without one, spyne answers;
2. tolerance: :class:`~.tolerance.UnknownElements` strips the body once (the protocol is told not
   to strip again when the request goes on to spyne after all);
3. schema validation with the very ``XMLSchema`` object spyne's ``validator='lxml'`` built for this
   application (``in_protocol.validation_schema``);
4. reading: :class:`ModelReader` fills the same spyne model instances spyne's deserialiser would
   (same classes, same primitive converters: the protocol's ``_from_unicode_handlers``), walking the
   elements with a per-type plan computed once;
5. the same handler (:func:`.handlers.handle`: mapping.insert_request, the use case) and storage
   failure mapping as :mod:`.services`;
6. the answer: :func:`.receipt_xml.reply_document` (what the protocol writes for a ``ReceiptReply``),
   a fault as :meth:`.protocol._AltinnProtocolMixin.serialize` writes it, the WS-Addressing reply
   headers of :mod:`.addressing`, serialised as spyne's ``create_out_string`` does.

Whatever it is not sure of goes to spyne unchanged, so that every fault shape stays spyne's: a
request without an early principal, a Body or envelope of an unusual shape, any attribute in the
operation element other than ``xsi:nil`` (``xsi:type``, ``href``/``id`` references), comments or
processing instructions in it, a schema-invalid body (spyne validates again and writes its fault),
a value its converter refuses. Once the use case has been called the request is never handed on
(that would run it twice): its outcome is answered here. ``INNBYGGERPOST_INSERT_FAST_PATH=false``
leaves every request to spyne. ``tests/integration/test_fast_insert.py`` sends the suite's insert
requests, valid and invalid, through both and requires the same answers and the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree
from spyne.model.complex import Array

from ... import ns
from ...service_layer.owners import Principal
from . import addressing
from .contract import Operation, Variant
from .faults import SOAP_ENV_NS, AltinnFaultError, fault_envelope_element, from_exception, without_values
from .guard import ENVIRON_ENVELOPE, ENVIRON_PRINCIPAL
from .handlers import Context, canonical, handle, storage_failure
from .receipt_xml import ReceiptReply, reply_document
from .tolerance import ENVIRON_STRIPPED, UnknownElements

logger = logging.getLogger(__name__)

# Set in the environ of a request this layer answered (tests check which path a request took).
ENVIRON_FAST = "innbyggerpost.fast_insert"
FAST_OPERATIONS = frozenset({"InsertCorrespondenceV2"})  # canonical names

_XSI = ns.XSI
_XSI_NIL = f"{{{_XSI}}}nil"
# Anything below the operation element that the reader leaves to spyne: attributes other than
# xsi:nil, comments, processing instructions.
_UNUSUAL = etree.XPath(
    "boolean(.//*/@*[not(local-name() = 'nil' and namespace-uri() = $xsi)]"
    " | .//comment() | .//processing-instruction())"
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class NotSure(Exception):
    """The request is left to spyne."""


# Kinds of member, as spyne's XmlDocument dispatches them (``_from_element_handlers``).
_COMPLEX, _UNICODE, _BASE, _BYTES = range(4)


class ModelReader:
    """Reads a schema-valid element into spyne model instances, as spyne's ``from_element`` would.

    Only the shapes spyne handles with ``complex_from_element``, ``unicode_from_element``,
    ``base_from_element`` and ``byte_array_from_element`` are read (every type of the insert);
    anything else raises :class:`NotSure`. Children are matched by local name as spyne does."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self._plans: dict[type, tuple[dict[str, tuple[Any, ...]], dict[str, Any] | None]] = {}
        self._handlers = protocol.deserialization_handlers  # spyne's dispatch of from_element

    def read(self, cls: Any, el: etree._Element) -> Any:
        """The instance; once the whole element is read, each decoded attachment's base64 text is
        dropped from the tree (as ``spyne_compat.release_decoded_text`` does on spyne's path: the
        tree lives until the answer is written). Not before: a :class:`NotSure` half-way hands the
        tree to spyne, which must find it whole."""
        decoded: list[etree._Element] = []
        inst = self._complex(_orig(cls), el, decoded)
        for c in decoded:
            c.text = None
        return inst

    # -------------------------------------------------------------------------------- plans

    def _kind(self, member: Any) -> int:
        p = self.protocol
        handler = self._handlers[member]
        handler = getattr(handler, "__wrapped__", handler)  # spyne_compat.release_decoded_text's wrapper
        fn = getattr(handler, "__func__", handler)
        for kind, name in (
            (_COMPLEX, "complex_from_element"),
            (_UNICODE, "unicode_from_element"),
            (_BASE, "base_from_element"),
            (_BYTES, "byte_array_from_element"),
        ):
            if fn is getattr(type(p), name):
                return kind
        raise NotSure(f"no fast reader for {member!r}")

    def _plan(self, cls: Any) -> tuple[dict[str, tuple[Any, ...]], dict[str, Any] | None]:
        try:
            return self._plans[cls]
        except KeyError:
            pass
        p = self.protocol
        if issubclass(cls, Array) or p.get_cls_attrs(cls)._xml_tag_body_as is not None:
            raise NotSure(f"no fast reader for {cls!r}")
        plan: dict[str, tuple[Any, ...]] = {}
        for key, member in cls.get_flat_type_info(cls).items():
            attrs = p.get_cls_attrs(member)
            if attrs.read_only or isinstance(getattr(cls, key, None), property):
                raise NotSure(f"no fast reader for {cls!r}.{key}")
            kind = self._kind(member)
            many = attrs.max_occurs > 1
            if kind == _COMPLEX:
                plan[key] = (key, kind, _orig(member), None, many, attrs.default)
            else:
                handler = p._from_unicode_handlers[member]
                args = (p.binary_encoding,) if kind == _BYTES else ()
                conv = _converter(member, handler, p.get_cls_attrs(member).empty_is_none, args)
                plan[key] = (key, kind, member, conv, many, attrs.default)
        # One instance made by the model's own __init__: its attributes are every new instance's
        # starting point (copied), unless one of them is mutable (then __init__ runs each time).
        made: dict[str, Any] = dict(cls().__dict__)
        mutable = any(v is not None and not isinstance(v, str | int | float | bool) for v in made.values())
        template = None if mutable else made
        self._plans[cls] = (plan, template)
        return plan, template

    # -------------------------------------------------------------------------------- reading

    def _complex(self, cls: Any, el: etree._Element, decoded: list[etree._Element]) -> Any:
        plan, template = self._plan(cls)
        if template is None:
            inst = cls()
        else:
            inst = cls.__new__(cls)
            inst.__dict__.update(template)
        for c in el:
            tag = c.tag
            entry = plan.get(tag.rsplit("}", 1)[-1])
            if entry is None:  # spyne would look for an alternative name or skip it: not here
                raise NotSure(f"unexpected element {tag}")
            key, kind, member, conv, many, default = entry
            if c.get(_XSI_NIL):  # spyne: bool(xsi:nil) -> the default (replace_null_with_default)
                value = default
            elif kind == _COMPLEX:
                value = self._complex(member, c, decoded)
            elif kind == _UNICODE:
                value = conv(c.text or "")
            else:
                value = conv(c.text)
                if kind == _BYTES:
                    decoded.append(c)
            if many:
                items = getattr(inst, key, None)
                if items is None:
                    items = []
                items.append(value)
                value = items
            setattr(inst, key, value)
        return inst


def _orig(cls: Any) -> Any:
    return getattr(cls, "__orig__", None) or cls


def _converter(member: Any, handler: Any, empty_is_none: bool, args: tuple[Any, ...]) -> Callable[[Any], Any]:
    """spyne's ``ProtocolBase.from_unicode(member, text, *args)`` with its look-ups done once."""

    def convert(text: Any) -> Any:
        if text is None:
            return None
        if empty_is_none and len(text) == 0:
            return None
        try:
            return handler(member, text, *args)
        except Exception as exc:  # spyne turns these into its own faults: let it
            raise NotSure(f"value refused by {member!r}") from exc

    return convert


class FastInsert:
    """WSGI layer in front of one endpoint's spyne ``WsgiApplication``; see the module docstring."""

    def __init__(
        self,
        app: WsgiApp,
        spyne_app: Any,
        context: Context,
        variant: Variant,
        tolerance: UnknownElements,
    ) -> None:
        self.app = app
        self.context = context
        self.soap_version = variant.soap_version
        self.env_ns = SOAP_ENV_NS[variant.soap_version]  # type: ignore[index]
        self.tolerance = tolerance
        self.in_protocol = spyne_app.in_protocol
        self.out_protocol = spyne_app.out_protocol
        self.schema = self.in_protocol.validation_schema
        if self.schema is None:
            raise ValueError("FastInsert needs the protocol's lxml validation schema (validator='lxml')")
        self.reader = ModelReader(self.in_protocol)
        smm = spyne_app.interface.service_method_map
        self.ops: dict[str, tuple[Operation, Any]] = {}
        for op in variant.operations:
            if canonical(op.name) in FAST_OPERATIONS:
                descriptor = smm[op.in_message_name][0]
                self.ops[op.in_message_name] = (op, descriptor.in_message)
        self.content_type = self.out_protocol.mime_type
        self._body_tag = f"{{{self.env_ns}}}Body"
        self._header_tag = f"{{{self.env_ns}}}Header"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            prepared = self._prepare(environ)
        except NotSure:
            prepared = None
        except Exception:  # a defect here must not cost the request: spyne answers it
            logger.exception("the insert fast path failed before the use case; spyne answers")
            prepared = None
        if prepared is None:
            return self.app(environ, start_response)
        environ[ENVIRON_FAST] = True
        status, body = self._answer(*prepared)
        start_response(status, [("Content-Type", self.content_type), ("Content-Length", str(len(body)))])
        return [body]

    # ---------------------------------------------------------------------------------- reading

    def _prepare(self, environ: dict[str, Any]) -> tuple[Operation, Principal, dict[str, Any], Any] | None:
        principal = environ.get(ENVIRON_PRINCIPAL)
        root = environ.get(ENVIRON_ENVELOPE)
        if not isinstance(principal, Principal) or root is None or root.attrib:
            return None
        kids = list(root)
        if len(kids) == 2 and kids[0].tag == self._header_tag and kids[1].tag == self._body_tag:
            header, body = kids
        elif len(kids) == 1 and kids[0].tag == self._body_tag:
            header, body = None, kids[0]
        else:
            return None
        if len(body) != 1 or body.attrib or body.text and not body.text.isspace():
            return None
        wrapper = body[0]
        if not isinstance(wrapper.tag, str) or wrapper.attrib:
            return None
        found = self.ops.get(self.tolerance.element_for(wrapper.tag))
        if found is None:
            return None
        op, in_message = found
        self.tolerance.strip(wrapper)
        environ[ENVIRON_STRIPPED] = True
        if _UNUSUAL(wrapper, xsi=_XSI):
            return None
        if not self.schema.validate(wrapper):
            return None  # spyne validates again and writes its fault
        inst = self.reader.read(in_message, wrapper)
        params = {name: getattr(inst, name, None) for name in in_message._type_info}
        return op, principal, params, header

    # ---------------------------------------------------------------------------------- answering

    def _answer(
        self, op: Operation, principal: Principal, params: dict[str, Any], header: Any
    ) -> tuple[str, bytes]:
        error: AltinnFaultError | None = None
        reply: Any = None
        try:
            reply = handle(self.context, op, principal, params)
        except AltinnFaultError as err:
            error = err
        except Exception as exc:  # as services._serve, then spyne's fault hook (spyne_compat)
            error = storage_failure(self.context, op.name, exc) or from_exception(exc)
        if error is None and not isinstance(reply, ReceiptReply):
            error = from_exception(TypeError(f"unexpected answer {type(reply).__name__}"))
        if error is not None:
            logger.log(
                logging.INFO if error.client else logging.WARNING,
                "AltinnFault (%s): %s",
                "client" if error.client else "server",
                without_values(error.message),
                extra={"error_guid": error.error_guid, "error_id": error.error_id},
            )
            document = fault_envelope_element(self.soap_version, from_exception(error))  # type: ignore[arg-type]
            status = "500 Internal Server Error"
        else:
            document = reply_document(self.soap_version, reply)
            status = "200 OK"
        if self.soap_version == "1.2":
            used, message_id = addressing._addressing_of(header if header is not None else ())
            if used:
                action = op.fault_action if error is not None else op.output_action
                addressing._add_reply_headers(document, action, message_id)
        p = self.out_protocol
        body = etree.tostring(
            document, encoding=p.encoding, pretty_print=p.pretty_print, xml_declaration=p.xml_declaration
        )
        return status, body
