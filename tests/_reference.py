"""Where the published reference contracts live (read-only data outside the repository).

``<repo>/../shared/reference`` by default; ``INNBYGGERPOST_REFERENCE_DIR`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    override = os.environ.get("INNBYGGERPOST_REFERENCE_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "reference"


def altinn_reference(name: str) -> Path:
    """Path of one reference Altinn WSDL; skips the test when the reference data is not available."""
    path = reference_dir() / "altinn" / name
    if not path.is_file():
        pytest.skip(f"reference contract not available: {path}")
    return path


BASIC_WSDL = "CorrespondenceAgencyExternalBasic.wsdl"
WS_WSDL = "CorrespondenceAgencyExternal.wsdl"
