"""spyne_compat.decode_base64_directly: a base64 attachment is decoded from the element's text as it
is, not after spyne's ``"".join(text)`` turned it into a list of its characters."""

from __future__ import annotations

import base64
import os
import tracemalloc

import spyne.model.binary as spyne_binary
from spyne.model.binary import BINARY_ENCODING_BASE64, ByteArray

from service.entrypoints.soap import spyne_compat


def test_decodes_text_bytes_and_chunks_alike() -> None:
    spyne_compat.decode_base64_directly()
    data = os.urandom(3000)
    text = base64.b64encode(data).decode()
    assert ByteArray.from_base64(text) == (data,)
    assert ByteArray.from_base64(text.encode()) == (data,)
    assert ByteArray.from_base64([text[:400], text[400:]]) == (data,)
    assert spyne_binary.binary_decoding_handlers[BINARY_ENCODING_BASE64](text) == (data,)


def test_no_list_of_characters_is_built() -> None:
    spyne_compat.decode_base64_directly()
    text = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()  # 4 MiB of text
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        (decoded,) = spyne_binary.binary_decoding_handlers[BINARY_ENCODING_BASE64](text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(decoded) == 3 * 1024 * 1024
    # The decoded bytes (3 MiB) and an ASCII copy of the text (4 MiB) at most; a list of 4 Mi
    # characters alone would be 32 MiB.
    assert peak < 2 * len(text)
