"""The checked-in generated files are exactly what ``make generate`` writes.

``make generate`` (``service/tools/generate.py``) writes ``service/entrypoints/soap/types.py`` and
``operations.py`` from the published Altinn WSDLs (``service/tools/codegen.py``) and then the golden
WSDLs ``wsdl/altinn/*.wsdl`` from those modules (``service/tools/wsdl_writer.py``). Both steps are
repeated here into a temporary directory / in memory and compared byte for byte with the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.entrypoints.soap import wsdl
from service.tools import codegen, wsdl_writer
from tests.support.reference import BASIC_WSDL, altinn_reference, reference_dir

STALE = "is stale: run make generate"


def test_generated_contract_modules_are_current(tmp_path: Path) -> None:
    altinn_reference(BASIC_WSDL)
    written = codegen.generate(reference_dir() / "altinn", tmp_path)
    assert {p.name for p in written} == {"types.py", "operations.py"}
    for path in written:
        committed = codegen.SOAP_PACKAGE / path.name
        assert path.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
            f"{committed} {STALE}"
        )


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_golden_wsdls_are_current(variant: str) -> None:
    golden = wsdl.golden_path(variant)
    assert golden.is_file(), f"{golden} missing: run make generate"
    assert wsdl_writer.build_wsdl(variant) == golden.read_bytes(), f"{golden} {STALE}"


def test_generated_modules_are_declarations_only() -> None:
    """No hand-written logic in generated files: no functions or classes with methods in operations.py."""
    text = (codegen.SOAP_PACKAGE / "operations.py").read_text(encoding="utf-8")
    assert "GENERATED FILE" in text
    assert "\ndef " not in text and "\nclass " not in text
