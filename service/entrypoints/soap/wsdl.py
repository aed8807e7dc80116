"""Serving the published WSDLs: the golden file of each variant with the configured address.

The golden files (``wsdl/altinn/*.wsdl``) are written at build time by ``make generate``
(:mod:`service.tools.wsdl_writer`, WCF style, from the generated models and operation table) and
checked in; a unit test proves they are current. At run time this module only reads them and puts
the configured public address where the published placeholder address is.
"""

from __future__ import annotations

import functools
from pathlib import Path
from xml.sax.saxutils import escape

from .operations import VARIANTS

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLDEN_DIR = REPO_ROOT / "wsdl" / "altinn"
FILE_NAMES = {
    "basic": "CorrespondenceAgencyExternalBasic.wsdl",
    "ws": "CorrespondenceAgencyExternal.wsdl",
}
PLACEHOLDER_HOST = "https://www.altinn.no"


def golden_path(variant_key: str) -> Path:
    return GOLDEN_DIR / FILE_NAMES[variant_key]


@functools.cache
def _golden(variant_key: str) -> bytes:
    return golden_path(variant_key).read_bytes()


@functools.lru_cache(maxsize=16)
def render_wsdl(variant: str, public_url: str) -> bytes:
    """The published WSDL of ``variant`` ('basic' or 'ws') with the service address under ``public_url``.

    ``public_url`` is the configured public base URL (``http://127.0.0.1:8080``); the address becomes
    ``public_url + /ServiceEngineExternal/CorrespondenceAgencyExternal[Basic].svc`` in ``soap:address``
    (and in ``wsa10:EndpointReference`` for the WS variant). Loaded once, cached per URL.
    """
    v = VARIANTS[variant]
    placeholder = PLACEHOLDER_HOST + v.path
    address = public_url.rstrip("/") + v.path
    golden = _golden(variant)
    count = golden.count(placeholder.encode())
    expected = 2 if variant == "ws" else 1
    if count != expected:
        raise RuntimeError(f"golden WSDL {variant}: {count} address occurrences, expected {expected}")
    return golden.replace(placeholder.encode(), escape(address, {'"': "&quot;"}).encode("utf-8"))
