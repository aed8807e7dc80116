"""Memory of a request with a large attachment (issue 17): the guard consumes the body as it parses,
and the attachment's base64 text leaves the request tree once spyne has decoded it."""

from __future__ import annotations

import base64
import os
import warnings

from lxml import etree
from spyne.model.binary import ByteArray

from service.entrypoints.soap import spyne_compat
from service.entrypoints.soap.guard import _FEED_CHUNK, RequestGuard

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from service.entrypoints.soap.protocol import AltinnSoap11


def _app(environ: object, start_response: object) -> list[bytes]:
    return [b""]


def test_the_guard_consumes_the_body_while_it_parses() -> None:
    data = base64.b64encode(os.urandom(3 * _FEED_CHUNK))
    body = bytearray(
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><Data>'
        + data
        + b"</Data></e:Body></e:Envelope>"
    )
    root = RequestGuard(_app, "1.1", 8 * 1024 * 1024)._parse(body, {})
    assert body == bytearray()  # nothing of it is held beside the tree
    assert root.findtext(".//Data") == data.decode()


def test_the_guard_parses_bytes_it_cannot_consume() -> None:
    body = b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'
    root = RequestGuard(_app, "1.1", 1024)._parse(body, {})
    assert root.tag.endswith("Envelope") and body.endswith(b"</e:Envelope>")


def test_decoded_attachment_text_leaves_the_tree() -> None:
    protocol = AltinnSoap11(validator="lxml")
    spyne_compat.decode_base64_directly()
    spyne_compat.release_decoded_text(protocol)
    data = os.urandom(5000)
    element = etree.fromstring(f"<Data>{base64.b64encode(data).decode()}</Data>")
    value = protocol.deserialization_handlers[ByteArray](None, ByteArray, element)
    assert value == (data,)
    assert element.text is None
