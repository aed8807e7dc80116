"""examples/requests: every file is schema-valid, and its README `curl` line works against the stack.

The test runs the very `curl` command the README shows for each file (address replaced by the test
stack's, the file replaced by a copy with a fresh ExternalShipmentReference / SendersReference), then
validates the request and the response against the schemas of the WSDLs we publish.
"""

from __future__ import annotations

import shlex
import subprocess
import uuid
from pathlib import Path

import pytest
from lxml import etree

from tests.support.harness import Stack
from tests.support.schemas import envelope_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "requests"
FILES = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.glob("*/*.xml"))
RECEIPT = "{http://schemas.altinn.no/services/Intermediary/Receipt/2009/10}ReceiptStatusCode"
SDP_DETAILS = "{http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02}SdpStatusDetails"
REFERENCE_ELEMENTS = ("ExternalShipmentReference", "ExternalReference", "SendersReference", "string")
INSERT_V2 = {"InsertCorrespondenceBasicV2", "InsertCorrespondenceV2"}
OLD_OPERATIONS = {  # answered with an AltinnFault "... is not supported by this service"
    "CreateSimpleCorrespondenceService",
    "CreateSimpleCorrespondenceServiceBasic",
    "GetCorrespondenceStatusDetails",
    "GetCorrespondenceStatusDetailsBasic",
    "InsertCorrespondence",
    "InsertCorrespondenceBasic",
}
SHOWS_SDP = {"GetCorrespondenceStatusDetailsBasicV3", "GetCorrespondenceStatusDetailsV3"}
SHOWS_SDP |= {"GetCorrespondenceStatusHistoryBasic", "GetCorrespondenceStatusHistory"}


def operation(rel: str) -> str:
    return rel.split("/")[1].removesuffix(".xml").split("-")[0]


def curl_commands() -> dict[str, list[str]]:
    """README line per file: ``{"basic/Test.xml": argv}``."""
    out: dict[str, list[str]] = {}
    for line in (EXAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("curl "):
            argv = shlex.split(line)
            data = [a for a in argv if a.startswith("@")]
            assert len(data) == 1, line
            assert data[0][1:] not in out, f"two commands for {data[0]}"
            out[data[0][1:]] = argv
    return out


def test_every_file_has_one_curl_line_and_is_a_valid_request() -> None:
    assert len(FILES) == 22  # 8 operations x 2 variants, plus 3 more forwarding modes x 2
    assert sorted(curl_commands()) == FILES
    for rel in FILES:
        variant = rel.split("/")[0]
        problems = envelope_errors((EXAMPLES / rel).read_bytes(), variant, allow_fault=False)
        assert not problems, f"{rel}: {problems}"


def _with_reference(rel: str, reference: str, tmp: Path) -> Path:
    tree = etree.parse(str(EXAMPLES / rel))
    for el in tree.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname in REFERENCE_ELEMENTS:
            el.text = reference
    out = tmp / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    tree.write(str(out), xml_declaration=True, encoding="UTF-8")
    return out


def _send(stack: Stack, rel: str, reference: str, tmp: Path) -> tuple[int, bytes]:
    argv = list(curl_commands()[rel])
    path = _with_reference(rel, reference, tmp)
    argv = [f"@{path}" if a == f"@{rel}" else a.replace("http://127.0.0.1:8080", stack.url) for a in argv]
    body = tmp / "response.xml"
    done = subprocess.run(
        [*argv, "-o", str(body), "-w", "%{http_code}", "--max-time", "60"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    request_problems = envelope_errors(path.read_bytes(), rel.split("/")[0], allow_fault=False)
    assert not request_problems, f"{rel} (sent): {request_problems}"
    return int(done.stdout), body.read_bytes()


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_curl_lines_against_the_stack(worker: Stack, variant: str, tmp_path: Path) -> None:
    inserts = [f for f in FILES if f.startswith(variant + "/") and operation(f) in INSERT_V2]
    assert len(inserts) == 4
    forwarded = ""
    for rel in inserts:
        reference = f"curl-{uuid.uuid4().hex[:12]}"
        status, response = _send(worker, rel, reference, tmp_path)
        assert status == 200, response[:500]
        assert not envelope_errors(response, variant, allow_fault=False), envelope_errors(response, variant)
        assert etree.fromstring(response).findtext(f".//{RECEIPT}") == "OK", response[:800]
        if rel.endswith("-forward-only.xml"):
            forwarded = reference
    assert forwarded
    for rel in (f for f in FILES if f.startswith(variant + "/") and f not in inserts):
        status, response = _send(worker, rel, forwarded, tmp_path)
        problems = envelope_errors(response, variant)
        assert not problems, f"{rel}: {problems}"
        if operation(rel) in OLD_OPERATIONS:
            assert status == 500 and b"is not supported by this service" in response, (rel, response[:500])
            continue
        assert status == 200, (rel, response[:500])
        if operation(rel) in SHOWS_SDP:  # the forward-only letter's SDP record, found by its reference
            root = etree.fromstring(response)
            assert forwarded in root.itertext(), (rel, response[:800])
            assert root.find(f".//{SDP_DETAILS}") is not None, (rel, response[:800])
