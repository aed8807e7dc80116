"""Bad input against the real service endpoints (docs/specification.md §4), with raw HTTP.

Every case starts from a *valid* InsertCorrespondence(Basic)V2 request built by zeep from the published
WSDL (a positive control shows that it is accepted as is) and breaks one thing: malformed XML,
DOCTYPE/ENTITY (XXE), empty body, wrong or missing content type, the other SOAP version, oversize
bodies (Content-Length and chunked), unknown operation, operation element in the wrong namespace,
missing credentials and wrong password. Each must give an HTTP 500 SOAP fault of the endpoint's SOAP
version (1.1 on Basic, 1.2 on WS) with an AltinnFault detail, never HTML or a traceback, and store
nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from lxml import etree

from tests.support import altinn as a
from tests.support.harness import Stack

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep
    from zeep.wsse.username import UsernameToken

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
FAULT = a.FAULT_NS
CT = {"basic": "text/xml; charset=utf-8", "ws": "application/soap+xml; charset=utf-8"}
MEDIA = {"basic": "text/xml", "ws": "application/soap+xml"}
ENV_NS = {"basic": S11, "ws": S12}
MIB = 1024 * 1024
SECRET = "wrong-password-7f3a9c"  # must never be echoed
NOTHING = {"receipts": 0, "correspondences": 0, "forwardings": 0}


@dataclass
class Request:
    body: bytes | Iterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    error_id: int = 0


_clients: dict[tuple[str, str | None, str | None], Any] = {}


def _client(variant: str, user: str | None, password: str | None) -> Any:
    key = (variant, user, password)
    if key not in _clients:
        if variant == "basic":
            _clients[key] = zeep.Client(str(a.altinn_reference(a.BASIC_WSDL)))
        else:
            wsse = UsernameToken(user, password) if user is not None else None
            _clients[key] = zeep.Client(str(a.altinn_reference(a.WS_WSDL)), wsse=wsse)
    return _clients[key]


def envelope(
    stack: Stack,
    variant: str,
    reference: str,
    user: str | None = "10001",
    password: str | None = "demo-password",
    data: bytes = a.PDF,
) -> etree._Element:
    """A valid InsertCorrespondence(Basic)V2 envelope (WS: PasswordText, no nonce, so re-sendable)."""
    attachment = {"FunctionType": "Unspecified", "FileName": "brev.pdf", "Name": "Brev", "Encrypted": False}
    corr = a.letter(a.DIGIPOST, attachments=[{**attachment, "Data": data}])
    if variant == "basic":
        client = _client("basic", None, None)
        svc = client.create_service(a.BASIC_BINDING, stack.basic_url)
        return client.create_message(
            svc, "InsertCorrespondenceBasicV2", user or "", password or "", "DEMO", reference, corr
        )
    client = _client("ws", user, password)
    svc = client.create_service(a.WS_BINDING, stack.ws_url)
    return client.create_message(svc, "InsertCorrespondenceV2", "DEMO", reference, corr)


def _bytes(env: etree._Element) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _headers(variant: str, content_type: str | None = "default") -> dict[str, str]:
    headers: dict[str, str] = {}
    if content_type == "default":
        content_type = CT[variant]
    if content_type is not None:
        headers["Content-Type"] = content_type
    if variant == "basic":
        headers["SOAPAction"] = (
            '"http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2"'
        )
    return headers


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


def _other_envelope(variant: str, env: etree._Element) -> bytes:
    """The same Header/Body children in the other SOAP version's Envelope."""
    ns = S12 if variant == "basic" else S11
    other = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    body = etree.SubElement(other, f"{{{ns}}}Body")
    for child in env[-1]:
        body.append(child)
    return etree.tostring(other)


def _rename_operation(env: etree._Element, tag: str) -> bytes:
    operation = env[-1][0]
    operation.tag = tag
    return _bytes(env)


def _changed(body: bytes, old: bytes, new: bytes) -> bytes:
    assert old in body, old
    return body.replace(old, new, 1)


def _doctype(env: etree._Element, dtd: str, title_text: str) -> bytes:
    xml = etree.tostring(env, encoding="unicode")
    assert "Vedtak om innbyggerpost" in xml
    xml = xml.replace("Vedtak om innbyggerpost", title_text, 1)
    return f'<?xml version="1.0" encoding="utf-8"?>\n{dtd}\n{xml}'.encode()


