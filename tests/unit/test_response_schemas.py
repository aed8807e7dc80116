"""The schema check the suite applies to every service response finds what it should (it can fail)."""

from __future__ import annotations

import pytest

from tests.support import schema_guard
from tests.support.schemas import envelope_errors

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
TNS = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"
R = "http://schemas.altinn.no/services/Intermediary/Receipt/2009/10"
F = "http://www.altinn.no/services/common/fault/2009/10"


def receipt(code: str = "OK", swap: bool = False) -> bytes:
    fields = ["<r:ReceiptId>1</r:ReceiptId>", f"<r:ReceiptStatusCode>{code}</r:ReceiptStatusCode>"]
    if swap:
        fields.reverse()
    return (
        f'<e:Envelope xmlns:e="{S11}" xmlns:t="{TNS}" xmlns:r="{R}"><e:Body><t:InsertCorrespondenceBasicV2Response>'
        f"<t:InsertCorrespondenceBasicV2Result>{''.join(fields)}</t:InsertCorrespondenceBasicV2Result>"
        "</t:InsertCorrespondenceBasicV2Response></e:Body></e:Envelope>"
    ).encode()


ALTINN_FAULT = (
    f'<f:AltinnFault xmlns:f="{F}"><f:AltinnErrorMessage>m</f:AltinnErrorMessage>'
    "<f:AltinnExtendedErrorMessage>x</f:AltinnExtendedErrorMessage>"
    "<f:AltinnLocalizedErrorMessage>m</f:AltinnLocalizedErrorMessage>"
    "<f:ErrorGuid>00000000-0000-0000-0000-000000000000</f:ErrorGuid><f:ErrorID>989</f:ErrorID>"
    "<f:UserGuid>u</f:UserGuid><f:UserId>0</f:UserId></f:AltinnFault>"
)


def fault11(detail: str = ALTINN_FAULT) -> bytes:
    return (
        f'<e:Envelope xmlns:e="{S11}"><e:Body><e:Fault><faultcode>e:Client</faultcode>'
        f"<faultstring>m</faultstring>{detail}</e:Fault></e:Body></e:Envelope>"
    ).encode()


def fault12(code: str = "e:Sender") -> bytes:
    return (
        f'<e:Envelope xmlns:e="{S12}"><e:Body><e:Fault><e:Code><e:Value>{code}</e:Value></e:Code>'
        f'<e:Reason><e:Text xml:lang="en">m</e:Text></e:Reason><e:Detail>{ALTINN_FAULT}</e:Detail>'
        "</e:Fault></e:Body></e:Envelope>"
    ).encode()


def test_valid_messages_pass() -> None:
    assert envelope_errors(receipt(), "basic") == []
    assert envelope_errors(fault11(f"<detail>{ALTINN_FAULT}</detail>"), "basic") == []
    assert envelope_errors(fault12(), "ws") == []


@pytest.mark.parametrize(
    ("data", "variant", "expected"),
    [
        (receipt(swap=True), "basic", "Unexpected child"),
        (receipt(code="Fine"), "basic", "must be one of"),
        (receipt(), "ws", "expected {http://www.w3.org/2003/05/soap-envelope}Envelope"),
        (fault11(""), "basic", "without a detail"),
        (fault11("<detail><oops/></detail>"), "basic", "one AltinnFault"),
        (
            fault11(f"<detail>{ALTINN_FAULT.replace('>989<', '>abc<')}</detail>"),
            "basic",
            "ErrorID",
        ),
        (fault12("e:Client"), "ws", "Code/Value"),
        (b"<html>Internal Server Error</html>", "basic", "root element"),
        (b"Traceback (most recent call last)", "ws", "not well-formed"),
        (f'<e:Envelope xmlns:e="{S11}"><e:Body/><e:Body/></e:Envelope>'.encode(), "basic", "Header?, Body"),
        (
            f'<e:Envelope xmlns:e="{S11}"><e:Body><x xmlns="urn:x"/></e:Body></e:Envelope>'.encode(),
            "basic",
            "not declared",
        ),
    ],
)
def test_invalid_messages_are_reported(data: bytes, variant: str, expected: str) -> None:
    problems = envelope_errors(data, variant)
    assert problems and any(expected in p for p in problems), problems


def test_guard_records_a_bad_response_for_our_endpoints_only() -> None:
    schema_guard._take()
    url = "http://127.0.0.1:1/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"
    assert schema_guard.check_response("POST", url, 500, "text/html", b"<html/>")
    assert schema_guard.check_response("POST", url, 200, "text/xml; charset=utf-8", receipt()) == []
    assert schema_guard.check_response("GET", url + "?wsdl", 200, "text/xml", b"<wsdl/>") == []
    assert schema_guard.check_response("POST", "http://127.0.0.1:1/soap11", 500, "text/html", b"x") == []
    recorded = schema_guard._take()
    assert len(recorded) == 1 and "text/html" in recorded[0]
