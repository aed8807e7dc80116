"""Bounds on the shape of a SOAP request, checked on the raw bytes before any tree is built.

A request may be up to ``INNBYGGERPOST_MAX_REQUEST_BYTES`` (30 MiB) because an attachment may be most of
that; the rest of what the contract carries is small. Hostile shapes that fit in those bytes (tens of
thousands of namespace declarations on one element, 800 000 attributes, a million empty elements, a
2 MiB element name) cost a libxml2 tree, lxml proxies, the tolerance walk and spyne's validation far
more than the sender (issue 14). :func:`check` scans the bytes once, linearly, with one compiled
regular expression that skips text at C speed, and refuses what the contract never needs:

================================  ==========================================  =====================
bound                             why it is generous                           constant
================================  ==========================================  =====================
element or attribute name         contract names are < 60 characters            ``MAX_NAME`` 256
attributes on one element         an envelope from JAX-WS/WCF/zeep: < 10        ``MAX_ATTRIBUTES`` 32
attribute value                   namespace URIs, wsu:Id, Type URIs             ``MAX_ATTRIBUTE_VALUE`` 4096
attributes in the document        a few per element; xmlns counts (below)      ``MAX_ATTRIBUTES_TOTAL`` 25 000
namespace declarations            WCF/zeep repeat xmlns per element; spread     ``MAX_NAMESPACES`` 12 000
elements in the document          a letter with 100 attachments: ~1 500         ``MAX_ELEMENTS`` 20 000
children of one element           a status history: ≤ 10 000 references        ``MAX_CHILDREN`` 10 000
depth                             the contract nests < 12 levels                ``MAX_DEPTH`` 64
text outside attachments          bodies, summaries, tokens (not ``Data``)      ``MAX_TEXT`` 8 MiB
================================  ==========================================  =====================

GetCorrespondenceStatusHistory takes up to 10 000 references (Altinn's guide), and zeep declares the
Arrays namespace on every ``string`` element: 10 000 children, 10 000 declarations and as many
attributes are a legitimate request (issue 17); per-element bounds still refuse the dense hostile shapes.

The scan stops at the first bound exceeded (so its cost is bounded by the bounds, not by what the
sender made of the bytes) and raises :class:`BoundExceeded` with a message naming the bound; the guard
answers it with a client fault. Names are never copied into the message beyond ``SHOWN`` characters.
A ``<!DOCTYPE`` is refused here too; other markup the scan does not recognise ends the scan, and
libxml2, which checks well-formedness afterwards, refuses the document there.
"""

from __future__ import annotations

import re

MAX_NAME = 256
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_VALUE = 4096
MAX_ATTRIBUTES_TOTAL = 25_000
MAX_NAMESPACES = 12_000
MAX_ELEMENTS = 20_000
MAX_CHILDREN = 10_000
MAX_DEPTH = 64
MAX_TEXT = 8 * 1024 * 1024
SHOWN = 60  # characters of a name quoted in a fault or log line

# Elements whose text may be large: base64 attachment data (BinaryAttachmentV2/Data).
LARGE_TEXT_ELEMENTS = frozenset({b"Data"})

_NAME = rb"[^\s/<>!?=\"']{1,%d}+" % MAX_NAME
_VALUE = rb"(?:\"[^\"<]{0,%d}+\"|'[^'<]{0,%d}+')" % (MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTE_VALUE)
_ATTRIBUTE = rb"\s++" + _NAME + rb"\s*+=\s*+" + _VALUE
_TOKEN = re.compile(
    rb"<(?:"
    rb"(?P<comment>!--.*?-->)"
    rb"|(?P<cdata>!\[CDATA\[.*?\]\]>)"
    rb"|(?P<pi>\?.*?\?>)"
    rb"|/(?P<end>" + _NAME + rb")\s*+>"
    rb"|(?P<start>"
    + _NAME
    + rb")(?P<attrs>(?:"
    + _ATTRIBUTE
    + rb"){0,%d}+)\s*+(?P<empty>/?)>" % MAX_ATTRIBUTES
    + rb"|(?P<other>))",
    re.S,
)
_ATTRIBUTE_RE = re.compile(_ATTRIBUTE)
_XMLNS = re.compile(rb"\sxmlns(?::|\s*=)")


class BoundExceeded(ValueError):
    """The request's shape exceeds a bound the contract never needs; ``str()`` is the fault text."""


def _shown(raw: bytes) -> str:
    text = raw[:SHOWN].decode("utf-8", "replace")
    return text + "…" if len(raw) > SHOWN else text


