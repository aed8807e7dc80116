"""The web and delivery processes' malloc bounds (service/entrypoints/malloc.py): glibc accepts them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tests.support.harness import REPO


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_workers_malloc_bounds() -> None:
    code = "from service.entrypoints.malloc import bound_malloc; print(bound_malloc())"
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


def test_the_web_processes_get_the_same_bounds_but_never_over_the_operators() -> None:
    from service.entrypoints.malloc import ARENA_MAX, MMAP_THRESHOLD, environment_defaults

    fresh: dict[str, str] = {}
    environment_defaults(fresh)
    assert fresh == {"MALLOC_ARENA_MAX": str(ARENA_MAX), "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)}
    operators = {"MALLOC_MMAP_THRESHOLD_": "1048576"}
    environment_defaults(operators)
    assert operators["MALLOC_MMAP_THRESHOLD_"] == "1048576"
