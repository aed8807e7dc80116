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

spyne integration: :class:`AltinnSoap11` / :class:`AltinnSoap12` replace spyne's fault serialisation
(``serialize`` when ``ctx.out_error`` is set), so that :class:`AltinnFaultError` raised by a service
method, spyne's own faults (``Client.SchemaValidationError``, ``Client.ResourceNotFound``,
``Client.XMLSyntaxError``, ``Client.SoapError``, …) and unexpected exceptions all come out as the
envelope above. Unexpected exceptions get ErrorID 0 and a generic message; the traceback is logged
server-side with the ErrorGuid that is sent to the client.
"""

from __future__ import annotations

import html
import logging
import re
import sys
import uuid
from typing import Any, Literal

from lxml import etree
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11, Soap12

from ... import ns
from .receipt_xml import ReceiptReply, reply_document

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


def from_exception(exc: BaseException | None) -> AltinnFaultError:
    """Map any exception (a spyne ``Fault`` included) to an :class:`AltinnFaultError`.

    - ``AltinnFaultError``: itself.
    - spyne ``Fault`` with a ``Client…`` code: ErrorID 0, client fault, the spyne text (which names
      the problem, e.g. the offending element for schema validation) after a plain-language lead-in;
      the spyne fault code goes to AltinnExtendedErrorMessage.
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
            logger.info("client fault %s ErrorGuid=%s: %s", code, err.error_guid, message)
            return err
        err = AltinnFaultError(ERROR_GENERAL, GENERIC_SERVER_MESSAGE, client=False)
        logger.error("server fault %s ErrorGuid=%s: %s", code, err.error_guid, text)
        return err
    err = AltinnFaultError(ERROR_GENERAL, GENERIC_SERVER_MESSAGE, client=False)
    if exc is not None:
        logger.error(
            "unexpected %s, answered with ErrorGuid=%s",
            type(exc).__name__,
            err.error_guid,
            exc_info=(type(exc), exc, exc.__traceback__),
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
    soap_version: SoapVersion, err: AltinnFaultError
) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(status_line, headers, body)`` of the HTTP response carrying the fault for ``err``.

    Always HTTP 500: the SOAP 1.1 HTTP binding requires it, and WCF, JAX-WS and zeep all read a
    fault from a 500 response, while some (JAX-WS) raise a transport error for 400/413 instead.
    """
    body = fault_envelope(soap_version, err)
    headers = [("Content-Type", CONTENT_TYPES[soap_version]), ("Content-Length", str(len(body)))]
    return "500 Internal Server Error", headers, body


# --------------------------------------------------------------------------------------------------
# spyne protocols


def configure_spyne_logging() -> None:
    """Quiet spyne's own fault logging, which these protocols replace (call once at start-up).

    - ``spyne.application.client``: a traceback at ERROR for every client fault (each AltinnFaultError
      with client=True, e.g. a wrong password); we log one line at INFO with the ErrorGuid instead.
    - ``spyne.application.server``: the traceback of an unexpected exception, at CRITICAL, without
      the ErrorGuid; :func:`from_exception` logs the same traceback with the ErrorGuid.
    - ``spyne.protocol.soap.soap11.invalid``: logs the *whole request body* on an XML syntax error
      (bodies must never reach the logs; RequestGuard refuses such bodies before spyne, this is a
      second line).
    """
    for name in (
        "spyne.application.client",
        "spyne.application.server",
        "spyne.protocol.soap.soap11.invalid",
    ):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _on_method_exception(ctx: Any) -> None:
    """``method_exception_object`` listener: keep the ErrorGuid of an unexpected exception.

    spyne replaces an unexpected exception by ``Fault('Server', 'Internal Error')`` before firing
    this event (inside its ``except`` block, so ``sys.exc_info()`` still has the original). Mapping
    it here logs the traceback under the same ErrorGuid that the client receives.
    """
    exc = sys.exc_info()[1]
    if exc is None or isinstance(exc, Fault) or isinstance(ctx.out_error, AltinnFaultError):
        return
    ctx.out_error = from_exception(exc)


class _AltinnFaultMixin:
    """Replaces spyne's fault serialisation; see the module docstring."""

    soap_version: SoapVersion

    def set_app(self, value: Any) -> None:
        super().set_app(value)  # type: ignore[misc]
        if value is not None and not getattr(value, "_innbyggerpost_fault_hook", False):
            value.event_manager.add_listener("method_exception_object", _on_method_exception)
            value._innbyggerpost_fault_hook = True

    def serialize(self, ctx: Any, message: Any) -> Any:
        if ctx.out_error is None:
            reply = ctx.out_object[0] if ctx.out_object else None
            if isinstance(reply, ReceiptReply):  # the insert's answer: written without spyne's serialiser
                self.event_manager.fire_event("before_serialize", ctx)  # type: ignore[attr-defined]
                ctx.out_document = reply_document(self.soap_version, reply)
                ctx.out_body_doc = ctx.out_document[0]
                self.event_manager.fire_event("after_serialize", ctx)  # type: ignore[attr-defined]
                return None
            return super().serialize(ctx, message)  # type: ignore[misc]
        self.event_manager.fire_event("before_serialize", ctx)  # type: ignore[attr-defined]
        if isinstance(ctx.out_error, AltinnFaultError):
            err = ctx.out_error
            logger.log(
                logging.INFO if err.client else logging.WARNING,
                "AltinnFault ErrorID=%s ErrorGuid=%s (%s): %s",
                err.error_id,
                err.error_guid,
                "client" if err.client else "server",
                err.message,
            )
        ctx.out_error = from_exception(ctx.out_error)
        ctx.out_document = fault_envelope_element(self.soap_version, ctx.out_error)
        ctx.out_body_doc = ctx.out_document[0]
        self.event_manager.fire_event("after_serialize", ctx)  # type: ignore[attr-defined]
        return None

    # Reached only if something serialises a Fault outside ``serialize`` (stock spyne would write an
    # empty faultactor on 1.1 and fail on a typed detail on 1.2).
    def fault_to_parent(
        self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, *args: Any, **kwargs: Any
    ) -> None:
        env_ns = SOAP_ENV_NS[self.soap_version]
        prefix = next((p for p, u in parent.nsmap.items() if u == env_ns and p), None)
        parent.append(fault_element(self.soap_version, from_exception(inst), prefix=prefix))

    schema_validation_error_to_parent = fault_to_parent

    def fault_to_http_response_code(self, fault: Any) -> str:
        return "500 Internal Server Error"


class AltinnSoap11(_AltinnFaultMixin, Soap11):  # type: ignore[misc]
    """spyne SOAP 1.1 protocol whose faults carry an ``AltinnFault`` detail."""

    soap_version: SoapVersion = "1.1"


class AltinnSoap12(_AltinnFaultMixin, Soap12):  # type: ignore[misc]
    """spyne SOAP 1.2 protocol whose faults carry an ``AltinnFault`` detail."""

    soap_version: SoapVersion = "1.2"