def build(stack: Stack, variant: str, case: str, reference: str) -> Request:
    env = envelope(stack, variant, reference)
    ok = _bytes(env)
    h = _headers(variant)
    tns = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"
    op = "InsertCorrespondenceBasicV2" if variant == "basic" else "InsertCorrespondenceV2"
    if case == "malformed-truncated":
        return Request(ok[: len(ok) - 60], h)
    if case == "malformed-garbage":
        return Request(b"<soap:Envelope xmlns:soap='x'><soap:Body><<>></soap:Envelope", h)
    if case == "malformed-mismatched-tag":
        return Request(_changed(ok, b"Correspondence>", b"Correspondance>"), h)
    if case == "not-utf8":
        return Request(_changed(ok, b"Vedtak om innbyggerpost", b"Vedtak \xff\xfe om"), h)
    if case == "doctype-xxe-file":
        dtd = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        return Request(_doctype(env, dtd, "&xxe;"), h)
    if case == "doctype-xxe-network":
        dtd = '<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>'
        return Request(_doctype(env, dtd, "title"), h)
    if case == "doctype-billion-laughs":
        ents = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
        return Request(_doctype(env, f"<!DOCTYPE foo [{''.join(ents)}]>", "&l9;"), h)
    if case == "doctype-internal":
        return Request(_doctype(env, '<!DOCTYPE Envelope [<!ENTITY t "Tittel">]>', "&t;"), h)
    if case == "empty":
        return Request(b"", h)
    if case == "whitespace-only":
        return Request(b"  \r\n\t ", h)
    if case == "content-type-json":
        return Request(ok, _headers(variant, "application/json"))
    if case == "content-type-other-soap-version":
        return Request(ok, _headers(variant, CT["ws" if variant == "basic" else "basic"]))
    if case == "content-type-missing":
        return Request(ok, _headers(variant, None))
    if case == "content-type-multipart":
        return Request(ok, _headers(variant, 'multipart/related; type="application/xop+xml"; boundary=x'))
    if case == "envelope-other-soap-version":
        return Request(_other_envelope(variant, env), h)
    if case == "not-an-envelope":
        return Request(b"<?xml version='1.0'?><InsertCorrespondenceV2>x</InsertCorrespondenceV2>", h)
    if case in ("oversize-content-length", "oversize-chunked"):
        big = _bytes(envelope(stack, variant, reference, data=b"\x00" * (2 * MIB + 300 * 1024)))
        assert 3 * MIB - 200 * 1024 < len(big) < 4 * MIB, len(big)
        return Request(big if case == "oversize-content-length" else _chunks(big), h)
    if case == "unknown-operation":
        return Request(_rename_operation(env, f"{{{tns}}}NoSuchOperation"), h)
    if case == "wrong-operation-namespace":
        return Request(_rename_operation(env, f"{{http://example.com/not-altinn}}{op}"), h)
    if case == "missing-credentials":
        if variant == "basic":
            return Request(_bytes(envelope(stack, variant, reference, user="", password="")), h, 989)
        return Request(_bytes(envelope(stack, variant, reference, user=None, password=None)), h, 989)
    if case == "missing-username":
        return Request(_bytes(envelope(stack, variant, reference, user="", password="demo-password")), h, 989)
    if case == "wrong-password":
        return Request(_bytes(envelope(stack, variant, reference, password=SECRET)), h, 989)
    if case == "unknown-user":
        return Request(_bytes(envelope(stack, variant, reference, user="31337", password=SECRET)), h, 989)
    raise AssertionError(case)


CASES = [
    "malformed-truncated",
    "malformed-garbage",
    "malformed-mismatched-tag",
    "not-utf8",
    "doctype-xxe-file",
    "doctype-xxe-network",
    "doctype-billion-laughs",
    "doctype-internal",
    "empty",
    "whitespace-only",
    "content-type-json",
    "content-type-other-soap-version",
    "content-type-missing",
    "content-type-multipart",
    "envelope-other-soap-version",
    "not-an-envelope",
    "oversize-content-length",
    "oversize-chunked",
    "unknown-operation",
    "wrong-operation-namespace",
    "missing-credentials",
    "missing-username",
    "wrong-password",
    "unknown-user",
]


