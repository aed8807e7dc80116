"""SOAP faults carrying Altinn's ``AltinnFault`` detail, for both SOAP 1.1 and SOAP 1.2.

Every fault this service answers with has the same shape, whoever produced it (our own code, spyne,
or the :mod:`request guard <service.entrypoints.soap.guard>`)::

    SOAP 1.1                                     SOAP 1.2
    <s:Fault>                                    <env:Fault>
      <faultcode>s:Client|s:Server</faultcode>     <env:Code><env:Value>env:Sender|env:Receiver</env:Value></env:Code>
      <faultstring xml:lang="en">…</faultstring>   <env:Reason><env:Text xml:lang="en">…</env:Text></env:Reason>
      <detail><AltinnFault …/></detail>            <env:Detail><AltinnFault …/></env:Detail>
    </s:Fault>                                   </env:Fault>

``AltinnFault`` (namespace ``http://www.altinn.no/services/common/fault/2009/10``) has the children of
the reference WSDL in its order: AltinnErrorMessage, AltinnExtendedErrorMessage,
AltinnLocalizedErrorMessage, ErrorGuid (string), ErrorID (int), UserGuid (string), UserId (string).
Values not known to us are filled the way Altinn 2 fills them (``No information available``,
``-no value-``, empty ``UserId``).

This module is the fault *model*: the error, its ErrorIDs and texts, the mapping of any exception
to it (:func:`from_exception`) and the envelope builders. The spyne side (protocol subclasses that
serialise every fault this way) is :mod:`.protocol`. Unexpected exceptions get ErrorID 0 and a
generic message; the traceback is logged server-side with the ErrorGuid that is sent to the client.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from typing import Any, Literal

from lxml import etree
from spyne.model.fault import Fault

from ... import ns

logger = logging.getLogger(__name__)

SoapVersion = Literal["1.1", "1.2"]

NS_ALTINN_FAULT = ns.ALTINN_FAULT_2009_10
NS_XSI = ns.XSI
NS_SOAP11_ENV = ns.SOAP11_ENV
NS_SOAP12_ENV = ns.SOAP12_ENV
NS_XML = ns.XML

SOAP_ENV_NS: dict[str, str] = {"1.1": NS_SOAP11_ENV, "1.2": NS_SOAP12_ENV}
CONTENT_TYPES: dict[str, str] = {
    "1.1": "text/xml; charset=utf-8",
    "1.2": "application/soap+xml; charset=utf-8",
}

# Altinn's general error, and the ones the spec names (SPEC §8).
ERROR_GENERAL = 0
ERROR_NOT_AUTHORISED_FOR_RESOURCE = 5
ERROR_SYSTEM_AUTHENTICATION_FAILED = 989
ERROR_NOT_AUTHORISED_FOR_REPORTEE = 30001
ERROR_INVALID_SSN = 40016

NO_INFORMATION = "No information available"  # what Altinn 2 puts in an empty AltinnExtendedErrorMessage
NO_VALUE = "-no value-"  # what Altinn 2 puts in UserGuid
GENERIC_SERVER_MESSAGE = (
    "The request could not be processed because of an unexpected error in the service. "
    "If this persists, report it to the service operator with the ErrorGuid."
)

# Server-side conditions that say what to do (issue 8): nothing was stored, retry is safe.
_RETRY_SAFE = (
    "Nothing was stored. Retrying with the same ExternalShipmentReference is safe: a letter is stored "
    "at most once per reference."
)
DATABASE_UNAVAILABLE_MESSAGE = f"The service cannot reach its database right now. {_RETRY_SAFE}"
DISK_FULL_MESSAGE = f"The service's storage is full right now. {_RETRY_SAFE}"
BUSY_MESSAGE = f"The service is busy (too many requests in progress); retry in a few seconds. {_RETRY_SAFE}"
KRR_UNAVAILABLE_MESSAGE = (
    "The contact register (KRR) is unavailable; nothing was stored. Retry with the same "
    "ExternalShipmentReference."
)

# spyne fault code -> a sentence a service owner understands; the spyne text follows it.
_SPYNE_CLIENT_MESSAGES = {
    "Client.SchemaValidationError": "The request does not validate against the service contract",
    "Client.XMLSyntaxError": "The request is not well-formed XML",
    "Client.ResourceNotFound": "Unknown operation",
    "Client.SoapError": "The request is not a valid SOAP envelope for this endpoint",
    "Client.RequestTooLong": "The request is too large",
    "Client.RequestNotAllowed": "Request not allowed",
    "Client.ValidationError": "Invalid value in the request",
    "Client.InvalidInput": "Invalid input in the request",
}


# libxml2's "<string>:1:0:ERROR:SCHEMASV:SCHEMAV_ELEMENT_CONTENT: " in front of schema errors.
_LIBXML_PREFIX = re.compile(r"^<string>:\d+:\d+:[A-Z]+:[A-Z0-9_]+:[A-Z0-9_]+: ")
# Under validator='lxml' an unknown operation is a schema error on the body's root element.
_UNKNOWN_ROOT = re.compile(
    r"^Element '([^']*)': No matching global declaration available for the validation root"
)


class AltinnFaultError(Fault):  # type: ignore[misc]  # spyne has no type hints
    """An error reported to the caller as a SOAP fault with an ``AltinnFault`` detail.

    Raise it from service code (or anywhere below it). ``client`` selects the fault code:
    True → ``Client`` (SOAP 1.1) / ``env:Sender`` (SOAP 1.2): the caller must change the request;
    False → ``Server`` / ``env:Receiver``: our side failed, retrying may help.

    It is a spyne ``Fault`` (and so an ``Exception``) so that spyne hands the instance itself to the
    output protocol instead of replacing it with a generic ``Fault('Server', 'Internal Error')``.
    """

    def __init__(
        self,
        error_id: int,
        message: str,
        extended: str = "",
        client: bool = False,
        *,
        user_id: str = "",
        user_guid: str = NO_VALUE,
    ) -> None:
        self.error_id = int(error_id)
        self.message = message
        self.extended = extended
        self.client = client
        self.user_id = user_id
        self.user_guid = user_guid
        self.error_guid = str(uuid.uuid4())
        super().__init__(faultcode="Client" if client else "Server", faultstring=message, lang="en")
        self.args = (message,)

    def __str__(self) -> str:
        return f"AltinnFault {self.error_id} ({'client' if self.client else 'server'}): {self.message}"

    def __repr__(self) -> str:
        return (
            f"AltinnFaultError(error_id={self.error_id!r}, message={self.message!r}, "
            f"client={self.client!r}, error_guid={self.error_guid!r})"
        )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        # spyne's SchemaValidationError text is ASCII bytes with XML character references.
        return html.unescape(value.decode("ascii", "replace"))
    return "" if value is None else str(value)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the DB-API error a SQLAlchemy error wraps (``.orig``), and their causes."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 10:
            continue
        seen.append(e)
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__]
    return seen


def storage_error_kind(exc: BaseException) -> str | None:
    """``"disk_full"``, ``"database_unavailable"`` or None for any exception.

    disk full: SQLite ``SQLITE_FULL`` ("database or disk is full"), PostgreSQL ``DiskFull``
    (SQLSTATE 53100) and the OS ``ENOSPC``; database unavailable: SQLAlchemy ``OperationalError`` /
    ``TimeoutError`` (pool), DB-API ``OperationalError`` (connection refused or lost, server shutting
    down, SQLite locked), ``ConnectionError``. Matched by class name and SQLSTATE so that this module
    does not import the database drivers.
    """
    import errno

    kind = None
    for e in _chain(exc):
        text = str(e).lower()
        if (
            getattr(e, "sqlstate", None) == "53100"
            or type(e).__name__ == "DiskFull"
            or "database or disk is full" in text
            or (isinstance(e, OSError) and e.errno == errno.ENOSPC)
        ):
            return "disk_full"
        names = {c.__name__ for c in type(e).__mro__}
        if names & {"OperationalError", "InterfaceError"} or isinstance(e, ConnectionError):
            kind = "database_unavailable"
        elif "TimeoutError" in names and type(e).__module__.startswith("sqlalchemy"):
            kind = "database_unavailable"
    return kind


def storage_fault(kind: str) -> AltinnFaultError:
    """The AltinnFault for a :func:`storage_error_kind` (ErrorID 0, server side, retry safe)."""
    message = DISK_FULL_MESSAGE if kind == "disk_full" else DATABASE_UNAVAILABLE_MESSAGE
    return AltinnFaultError(ERROR_GENERAL, message, extended=kind, client=False)


def busy_fault() -> AltinnFaultError:
    """The AltinnFault answered when a process has no room for another request (load shedding)."""
    return AltinnFaultError(ERROR_GENERAL, BUSY_MESSAGE, extended="busy", client=False)


_QUOTED_VALUE = re.compile(r"'([^']{40})[^']{8,}'")


def without_values(message: str) -> str:
    """A fault text for the log: quoted values (libxml2 quotes the offending value, which may be a
    letter's content) cut to their first 40 characters, and the whole at most 1 000 (issue 14)."""
    cut = _QUOTED_VALUE.sub(lambda m: f"'{m.group(1)}…'", message)
    return cut if len(cut) <= 1000 else cut[:1000] + "…"


def from_exception(exc: BaseException | None) -> AltinnFaultError:
    """Map any exception (a spyne ``Fault`` included) to an :class:`AltinnFaultError`.

    - ``AltinnFaultError``: itself.
    - spyne ``Fault`` with a ``Client…`` code: ErrorID 0, client fault, the spyne text (which names
      the problem, e.g. the offending element for schema validation) after a plain-language lead-in;
      the spyne fault code goes to AltinnExtendedErrorMessage.
    - database unavailable / disk full (:func:`storage_error_kind`): ErrorID 0, server fault, a text
      that says nothing was stored and a retry with the same reference is safe.
    - anything else (``Server…`` faults included, whose text may carry internals): ErrorID 0, server
      fault, generic message. The original is logged with the ErrorGuid.
    """
    if isinstance(exc, AltinnFaultError):
        return exc
    if isinstance(exc, Fault):
        code = _text(getattr(exc, "faultcode", "")) or "Server"
        text = _text(getattr(exc, "faultstring", "")).strip()
        if code == "Client" or code.startswith("Client."):
            lead = _SPYNE_CLIENT_MESSAGES.get(code)
            if code == "Client.SchemaValidationError":
                text = _LIBXML_PREFIX.sub("", text)
                unknown = _UNKNOWN_ROOT.match(text)
                if unknown:
                    code, lead, text = "Client.ResourceNotFound", "Unknown operation", unknown.group(1)
            message = f"{lead}: {text}" if lead and text else (lead or text or "Invalid request")
            err = AltinnFaultError(ERROR_GENERAL, message, extended=code, client=True)
            logger.info(
                "client fault %s: %s", code, without_values(message), extra={"error_guid": err.error_guid}
            )
            return err
        err = AltinnFaultError(ERROR_GENERAL, GENERIC_SERVER_MESSAGE, client=False)
        logger.error("server fault %s: %s", code, text, extra={"error_guid": err.error_guid})
        return err
    kind = storage_error_kind(exc) if exc is not None else None
    if kind is not None and exc is not None:
        err = storage_fault(kind)
        logger.error(
            "storage unavailable (%s: %s)", kind, type(exc).__name__, extra={"error_guid": err.error_guid}
        )
        return err
    err = AltinnFaultError(ERROR_GENERAL, GENERIC_SERVER_MESSAGE, client=False)
    if exc is not None:
        logger.error(
            "unexpected %s",
            type(exc).__name__,
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"error_guid": err.error_guid},
        )
    return err


