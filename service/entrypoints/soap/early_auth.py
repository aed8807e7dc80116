"""Authentication before the expensive work (issue 14).

The credentials of every authenticated operation sit at fixed places near the start of the request:

* Basic variant: ``systemUserName`` and ``systemPassword`` are the first children of the operation
  element (the contract's sequence); ``GetCorrespondenceStatusHistoryBasic`` carries them as the
  SOAP headers ``SystemUserName`` / ``SystemPassword``;
* WS variant: the WS-Security ``UsernameToken`` in the SOAP header, which precedes the Body.

The :class:`~.guard.RequestGuard` parses the request incrementally and, as soon as the parser has
passed those places, asks :class:`EarlyAuthentication` to authenticate, before the rest of the body is
parsed, before the tolerance walk, spyne's schema validation and base64 decoding. A refusal is
answered at once with the same fault as before (ErrorID 989); a success leaves the principal in
``environ["innbyggerpost.principal"]``, which :mod:`.services` uses instead of authenticating again.
The anonymous ``Test`` and element names that are no operation are left to spyne (no credentials).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from lxml import etree

from ...service_layer.owners import Authenticator, Principal
from ..client_address import ENVIRON_CLIENT
from .contract import Variant
from .faults import ERROR_SYSTEM_AUTHENTICATION_FAILED, AltinnFaultError, fault_envelope_element
from .guard import ENVIRON_PRINCIPAL
from .handlers import ANONYMOUS, canonical

__all__ = ["ENVIRON_CLIENT", "ENVIRON_PRINCIPAL", "EarlyAuthentication", "basic_principal", "client_of"]


Where = Literal["header", "body"]
FaultDecorator = Callable[[Any, etree._Element, str], None]  # (out envelope, request root, wrapper tag)


def client_of(environ: dict[str, Any]) -> str | None:
    """The client address of the request (set by the WSGI root from the trusted proxies)."""
    return environ.get(ENVIRON_CLIENT) or environ.get("REMOTE_ADDR")


def basic_principal(
    auth: Authenticator, client: str | None, username: str | None, password: str | None
) -> Principal:
    """The Basic variant's check of ``systemUserName``/``systemPassword`` (faults with ErrorID 989)."""
    if not username or password is None:
        raise AltinnFaultError(
            ERROR_SYSTEM_AUTHENTICATION_FAILED,
            "System authentication failed: systemUserName/systemPassword missing",
            client=True,
        )
    principal = auth.check_password(username, password, client)
    if principal is None:
        shown = username if len(username) <= 64 else username[:64] + "…"
        raise AltinnFaultError(
            ERROR_SYSTEM_AUTHENTICATION_FAILED,
            f"System authentication failed for system user '{shown}'",
            client=True,
        )
    return principal


class EarlyAuthentication:
    """Where one variant's operations carry their credentials, and their check (module docstring)."""

    def __init__(
        self,
        variant: Variant,
        auth: Authenticator,
        ws_authenticate: Callable[[etree._Element, str | None], Principal] | None = None,
        decorate_fault: FaultDecorator | None = None,
        storage_failure: Callable[[str, BaseException], AltinnFaultError | None] | None = None,
    ) -> None:
        """``storage_failure(operation name, exc)``: the storage fault for a database failure during
        the check (the owner look-up reads the database), recorded for /health as any request's is
        (:func:`.handlers.storage_failure`); None when ``exc`` is not one."""
        self.variant = variant
        self.auth = auth
        self.ws_authenticate = ws_authenticate
        self.decorate_fault = decorate_fault
        self.storage_failure = storage_failure
        self._where: dict[str, tuple[Where, str]] = {}
        self._operation: dict[str, str] = {}  # request element -> operation name
        for op in variant.operations:
            if canonical(op.name) in ANONYMOUS:
                continue
            self._operation[op.in_message_name] = op.name
            if variant.soap_version == "1.2" or op.header_parts:
                self._where[op.in_message_name] = ("header", op.in_ns)
            elif "systemUserName" in op.in_arg_names:
                self._where[op.in_message_name] = ("body", op.in_ns)

    def where(self, wrapper_tag: str) -> Where | None:
        found = self._where.get(wrapper_tag)
        return found[0] if found else None

    def credential_tags(self, wrapper_tag: str) -> tuple[str, ...]:
        """The children of the operation element that carry credentials (Basic body operations)."""
        where, ns = self._where.get(wrapper_tag, ("header", ""))
        return (f"{{{ns}}}systemUserName", f"{{{ns}}}systemPassword") if where == "body" else ()

    def authenticate(
        self, root: etree._Element, wrapper: etree._Element, environ: dict[str, Any]
    ) -> Principal:
        try:
            return self._check(root, wrapper, environ)
        except AltinnFaultError:
            raise
        except Exception as exc:
            fault = self.storage_failure(self._operation[wrapper.tag], exc) if self.storage_failure else None
            if fault is None:
                raise
            raise fault from None

    def _check(self, root: etree._Element, wrapper: etree._Element, environ: dict[str, Any]) -> Principal:
        where, ns = self._where[wrapper.tag]
        client = client_of(environ)
        if self.variant.soap_version == "1.2":
            assert self.ws_authenticate is not None
            return self.ws_authenticate(root, client)
        if where == "header":
            header = root[0] if len(root) and etree.QName(root[0]).localname == "Header" else None
            return basic_principal(
                self.auth,
                client,
                _child_text(header, None, "SystemUserName"),
                _child_text(header, None, "SystemPassword"),
            )
        return basic_principal(
            self.auth,
            client,
            _child_text(wrapper, ns, "systemUserName"),
            _child_text(wrapper, ns, "systemPassword"),
        )

    def fault_envelope(self, err: AltinnFaultError, root: etree._Element, wrapper_tag: str) -> bytes:
        out = fault_envelope_element(self.variant.soap_version, err)  # type: ignore[arg-type]
        if self.decorate_fault is not None:
            self.decorate_fault(out, root, wrapper_tag)
        return bytes(etree.tostring(out, xml_declaration=True, encoding="utf-8"))


def _child_text(parent: etree._Element | None, ns: str | None, local: str) -> str | None:
    if parent is None:
        return None
    for el in parent:
        if isinstance(el.tag, str) and (
            el.tag == f"{{{ns}}}{local}" if ns is not None else etree.QName(el).localname == local
        ):
            return el.text or ""
    return None
