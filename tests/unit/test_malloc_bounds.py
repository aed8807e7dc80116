"""The delivery worker's malloc bounds (service/entrypoints/malloc.py): glibc accepts them."""

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