def altinn_fault_element(err: AltinnFaultError) -> etree._Element:
    """``<AltinnFault xmlns="http://www.altinn.no/services/common/fault/2009/10">`` for ``err``."""
    root = etree.Element(f"{{{NS_ALTINN_FAULT}}}AltinnFault", nsmap={None: NS_ALTINN_FAULT, "i": NS_XSI})
    values = (
        ("AltinnErrorMessage", err.message),
        ("AltinnExtendedErrorMessage", err.extended or NO_INFORMATION),
        ("AltinnLocalizedErrorMessage", err.message),
        ("ErrorGuid", err.error_guid),
        ("ErrorID", str(int(err.error_id))),
        ("UserGuid", err.user_guid),
        ("UserId", err.user_id),
    )
    for name, value in values:
        etree.SubElement(root, f"{{{NS_ALTINN_FAULT}}}{name}").text = value
    return root


def fault_element(
    soap_version: SoapVersion, err: AltinnFaultError, prefix: str | None = None
) -> etree._Element:
    """The ``Fault`` element (child of ``Body``) for ``err``.

    ``prefix`` is the prefix bound to the SOAP envelope namespace where the element will live (the
    fault code is a QName in element content, so it must use a prefix in scope); by default the
    element declares its own (``s`` for 1.1, ``env`` for 1.2).
    """
    if soap_version == "1.1":
        ns, pfx = NS_SOAP11_ENV, prefix or "s"
        fault = etree.Element(f"{{{ns}}}Fault", nsmap=None if prefix else {pfx: ns})
        etree.SubElement(fault, "faultcode").text = f"{pfx}:{'Client' if err.client else 'Server'}"
        fs = etree.SubElement(fault, "faultstring")
        fs.set(f"{{{NS_XML}}}lang", "en")
        fs.text = err.message
        etree.SubElement(fault, "detail").append(altinn_fault_element(err))
        return fault
    if soap_version == "1.2":
        ns, pfx = NS_SOAP12_ENV, prefix or "env"
        fault = etree.Element(f"{{{ns}}}Fault", nsmap=None if prefix else {pfx: ns})
        code = etree.SubElement(fault, f"{{{ns}}}Code")
        etree.SubElement(code, f"{{{ns}}}Value").text = f"{pfx}:{'Sender' if err.client else 'Receiver'}"
        reason = etree.SubElement(fault, f"{{{ns}}}Reason")
        text = etree.SubElement(reason, f"{{{ns}}}Text")
        text.set(f"{{{NS_XML}}}lang", "en")
        text.text = err.message
        etree.SubElement(fault, f"{{{ns}}}Detail").append(altinn_fault_element(err))
        return fault
    raise ValueError(f"unknown SOAP version {soap_version!r}")