def _diagnose(body: bytes, at: int) -> str | None:
    """Which bound the markup at ``at`` exceeds, if any (called at most once per request)."""
    head = body[at : at + 16]
    if head.startswith((b"<!DOCTYPE", b"<!doctype", b"<!ENTITY")):
        return "DOCTYPE, DTD and ENTITY declarations are not allowed in a SOAP request"
    name = re.match(rb"</?([^\s/<>!?=\"']*)", body[at : at + MAX_NAME + 8])
    if name is not None and len(name.group(1)) > MAX_NAME:
        return f"an element name is longer than {MAX_NAME} characters ({_shown(name.group(1))})"
    window = body[at : at + (MAX_ATTRIBUTES + 2) * (2 * MAX_NAME + MAX_ATTRIBUTE_VALUE + 8)]
    tag = re.match(rb"<(" + _NAME + rb")((?:" + _ATTRIBUTE + rb")*+)", window)
    if tag is not None:
        count = len(_ATTRIBUTE_RE.findall(tag.group(2)))
        if count >= MAX_ATTRIBUTES:
            return f"element {_shown(tag.group(1))} has more than {MAX_ATTRIBUTES} attributes"
        rest = window[tag.end() : tag.end() + MAX_NAME + 8]
        long_name = re.match(rb"\s*([^\s/<>!?=\"']*)", rest)
        if long_name is not None and len(long_name.group(1)) > MAX_NAME:
            return f"an attribute name is longer than {MAX_NAME} characters ({_shown(long_name.group(1))})"
        if re.match(rb"\s*[^\s/<>!?=\"']+\s*=\s*[\"']", rest):
            return (
                f"an attribute value of element {_shown(tag.group(1))} is longer than "
                f"{MAX_ATTRIBUTE_VALUE} characters"
            )
    return None


def check(body: bytes | bytearray) -> int:
    """Refuse (:class:`BoundExceeded`) a request whose shape exceeds the bounds; returns the number of
    elements. Linear in ``len(body)``; the Python work per element stops at ``MAX_ELEMENTS``."""
    elements = attributes = namespaces = text = 0
    stack: list[bytes] = []
    children: list[int] = [0]
    last = 0
    for m in _TOKEN.finditer(body):
        gap = m.start() - last
        last = m.end()
        if gap and (not stack or stack[-1].rpartition(b":")[2] not in LARGE_TEXT_ELEMENTS):
            text += gap
            if text > MAX_TEXT:
                raise BoundExceeded(f"more than {MAX_TEXT} bytes of text outside attachment Data elements")
        name = m.group("start")
        if name is not None:
            elements += 1
            if elements > MAX_ELEMENTS:
                raise BoundExceeded(f"more than {MAX_ELEMENTS} elements in the request")
            children[-1] += 1
            if children[-1] > MAX_CHILDREN:
                parent = _shown(stack[-1]) if stack else "(document)"
                raise BoundExceeded(f"element {parent} has more than {MAX_CHILDREN} child elements")
            attrs = m.group("attrs")
            if attrs:
                attributes += attrs.count(b"=")
                if attributes > MAX_ATTRIBUTES_TOTAL:
                    raise BoundExceeded(f"more than {MAX_ATTRIBUTES_TOTAL} attributes in the request")
                if b"xmlns" in attrs:
                    namespaces += len(_XMLNS.findall(attrs))
                    if namespaces > MAX_NAMESPACES:
                        raise BoundExceeded(
                            f"more than {MAX_NAMESPACES} namespace declarations in the request"
                        )
            if not m.group("empty"):
                stack.append(name)
                children.append(0)
                if len(stack) > MAX_DEPTH:
                    raise BoundExceeded(f"elements nested deeper than {MAX_DEPTH} levels")
            continue
        if m.group("end") is not None:
            if stack:
                stack.pop()
                children.pop()
            continue
        if m.group("cdata") is not None:
            if not stack or stack[-1].rpartition(b":")[2] not in LARGE_TEXT_ELEMENTS:
                text += m.end() - m.start()
                if text > MAX_TEXT:
                    raise BoundExceeded(
                        f"more than {MAX_TEXT} bytes of text outside attachment Data elements"
                    )
            continue
        if m.group("other") is not None:
            reason = _diagnose(bytes(body[m.start() : m.start() + 200_000]), 0)
            if reason is not None:
                raise BoundExceeded(reason)
            # Not a bound: malformed markup. Everything before it was within the bounds, and the
            # parser (libxml2) refuses the document at this point at the latest.
            break
    return elements
