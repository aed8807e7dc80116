"""The request's shape on the raw bytes (service/entrypoints/soap/bounds.py, issue 14): every bound
refused with its own message, legitimate shapes (big attachments, CDATA, comments) accepted, and the
scan's cost bounded by the bounds rather than by the bytes."""

from __future__ import annotations

import pytest

from service.entrypoints.soap import bounds

S11 = "http://schemas.xmlsoap.org/soap/envelope/"


def env(body: str) -> bytes:
    return f'<?xml version="1.0"?><s:Envelope xmlns:s="{S11}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            env('<a:T xmlns:a="x" ' + " ".join(f'a{i}="v"' for i in range(33)) + "/>"),
            "more than 32 attributes",
        ),
        (env("<a" + "b" * 300 + "/>"), "element name is longer than 256"),
        (env('<a:T xmlns:a="x" ' + "z" * 300 + '="1"/>'), "attribute name is longer than 256"),
        (env('<a:T xmlns:a="' + "x" * 5000 + '"/>'), "longer than 4096 characters"),
        (env("<a>" + "<b/>" * 10_001 + "</a>"), "more than 10000 child elements"),
        (env("".join(f"<e{i}>" + "<b/>" * 9000 + f"</e{i}>" for i in range(3))), "more than 20000 elements"),
        (env("<a>" * 70 + "</a>" * 70), "deeper than 64 levels"),
        (env("<a>" + "x" * (bounds.MAX_TEXT + 1) + "</a>"), "bytes of text outside attachment Data"),
        (
            env("<a><![CDATA[" + "x" * (bounds.MAX_TEXT + 1) + "]]></a>"),
            "bytes of text outside attachment Data",
        ),
        (env("".join(f'<e xmlns:p{i}="u" xmlns:q{i}="u"/>' for i in range(6001))), "namespace declarations"),
        (
            env(
                "".join(
                    f'<e a="1" b="2" c="3" d="4" e="5" f="6" g="7" h="8" i="9" j="10" k="{i}"/>'
                    for i in range(2500)
                )
            ),
            "more than 25000 attributes",
        ),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
    ],
    ids=lambda value: value if isinstance(value, str) else "request",
)
def test_each_bound_is_refused_with_its_message(body: bytes, message: str) -> None:
    with pytest.raises(bounds.BoundExceeded, match=message.replace("(", r"\(")):
        bounds.check(body)


def test_legitimate_shapes_pass() -> None:
    data = "QUJD" * (3 * 1024 * 1024)  # 12 MiB of base64 in an attachment's Data
    body = env(
        '<a:Insert xmlns:a="urn:a" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        "<a:systemUserName>10001</a:systemUserName><a:x i:nil='true' />"
        f"<a:Attachment><a:Data>{data}</a:Data></a:Attachment>"
        '<a:MessageBody><![CDATA[<p class="x">Hei</p>]]></a:MessageBody><!-- a comment -->'
        "<?pi x?></a:Insert>"
    )
    assert bounds.check(body) == 8


def test_a_status_history_of_10000_references_from_zeep_passes() -> None:
    """zeep repeats the Arrays namespace on each ``string``: Altinn's 10 000 references a call."""
    arrays = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
    refs = "".join(f'<ns1:string xmlns:ns1="{arrays}">ref-{i:05d}</ns1:string>' for i in range(10_000))
    body = env(
        '<ns0:GetCorrespondenceStatusHistoryBasic xmlns:ns0="urn:a">'
        f"<ns0:CorrespondenceSendersReferences>{refs}</ns0:CorrespondenceSendersReferences>"
        "</ns0:GetCorrespondenceStatusHistoryBasic>"
    )
    assert bounds.check(body) == 10_004


def test_malformed_markup_is_left_to_the_parser() -> None:
    assert bounds.check(env("<a b>text</a>")) >= 2  # not a bound: libxml2 refuses it afterwards