def fault_envelope_element(soap_version: SoapVersion, err: AltinnFaultError) -> etree._Element:
    """A complete ``Envelope`` element whose ``Body`` holds the fault for ``err``."""
    ns = SOAP_ENV_NS[soap_version]
    pfx = "s" if soap_version == "1.1" else "env"
    envelope = etree.Element(f"{{{ns}}}Envelope", nsmap={pfx: ns})
    body = etree.SubElement(envelope, f"{{{ns}}}Body")
    body.append(fault_element(soap_version, err, prefix=pfx))
    return envelope


def fault_envelope(soap_version: SoapVersion, err: AltinnFaultError) -> bytes:
    """The fault envelope for ``err`` as UTF-8 bytes with an XML declaration."""
    return etree.tostring(fault_envelope_element(soap_version, err), xml_declaration=True, encoding="utf-8")


def fault_response(
    soap_version: SoapVersion, err: AltinnFaultError, *, busy_retry_after: int | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(status_line, headers, body)`` of the HTTP response carrying the fault for ``err``.

    HTTP 500: the SOAP 1.1 HTTP binding requires it, and WCF, JAX-WS and zeep all read a fault from
    a 500 response, while some (JAX-WS) raise a transport error for 400/413 instead.

    ``busy_retry_after`` (load shedding): a ``Retry-After`` header, and on SOAP 1.2 HTTP 503. The
    SOAP 1.2 HTTP binding allows any 4xx/5xx with a fault, and JAX-WS, zeep and WCF read the fault
    from a 503 there. On SOAP 1.1 JAX-WS reads a fault only from a 500 (anything else is a bare
    "HTTP status code 503" transport exception, the AltinnFault text lost), so the Basic endpoint
    keeps 500 and says "busy" in the fault and in ``Retry-After``.
    """
    body = fault_envelope(soap_version, err)
    headers = [("Content-Type", CONTENT_TYPES[soap_version]), ("Content-Length", str(len(body)))]
    status = "500 Internal Server Error"
    if busy_retry_after is not None:
        headers.append(("Retry-After", str(int(busy_retry_after))))
        if soap_version == "1.2":
            status = "503 Service Unavailable"
    return status, headers, body