def assert_soap_fault(variant: str, response: requests.Response, error_id: int) -> etree._Element:
    """HTTP 500, the endpoint's SOAP version, a client fault with an AltinnFault detail; no HTML, no traceback."""
    content = response.content
    assert response.status_code == 500, (response.status_code, content[:500])
    media = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    assert media == MEDIA[variant], response.headers.get("Content-Type")
    assert b"<html" not in content.lower() and b"<!doctype" not in content.lower()
    assert b"Traceback" not in content and b'File "' not in content
    root = etree.fromstring(content)
    ns = ENV_NS[variant]
    assert root.tag == f"{{{ns}}}Envelope", root.tag
    fault = root.find(f"{{{ns}}}Body/{{{ns}}}Fault")
    assert fault is not None, content[:500]
    if variant == "basic":
        code = fault.findtext("faultcode") or ""
        assert code.split(":")[-1] == "Client", code
        assert (fault.findtext("faultstring") or "").strip()
        detail = fault.find("detail")
    else:
        code = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
        assert code.split(":")[-1] == "Sender", code
        assert (fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or "").strip()
        detail = fault.find(f"{{{ns}}}Detail")
    assert detail is not None, content[:500]
    altinn = detail.find(f"{FAULT}AltinnFault")
    assert altinn is not None, content[:500]
    assert int(altinn.findtext(f"{FAULT}ErrorID") or "-1") == error_id, content[:800]
    assert (altinn.findtext(f"{FAULT}AltinnErrorMessage") or "").strip()
    assert (altinn.findtext(f"{FAULT}ErrorGuid") or "").strip()
    return altinn


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_the_valid_request_is_accepted(stack: Stack, variant: str) -> None:
    """Positive control for the builder every bad-input case starts from."""
    reference = a.ref(f"good-{variant}")
    env = envelope(stack, variant, reference)
    url = stack.basic_url if variant == "basic" else stack.ws_url
    r = requests.post(url, data=_bytes(env), headers=_headers(variant), timeout=30)
    assert r.status_code == 200, r.text[:1000]
    assert r.headers["Content-Type"].split(";")[0] == MEDIA[variant]
    assert b"<ReceiptStatusCode>OK<" in r.content or b":ReceiptStatusCode>OK<" in r.content
    assert stack.stored_for(reference) == {"receipts": 1, "correspondences": 1, "forwardings": 0}


@pytest.mark.parametrize("variant", ["basic", "ws"])
@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_soap_fault_and_stores_nothing(stack: Stack, variant: str, case: str) -> None:
    reference = a.ref(f"bad-{case}")
    req = build(stack, variant, case, reference)
    url = stack.basic_url if variant == "basic" else stack.ws_url
    before = stack.count("SELECT count(*) FROM receipts")
    r = requests.post(url, data=req.body, headers=req.headers, timeout=60)
    altinn = assert_soap_fault(variant, r, req.error_id)
    if req.error_id == 989:
        assert "authentication" in (altinn.findtext(f"{FAULT}AltinnErrorMessage") or "").lower()
    assert SECRET.encode() not in r.content and b"demo-password" not in r.content
    assert b"root:" not in r.content  # /etc/passwd never comes back
    assert stack.stored_for(reference) == NOTHING
    assert stack.count("SELECT count(*) FROM receipts") == before
    # the service is still fine afterwards, on the same endpoint
    assert requests.get(url + "?wsdl", timeout=10).status_code == 200


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_oversize_is_refused_with_a_message_about_size(stack: Stack, variant: str) -> None:
    reference = a.ref("big")
    big = _bytes(envelope(stack, variant, reference, data=b"\x00" * (2 * MIB + 300 * 1024)))
    url = stack.basic_url if variant == "basic" else stack.ws_url
    for body in (big, _chunks(big)):
        r = requests.post(url, data=body, headers=_headers(variant), timeout=60)
        altinn = assert_soap_fault(variant, r, 0)
        assert "large" in (altinn.findtext(f"{FAULT}AltinnErrorMessage") or "").lower()
    assert stack.stored_for(reference) == NOTHING
    # just under the limit is accepted
    fits = _bytes(envelope(stack, variant, reference, data=b"\x00" * (MIB + 256 * 1024)))
    assert len(fits) < 2 * MIB
    r = requests.post(url, data=_chunks(fits), headers=_headers(variant), timeout=60)
    assert r.status_code == 200, r.text[:800]
    assert stack.stored_for(reference)["receipts"] == 1


@pytest.mark.parametrize("variant", ["basic", "ws"])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_get_a_soap_fault(stack: Stack, variant: str, method: str) -> None:
    url = stack.basic_url if variant == "basic" else stack.ws_url
    r = requests.request(method, url, data=b"<x/>", headers=_headers(variant), timeout=10)
    assert r.status_code in (405, 500), r.status_code
    assert r.headers.get("Content-Type", "").split(";")[0] == MEDIA[variant]
    assert b"<html" not in r.content.lower() and b"Traceback" not in r.content
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{ENV_NS[variant]}}}Envelope"
    assert root.find(f".//{FAULT}AltinnFault/{FAULT}ErrorID") is not None
