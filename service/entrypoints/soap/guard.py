"""WSGI middleware in front of a spyne SOAP application: refuses bad input with a proper SOAP fault.

spyne, as shipped, drops the connection on an empty body, answers a DOCTYPE with an HTML page, does
not check the Content-Type, and cuts a chunked body at its size limit and reports a misleading
syntax error (docs/architecture.md, "spyne and zeep: what we work around"). :class:`RequestGuard` reads and checks a POST body before
spyne sees it:

1. Content-Type: ``text/xml`` on the SOAP 1.1 endpoint, ``application/soap+xml`` on the SOAP 1.2 one
   (parameters such as ``charset`` and ``action`` are fine). ``multipart/related`` (MTOM / SwA) is
   refused: the Altinn contract sends attachments inline as base64, spyne's inbound MTOM has known
   bugs, and the guard could not check the XML inside a MIME package.
2. Size: at most ``max_bytes``, with a Content-Length or chunked (read until EOF, counting). A
   declared Content-Length above the limit is refused before the body is read. The body is then
   *drained* (read and thrown away, never stored or parsed) when it is no larger than
   ``max_bytes + drain_bytes``, so that the client, which is still sending, receives the fault
   instead of a connection reset; a bigger body is not read at all.
3. Not empty.
4. Well-formed XML, parsed with entities unresolved, no network and no DTD loading; any DOCTYPE
   (so any DTD or ENTITY declaration) is refused.
5. The root is the ``Envelope`` of the endpoint's SOAP version (a SOAP 1.2 envelope on the SOAP 1.1
   endpoint, or the other way round, gets a fault saying so).

Issue 14 added, in this order: the body must arrive within a deadline (``body_timeout`` plus its size
at ``body_min_rate``; :mod:`..slow_clients`); its shape is checked on the raw bytes before any tree is
built (:mod:`.bounds`); the parse is incremental, and with ``early_auth``
(:class:`~.early_auth.EarlyAuthentication`) the request is authenticated as soon as the parser has
passed the credentials, a refusal answered before the rest is parsed; and the Body must hold exactly
one operation element.

Each refusal is an HTTP 500 response with a SOAP fault of the endpoint's version carrying an
``AltinnFault`` detail (ErrorID 0, ``Client``/``env:Sender``): 500 also for an oversize body, because
SOAP clients (JAX-WS in particular) read a fault only from a 500 response. A request that passes
reaches the inner application with a fresh ``wsgi.input`` and a correct ``CONTENT_LENGTH``, and the
parsed envelope (root element) in ``environ["innbyggerpost.envelope"]`` for the WS-Security check.

Requests with other methods (``GET ?wsdl`` …) pass through unchecked. For all requests, an
exception escaping the inner application, or a response without ``start_response``, becomes a
``Server`` fault (logged with its ErrorGuid) instead of the WSGI server's HTML error page; the inner
response is buffered for that (spyne builds it in memory anyway).

The inner spyne ``WsgiApplication`` must have ``max_content_length`` >= ``max_bytes``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lxml import etree

from ...xml import has_doctype
from ..slow_clients import DEADLINES
from . import bounds
from .faults import (
    CONTENT_TYPES,
    ERROR_GENERAL,
    NS_SOAP11_ENV,
    NS_SOAP12_ENV,
    SOAP_ENV_NS,
    AltinnFaultError,
    SoapVersion,
    fault_response,
    from_exception,
)

if TYPE_CHECKING:
    from .early_auth import EarlyAuthentication

logger = logging.getLogger(__name__)

ENVIRON_ENVELOPE = "innbyggerpost.envelope"
ENVIRON_PRINCIPAL = "innbyggerpost.principal"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_MEDIA_TYPES: dict[str, str] = {"1.1": "text/xml", "1.2": "application/soap+xml"}
_READ_CHUNK = 64 * 1024
_FEED_CHUNK = 256 * 1024  # bytes handed to the incremental parser at a time


class _EarlyFault(Exception):
    """Authentication refused while parsing: the fault response is ready."""

    def __init__(self, err: AltinnFaultError, body: bytes) -> None:
        super().__init__(err.message)
        self.err = err
        self.body = body


class _Refused(Exception):
    """A request the guard refuses; carries the fault to answer with."""

    def __init__(self, message: str, extended: str = "") -> None:
        super().__init__(message)
        self.fault = AltinnFaultError(ERROR_GENERAL, message, extended=extended, client=True)


def _fmt_bytes(n: int) -> str:
    return f"{n} bytes ({n / (1024 * 1024):.1f} MiB)" if n >= 1024 * 1024 else f"{n} bytes"


class RequestGuard:
    """``RequestGuard(app, soap_version, max_bytes)``: see the module docstring."""

    def __init__(
        self,
        app: WsgiApp,
        soap_version: SoapVersion,
        max_bytes: int,
        *,
        drain_bytes: int | None = None,
        early_auth: EarlyAuthentication | None = None,
        body_timeout: float = 0.0,
        body_min_rate: int = 0,
    ) -> None:
        if soap_version not in SOAP_ENV_NS:
            raise ValueError(f"unknown SOAP version {soap_version!r}")
        self.app = app
        self.soap_version: SoapVersion = soap_version
        self.max_bytes = int(max_bytes)
        self.drain_bytes = self.max_bytes if drain_bytes is None else int(drain_bytes)
        self.early_auth = early_auth
        self.body_timeout = float(body_timeout)
        self.body_min_rate = int(body_min_rate)

    # ---------------------------------------------------------------------------------- WSGI entry

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            if environ.get("REQUEST_METHOD", "GET").upper() == "POST":
                self._check_post(environ)
        except _Refused as refused:
            err = refused.fault
            logger.warning(
                "refused SOAP %s request to %s from %s: %s (ErrorGuid=%s)",
                self.soap_version,
                environ.get("PATH_INFO", ""),
                environ.get("REMOTE_ADDR", "?"),
                err.message[:300],
                err.error_guid,
                extra={"error_guid": err.error_guid, "error_id": err.error_id},
            )
            return self._fault(start_response, err)
        except _EarlyFault as early:
            err = early.err
            logger.info(
                "refused SOAP %s request before parsing it whole: %s (ErrorGuid=%s)",
                self.soap_version,
                err.message[:200],
                err.error_guid,
                extra={"error_guid": err.error_guid, "error_id": err.error_id},
            )
            headers = [
                ("Content-Type", CONTENT_TYPES[self.soap_version]),
                ("Content-Length", str(len(early.body))),
            ]
            start_response("500 Internal Server Error", headers)
            return [early.body]
        except Exception as exc:  # e.g. the client went away while we were reading
            return self._fault(start_response, from_exception(exc))
        return self._call_inner(environ, start_response)

    def _fault(self, start_response: StartResponse, err: AltinnFaultError) -> list[bytes]:
        status, headers, body = fault_response(self.soap_version, err)
        start_response(status, headers)
        return [body]

    def _call_inner(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if captured and exc_info is None:
                raise AssertionError("start_response called twice without exc_info")
            captured[:] = [(status, list(headers))]
            return _no_write

        result: Iterable[bytes] | None = None
        try:
            result = self.app(environ, capture)
            body = b"".join(result)
            if not captured:
                raise RuntimeError("the application returned without calling start_response")
        except Exception as exc:
            return self._fault(start_response, from_exception(exc))
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.exception("closing the inner application's response failed")
        status, headers = captured[0]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    # ------------------------------------------------------------------------------------- checks

    def _check_post(self, environ: dict[str, Any]) -> None:
        self._check_content_type(environ.get("CONTENT_TYPE") or "")
        body = self._read_body_in_time(environ)
        if not body or body.isspace():  # (not .strip(): that would copy a 30 MiB body)
            raise _Refused("The request body is empty; a SOAP envelope was expected")
        try:
            bounds.check(body)
        except bounds.BoundExceeded as exc:
            raise _Refused(f"The request exceeds what the contract needs: {exc}") from None
        root = self._parse(body, environ)
        self._check_envelope(root)
        self._check_body(root)
        # spyne takes the parsed envelope (protocol.py) and never parses the bytes again: hand it an
        # empty stream, so that a 30 MiB body is not held (and copied by spyne) beside its tree.
        environ["wsgi.input"] = io.BytesIO(b"")
        environ["CONTENT_LENGTH"] = "0"
        environ[ENVIRON_ENVELOPE] = root

    def _body_deadline(self, environ: dict[str, Any]) -> float:
        """``body_timeout`` plus the declared size (else the size limit) at ``body_min_rate``."""
        if self.body_timeout <= 0:
            return 0.0
        try:
            declared = min(int(str(environ.get("CONTENT_LENGTH") or "")), self.max_bytes)
        except ValueError:
            declared = self.max_bytes
        if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
            declared = self.max_bytes
        return self.body_timeout + (max(declared, 0) / self.body_min_rate if self.body_min_rate > 0 else 0.0)

    def _read_body_in_time(self, environ: dict[str, Any]) -> bytes:
        """The body, which must arrive within its deadline (slow clients, issue 14)."""
        seconds = self._body_deadline(environ)
        armed = DEADLINES.arm(environ, seconds)
        try:
            return self._read_body(environ)
        except (_Refused, OSError) as exc:
            if armed is not None and armed.fired:
                raise _Refused(
                    f"The request body did not arrive within {seconds:.1f} seconds; "
                    "send it at once (nothing was stored)"
                ) from None
            if isinstance(exc, TimeoutError):
                raise _Refused("The client stopped sending the request body (socket timeout)") from None
            raise
        finally:
            DEADLINES.disarm(armed)

    def _check_content_type(self, content_type: str) -> None:
        media = content_type.split(";", 1)[0].strip().lower()
        expected = _MEDIA_TYPES[self.soap_version]
        if media == expected:
            return
        if not media:
            raise _Refused(f"The request has no Content-Type; SOAP {self.soap_version} requires {expected}")
        if media == "multipart/related":
            raise _Refused(
                "Content-Type multipart/related (MTOM/SwA) is not supported; "
                f"send attachments inline as base64 with Content-Type {expected}"
            )
        other = "1.2" if self.soap_version == "1.1" else "1.1"
        if media == _MEDIA_TYPES[other]:
            raise _Refused(
                f"Content-Type {media} is SOAP {other}; this endpoint speaks SOAP {self.soap_version} "
                f"and requires {expected}"
            )
        raise _Refused(f"Unsupported Content-Type {media!r}; SOAP {self.soap_version} requires {expected}")

    def _too_large(self, size: str) -> _Refused:
        return _Refused(
            f"The request is too large: {size}; the limit is {_fmt_bytes(self.max_bytes)}",
            extended="Request size limit exceeded",
        )

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        stream = environ.get("wsgi.input")
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        if raw_length and not chunked:
            try:
                length = int(raw_length)
            except ValueError:
                raise _Refused(f"Invalid Content-Length {raw_length!r}") from None
            if length < 0:
                raise _Refused(f"Invalid Content-Length {raw_length!r}")
            if length > self.max_bytes:
                if length <= self.max_bytes + self.drain_bytes:
                    self._drain(stream, length)
                raise self._too_large(_fmt_bytes(length))
            return self._read_exactly(stream, length)
        if chunked or environ.get("wsgi.input_terminated"):
            return self._read_to_eof(stream)
        # No length and no chunked framing: by the WSGI spec there is no body.
        return b""

    @staticmethod
    def _read_exactly(stream: Any, length: int) -> bytes:
        # One buffer of the declared size (not chunks joined at the end: that would hold it twice).
        buf = bytearray(length)
        view = memoryview(buf)
        got = 0
        while got < length:
            data = stream.read(min(_READ_CHUNK, length - got))
            if not data:
                raise _Refused(f"The request body ended after {got} of {length} bytes")
            view[got : got + len(data)] = data
            got += len(data)
        view.release()
        return buf  # type: ignore[return-value]  # a bytearray: read-only use from here on

    def _read_to_eof(self, stream: Any) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            data = stream.read(_READ_CHUNK)
            if not data:
                return b"".join(parts)
            total += len(data)
            if total > self.max_bytes:
                parts.clear()
                self._drain(stream, self.drain_bytes)
                raise self._too_large(f"more than {_fmt_bytes(self.max_bytes)} (chunked)")
            parts.append(data)

    @staticmethod
    def _drain(stream: Any, limit: int) -> None:
        """Read and discard up to ``limit`` bytes (so that the client gets to read our answer)."""
        remaining = limit
        try:
            while remaining > 0:
                data = stream.read(min(_READ_CHUNK, remaining))
                if not data:
                    return
                remaining -= len(data)
        except Exception:  # the client gave up: nothing to drain any more
            logger.debug("draining an oversize request body stopped early", exc_info=True)

    def _parse(self, body: bytes, environ: dict[str, Any]) -> etree._Element:
        """Parse incrementally (one parse, no second copy of the text); with ``early_auth``, stop and
        answer a refused authentication as soon as the credentials have been parsed."""
        # huge_tree: one attachment may be most of the 30 MiB a request may have (libxml2's default
        # refuses text nodes over 10 MB); size and shape are bounded above already (bounds.check).
        parser = etree.XMLPullParser(
            events=("start", "end") if self.early_auth is not None else (),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=True,
            remove_blank_text=False,
        )
        watch = (
            _AuthWatch(self.early_auth, self.soap_version, environ) if self.early_auth is not None else None
        )
        try:
            if isinstance(body, bytearray):
                # Memory (issue 17): consume the body as the tree grows, so that a letter is not held as
                # its text and its tree at once (a bytearray gives its memory back as its front is
                # deleted: CPython reallocates it once it is under half its size). The caller's body
                # is empty afterwards; nothing reads it after the parse.
                while body:
                    parser.feed(bytes(body[:_FEED_CHUNK]))
                    del body[:_FEED_CHUNK]
                    if watch is not None:
                        watch.events(parser.read_events())
            else:
                for offset in range(0, len(body), _FEED_CHUNK):
                    parser.feed(bytes(body[offset : offset + _FEED_CHUNK]))
                    if watch is not None:
                        watch.events(parser.read_events())
            root = parser.close()
        except etree.XMLSyntaxError as exc:
            raise _Refused(f"The request is not well-formed XML: {str(exc)[:300]}") from None
        if watch is not None:
            watch.events(parser.read_events())
            watch.finish(root)
        if has_doctype(root):
            raise _Refused("DOCTYPE, DTD and ENTITY declarations are not allowed in a SOAP request")
        return root

    def _check_envelope(self, root: etree._Element) -> None:
        expected_ns = SOAP_ENV_NS[self.soap_version]
        if root.tag == f"{{{expected_ns}}}Envelope":
            return
        versions = {NS_SOAP11_ENV: "1.1", NS_SOAP12_ENV: "1.2"}
        qname = etree.QName(root)
        if qname.localname == "Envelope" and qname.namespace in versions:
            raise _Refused(
                f"This is a SOAP {versions[qname.namespace]} envelope; this endpoint speaks SOAP "
                f"{self.soap_version} (envelope namespace {expected_ns})"
            )
        raise _Refused(
            f"The root element is {root.tag!r}, not a SOAP {self.soap_version} Envelope ({expected_ns})"
        )

    def _check_body(self, root: etree._Element) -> None:
        body = root.find(f"{{{SOAP_ENV_NS[self.soap_version]}}}Body")
        if body is None:
            return  # spyne's fault names the missing Body
        operations = [el for el in body if isinstance(el.tag, str)]
        if len(operations) > 1:
            raise _Refused(
                f"The SOAP Body has {len(operations)} operation elements; exactly one is allowed per request"
            )


class _AuthWatch:
    """Follows the parser's events and authenticates as soon as the credentials have been read."""

    def __init__(self, auth: EarlyAuthentication, soap_version: SoapVersion, environ: dict[str, Any]) -> None:
        self.auth = auth
        self.environ = environ
        self.body_tag = f"{{{SOAP_ENV_NS[soap_version]}}}Body"
        self.depth = 0
        self.root: etree._Element | None = None
        self.in_body = False
        self.wrapper: etree._Element | None = None
        self.where: str | None = None
        self.wanted: set[str] = set()
        self.done = False

    def events(self, events: Any) -> None:
        for event, el in events:
            if self.done:
                continue  # drain the queue (bounded: at most bounds.MAX_ELEMENTS elements)
            if event == "start":
                self.depth += 1
                if self.depth == 1:
                    self.root = el
                elif self.depth == 2 and el.tag == self.body_tag:
                    self.in_body = True
                elif self.depth == 3 and self.in_body and self.wrapper is None:
                    self.wrapper = el
                    self.where = self.auth.where(el.tag)
                    self.wanted = set(self.auth.credential_tags(el.tag))
                    if self.where is None:
                        self.done = True  # anonymous or no operation: spyne answers
                    elif self.where == "header":
                        self._authenticate()  # the header is complete: the Body has begun
            else:
                self.depth -= 1
                if self.wrapper is None:
                    if el.tag == self.body_tag:
                        self.done = True
                    continue
                if el is self.wrapper:
                    self._authenticate()
                elif self.depth == 3 and el.tag in self.wanted:
                    self.wanted.discard(el.tag)
                    if not self.wanted:
                        self._authenticate()

    def finish(self, root: etree._Element) -> None:
        if not self.done and self.wrapper is not None and self.where is not None:
            self.root = root
            self._authenticate()

    def _authenticate(self) -> None:
        self.done = True
        assert self.root is not None and self.wrapper is not None
        try:
            principal = self.auth.authenticate(self.root, self.wrapper, self.environ)
        except AltinnFaultError as err:
            raise _EarlyFault(err, self.auth.fault_envelope(err, self.root, self.wrapper.tag)) from None
        self.environ[ENVIRON_PRINCIPAL] = principal


def _no_write(data: bytes) -> None:
    raise RuntimeError("the write() callable of start_response is not supported behind RequestGuard")
