"""The committed example files are what examples/generate.py writes (edit the generator, then rerun it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _generator():  # noqa: ANN202 - a module loaded from a file
    spec = importlib.util.spec_from_file_location("examples_generate", EXAMPLES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_examples_equal_a_regeneration() -> None:
    gen = _generator()
    expected = {f"requests/{rel}": text for rel, text in gen.example_files().items()}
    expected["requests/README.md"] = gen.readme()
    expected["soapui/innbyggerpost-soapui-project.xml"] = gen.project()
    on_disk = {
        str(p.relative_to(EXAMPLES)): p.read_text(encoding="utf-8")
        for p in [
            *EXAMPLES.glob("requests/**/*.xml"),
            EXAMPLES / "requests/README.md",
            *EXAMPLES.glob("soapui/*.xml"),
        ]
    }
    assert sorted(on_disk) == sorted(expected)
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert not stale, f"regenerate with .venv/bin/python examples/generate.py: {stale}"
