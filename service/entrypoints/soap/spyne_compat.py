"""Every work-around for spyne 2.14 in one place, each with what it works around and why.

spyne 2.14.0 is the last release and is pinned (docs: README, Requirements); where it misbehaves for
this contract the fix lives here, not scattered over the package. Each entry names the upstream spyne
issue or pull request where one exists ("#N" = github.com/arskom/spyne issue/PR N), else says that
none was found. When spyne is replaced or upgraded, this module is the checklist.

1. :class:`EnumModel`: a customised restricted ``Unicode`` loses its type name.
2. :func:`route_by_request_element`: dispatch ignores the request wrapper's namespace.
3. :func:`disable_request_gc`: a full ``gc.collect()`` from request contexts (#472, #591).
4. :func:`quiet_spyne_loggers`: spyne's own fault/traceback logging (replaced by ours).
5. :func:`install_fault_hook`: unexpected exceptions become an anonymous ``Fault('Server')``.
6. "seems to be a customized class" logged for every response: fixed at the source, see below.
8. :func:`decode_base64_directly`: ``ByteArray.from_base64`` joins a ``str`` character by
   character (224 MB for a 28 MB attachment).
9. :func:`release_decoded_text`: the request tree keeps each attachment's base64 text for the whole
   request after spyne has decoded it.
7. Fault serialisation and the pre-parsed request document: in :mod:`.protocol` (protocol
   subclasses), which use the helpers below.
"""

from __future__ import annotations

import binascii
import gc
import logging
import sys
from collections.abc import Callable
from typing import Any

import spyne.const
import spyne.model.binary as spyne_binary
from spyne.error import ValidationError
from spyne.model.binary import BINARY_ENCODING_BASE64, ByteArray
from spyne.model.fault import Fault
from spyne.model.primitive import Unicode

# ------------------------------------------------------------------------------------------------
# 1. Named enumerations


class EnumModel(Unicode):  # type: ignore[misc]  # spyne has no type hints
    """An ``xs:string`` enumeration with a name of its own (base of the generated enums in types.py).

    spyne turns every customisation of a restricted simple type (``min_occurs``, ``nillable``) into
    a new anonymous derived type, so the WSDL and validation schema would carry anonymous copies
    instead of the contract's named ``simpleType``; this keeps the customised copies pointing at the
    named type. No upstream issue found.
    """

    @classmethod
    def customize(cls, **kwargs):  # type: ignore[no-untyped-def]
        retval = super().customize(**kwargs)
        retval.__extends__ = cls.__extends__
        retval.__type_name__ = cls.__type_name__
        retval.__namespace__ = cls.__namespace__
        return retval


# ------------------------------------------------------------------------------------------------
# 2. Dispatch on the request element's full QName


def route_by_request_element(app: Any) -> None:
    """Make a spyne ``Application`` dispatch on the full QName of each request wrapper element.

    spyne 2.14 files every method under ``{app.tns}<wrapper name>``, whatever namespace the wrapper
    element (``_in_message_name="{ns}Name"``) has. ``Test`` is the one operation whose wrapper is in
    another namespace (``http://www.altinn.no/services/2009/10``): without this its requests find no
    method (``Client.ResourceNotFound``). Closest upstream report: #302 (``_in_message_name`` with a
    namespace); the dispatch map itself is not fixed upstream. Call once, right after building the
    Application.
    """
    smm = app.interface.service_method_map
    for key in list(smm):
        for method in list(smm[key]):
            qname = f"{{{method.in_message.get_namespace()}}}{method.name}"
            if qname != key:
                smm.setdefault(qname, []).append(method)
                smm[key].remove(method)
        if not smm[key]:
            del smm[key]


# ------------------------------------------------------------------------------------------------
# 3. No gc.collect() from request contexts


def disable_request_gc() -> None:
    """Stop spyne's ``gc.collect()`` at most once a second from every request's context.

    It exists for file descriptors of streamed file responses (which this service does not use) and
    costs ~150 ms per call with spyne's, zeep's and SQLAlchemy's long-lived objects on the heap:
    #472 ("Remove gc.collect calls that kills spyne's perf"); #591 made ``spyne.const.MIN_GC_INTERVAL``
    the one knob read at call time (spyne.context reads ``const.MIN_GC_INTERVAL``). Also moves the
    start-up objects out of the collector's way (``gc.freeze``).
    """
    spyne.const.MIN_GC_INTERVAL = float("inf")
    gc.collect()
    gc.freeze()


# ------------------------------------------------------------------------------------------------
# 4. spyne's own logging


def quiet_spyne_loggers() -> None:
    """Quiet spyne's own fault logging, which our protocols replace (call once at start-up).

    - ``spyne.application.client``: a traceback at ERROR for every client fault (each AltinnFaultError
      with client=True, e.g. a wrong password); faults.from_exception logs one line at INFO with the
      ErrorGuid instead.
    - ``spyne.application.server``: the traceback of an unexpected exception, at CRITICAL, without
      the ErrorGuid; faults.from_exception logs the same traceback with the ErrorGuid.
    - ``spyne.protocol.soap.soap11.invalid``: logs the *whole request body* on an XML syntax error
      (bodies must never reach the logs; RequestGuard refuses such bodies before spyne, this is a
      second line).
    No upstream issue found (by design upstream: spyne logs every fault).
    """
    for name in (
        "spyne.application.client",
        "spyne.application.server",
        "spyne.protocol.soap.soap11.invalid",
    ):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


