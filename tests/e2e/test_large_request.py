"""A request near the size limit with one big attachment is accepted (libxml2 refuses text nodes over
10 MB unless asked; the guard bounds the body's size itself), stored whole, and answered."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support import altinn as a
from tests.support.harness import Stack


@pytest.fixture(scope="module")
def roomy(stack_with: Any) -> Stack:
    return stack_with(MAX_REQUEST_BYTES=str(30 * 1024 * 1024), WEB_WORKERS="1")


def test_an_attachment_over_ten_megabytes_is_stored_whole(roomy: Stack) -> None:
    data = os.urandom(12 * 1024 * 1024)  # 16 MB of base64 in one text node
    attachments = [
        {
            "FunctionType": "Unspecified",
            "FileName": "brev.pdf",
            "Name": "Brev",
            "Encrypted": False,
            "Data": data,
        }
    ]
    reference = a.ref("big")
    receipt = a.insert(roomy.basic_url, reference, a.letter(a.DIGIPOST, a.sdp(), attachments=attachments))
    assert receipt.ReceiptStatusCode == "OK", receipt.ReceiptText
    stored = roomy.count(
        "SELECT length(a.data) FROM attachments a JOIN correspondences c ON c.id = a.correspondence_id "
        "WHERE c.external_shipment_reference = :r",
        r=reference,
    )
    assert stored == len(data)
