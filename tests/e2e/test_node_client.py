"""A real node-soap client, built from the UNMODIFIED reference WSDLs, works against us with no work-around.

``tests/node/client.js`` is what a Node integrator writes with the npm ``soap`` package (1.13.0,
pinned in ``tests/node/package.json``): ``createClientAsync(<published WSDL>)``, ``setEndpoint(url)``
and plain objects, nothing else. node-soap writes the children of types from other schemas in their
parent's namespace (``SdpOptions``, ``BinaryAttachmentV2``, ``Notification``, ``ReplyOption``, the SDP
notifications, ``DaysDelayedList``) and sends ``Test`` by its WSDL message name; the service takes
both for what they mean (``service/entrypoints/soap/tolerance.py``). Per variant the client calls
``Test``, inserts a letter with an attachment, reply option, notification and ``SdpOptions``
(ForwardOnly, SDP e-mail and SMS notifications), a misspelt ``SdpOptions`` on Basic (refused by name),
``GetCorrespondence...V3`` with ``SdpSearchOptions`` and the status history (Basic: credentials as
SOAP headers).  The worker then delivers the letter.

Needs ``node`` and the package: ``tests/node/install.sh`` (run by ``make test``'s system-deps)
installs them; the tests skip when that failed, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import altinn as a
from tests.support.harness import Stack
from tests.support.reference import BASIC_WSDL, WS_WSDL, altinn_reference

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "soap" / "package.json").is_file():
        message = "node or the npm soap package is missing: run tests/node/install.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true)")
        pytest.skip(message)
    return node


def _run(variant: str, url: str, reference: str, reportee: str) -> dict[str, dict[str, Any]]:
    wsdl = altinn_reference(BASIC_WSDL if variant == "basic" else WS_WSDL)
    p = subprocess.run(
        [_node(), str(NODE_DIR / "client.js"), variant, str(wsdl), url, reference, reportee],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NODE_DIR,
    )
    assert p.returncode == 0, f"node client failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    calls = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return {c["call"]: c for c in calls}


def _ok(call: dict[str, Any]) -> Any:
    assert call["ok"], call.get("fault")
    return call["result"]


def _accepted_and_delivered(
    stack: Stack, calls: dict[str, dict[str, Any]], insert: str, v3: str, reference: str, vendor: str
) -> None:
    """The insert's receipt is OK for ``vendor``, V3 and the history find the forwarding, the worker
    delivers it."""
    assert calls["Test"]["ok"], calls["Test"]
    receipt = _ok(calls[insert])[f"{insert}Result"]
    assert receipt["ReceiptStatusCode"] == "OK", receipt
    assert vendor in receipt["ReceiptText"]
    status = _ok(calls[v3])[f"{v3}Result"]
    (details,) = status["SdpStatusInformation"]["SdpStatusDetailsList"]["SdpStatusDetails"]
    assert details["Reference"] == reference
    history = next(v for k, v in calls.items() if k.startswith("GetCorrespondenceStatusHistory"))
    (sdp,) = _ok(history)["SdpStatusInformation"]["SdpStatusDetailsList"]["SdpStatusDetails"]
    assert sdp["Reference"] == reference
    assert a.wait_final(stack.basic_url, reference, 60)[-1] == "Delivered_EndUser"


def test_basic_client_unaided(worker: Stack) -> None:
    reference = a.ref("node-basic")
    calls = _run("basic", worker.basic_url, reference, a.DIGIPOST)
    _accepted_and_delivered(
        worker,
        calls,
        "InsertCorrespondenceBasicV2",
        "GetCorrespondenceStatusDetailsBasicV3",
        reference,
        "Digipost",
    )
    misspelt = calls["Misspelt"]
    assert not misspelt["ok"] and "SdpSettin': This element is not expected" in misspelt["fault"]
    assert worker.stored_for(f"{reference}-misspelt")["receipts"] == 0
    assert worker.count(
        "SELECT count(*) FROM forwardings WHERE external_shipment_reference=:r AND sdp_setting='ForwardOnly'",
        r=reference,
    )


def test_ws_client_unaided(worker: Stack) -> None:
    reference = a.ref("node-ws")
    calls = _run("ws", worker.ws_url, reference, a.EBOKS)
    _accepted_and_delivered(
        worker, calls, "InsertCorrespondenceV2", "GetCorrespondenceStatusDetailsV3", reference, "e-Boks"
    )