# ------------------------------------------------------------------------------------------------
# 5. Keep the original of an unexpected exception


def install_fault_hook(app: Any, map_exception: Callable[[BaseException], Any], keep: type) -> None:
    """``method_exception_object`` listener: replace spyne's anonymous fault by ours.

    spyne replaces an unexpected exception by ``Fault('Server', 'Internal Error')`` before firing
    this event (inside its ``except`` block, so ``sys.exc_info()`` still has the original). Mapping
    it here (``map_exception``) logs the traceback under the same ErrorGuid that the client
    receives, and lets the fault layer recognise database errors. ``keep``: our own fault class,
    left alone. No upstream issue found. Idempotent per application.
    """
    if getattr(app, "_innbyggerpost_fault_hook", False):
        return

    def on_method_exception(ctx: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is None or isinstance(exc, Fault) or isinstance(ctx.out_error, keep):
            return
        ctx.out_error = map_exception(exc)

    app.event_manager.add_listener("method_exception_object", on_method_exception)
    app._innbyggerpost_fault_hook = True


# ------------------------------------------------------------------------------------------------
# 6. "seems to be a customized class. It is not supposed to be instantiated" on every response
#
# Cause: ``@rpc(..., _wsdl_part_name=...)`` makes spyne wrap the produced request/response wrapper
# class in ``message.customize(wsdl_part_name=...)`` (spyne/decorator.py), and ``Soap11.serialize``
# then instantiates that customised class (``body_message_class()``) for every response, which
# ``ComplexModelBase.__init__`` warns about. The part name only matters for spyne's own WSDL, which
# this service never serves (golden WSDL, :mod:`.wsdl`), so ``Operation.rpc_kwargs`` (contract.py)
# no longer passes it: the wrapper classes are plain and nothing is logged. No upstream issue found.
# tests/unit/test_soap_edge.py checks that no method's wrapper class is customised.


# ------------------------------------------------------------------------------------------------
# 8. base64 attachments decoded without a list of every character
#
# ``ByteArray.from_base64(value)`` (spyne/model/binary.py) does ``type(value)().join(value)``, made
# for a list of chunks; from the XML protocol it gets the element's text, a ``str``, so ``"".join``
# first builds a list of its characters: 8 bytes a character, 224 MB of pointers for a 28 MB
# attachment, before the decode. Here a ``str`` or ``bytes`` is decoded as it is; a sequence of
# chunks is joined as before. The result keeps spyne's shape (a one-element tuple). No upstream
# issue found. tests/unit/test_soap_edge.py checks the result and that no list of characters is made.
def _from_base64(cls: Any, value: Any) -> tuple[bytes, ...]:
    try:
        if isinstance(value, str | bytes):
            return (binascii.a2b_base64(value),)
        chunks = list(value)
        joiner = b"" if chunks and isinstance(chunks[0], bytes) else ""
        return (binascii.a2b_base64(joiner.join(chunks)),)
    except (TypeError, binascii.Error) as exc:
        raise ValidationError(value) from exc


def decode_base64_directly() -> None:
    ByteArray.from_base64 = classmethod(_from_base64)
    # The XML protocol looks the decoder up in this table, filled at import with the original.
    spyne_binary.binary_decoding_handlers[BINARY_ENCODING_BASE64] = ByteArray.from_base64


# ------------------------------------------------------------------------------------------------
# 9. An attachment's base64 text is dropped from the request tree once decoded
#
# The request tree (parsed once by the guard, :mod:`.guard`) lives until the response is written, and
# with it each ``Data`` element's base64 text: libxml2 holds a text node of 1.34 MiB for a 1 MiB
# attachment, in a buffer grown by doubling, while the letter waits for its group commit beside its
# decoded bytes. Nothing reads that text after spyne has decoded it (validation came before; the
# WS-Security check reads the Header), so the decoding handler empties the element as soon as the
# bytes exist: a web process holds each attachment once, decoded, while the letter is being stored
# (issue 17, "Memory"; docs/benchmarks.md). Per protocol instance: spyne binds its handlers in
# ``__init__``. No upstream issue (spyne keeps the document by design).
def release_decoded_text(protocol: Any) -> None:
    """After ``protocol`` decodes a ``ByteArray`` element, drop the element's text from the tree."""
    handlers = protocol.deserialization_handlers
    decode = handlers[ByteArray]

    def decode_and_release(ctx: Any, cls: Any, element: Any) -> Any:
        value = decode(ctx, cls, element)
        element.text = None
        return value

    decode_and_release.__wrapped__ = decode  # type: ignore[attr-defined]  # fast_insert reads through it
    handlers[ByteArray] = decode_and_release
