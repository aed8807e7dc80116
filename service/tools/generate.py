"""Regenerate every generated file: ``make generate``.

1. :mod:`.codegen`: ``service/entrypoints/soap/types.py`` and ``operations.py`` from the published
   Altinn 2 WSDLs in ``REFERENCE_ALTINN_DIR``;
2. :mod:`.wsdl_writer`: the golden WSDLs ``wsdl/altinn/*.wsdl`` from those modules (run in a fresh
   interpreter, so that it sees the modules just written).

Usage: ``python -m service.tools.generate REFERENCE_ALTINN_DIR`` (the Makefile passes
``$(REFERENCE_DIR)/altinn``, default ``../shared/reference``). ``tests/unit/test_generated_current.py``
proves the checked-in output is what this writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import codegen


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m service.tools.generate REFERENCE_ALTINN_DIR", file=sys.stderr)
        return 2
    reference = Path(argv[0])
    if not (reference / codegen.BASIC_FILE).is_file():
        print(f"{reference}: no {codegen.BASIC_FILE} (the published Altinn 2 WSDLs)", file=sys.stderr)
        return 2
    for path in codegen.generate(reference):
        print(f"wrote {path}")
    return subprocess.call([sys.executable, "-m", "service.tools.wsdl_writer"], cwd=codegen.REPO_ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
