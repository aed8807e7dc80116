"""Where the published reference contracts live (read-only data outside the repository).

``<repo>/../shared/reference`` by default; ``INNBYGGERPOST_REFERENCE_DIR`` overrides it. Tests that
compare against them skip when the data is missing on a developer machine, but fail under ``CI=true``:
CI always has the reference data, and a silent skip there would hide a contract regression.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def reference_dir() -> Path:
    override = os.environ.get("INNBYGGERPOST_REFERENCE_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "reference"


def require(path: Path) -> Path:
    """``path`` when it exists; else skip (developer machine) or fail (``CI=true``)."""
    if not path.exists():
        message = f"reference contract not available: {path}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: reference data must be present)")
        pytest.skip(message)
    return path


def altinn_reference(name: str) -> Path:
    """Path of one reference Altinn WSDL."""
    return require(reference_dir() / "altinn" / name)


BASIC_WSDL = "CorrespondenceAgencyExternalBasic.wsdl"
WS_WSDL = "CorrespondenceAgencyExternal.wsdl"


def dpi_reference(*parts: str) -> Path:
    """Path of one file of Digdir's DPI reference data (schemas, examples, the access point's API)."""
    return require(reference_dir().joinpath("dpi", *parts))


def sdp_reference(name: str) -> Path:
    """Path of one SDP 1.0 schema (the document package's manifest.xsd lives there)."""
    return require(reference_dir() / "sdp" / name)
