"""glibc malloc bounds for the web and delivery processes (issue 17: their RSS stays under 150 MB).

A DPI send of a letter with big attachments allocates buffers of the attachments' size (the zip, the
CMS envelope, the multipart body) on several send threads at once. glibc serves them from one arena
per thread (up to 8 per core), and after the first such buffer is freed it raises its mmap threshold
to that size (the "dynamic" threshold), so later big buffers come from the arenas' heaps, whose freed
memory stays in the process: the worker's RSS grew by about 100 MB delivering letters of 1 MB
(``tests/bench/worker_memory.py``). A fixed threshold keeps every buffer of :data:`MMAP_THRESHOLD`
and more in its own mapping, returned to the system when freed, and :data:`ARENA_MAX` arenas bound
what small allocations keep. The web processes get the same bounds as environment variables
(:func:`environment_defaults`, set by ``serve`` before it execs gunicorn, where glibc reads them at
start-up): a web worker's letter buffers (1-30 MiB) are freed the same way (32 letters of 1 MiB at
once, one worker: peak 161 -> 146 MB, docs/benchmarks.md).

Only where glibc's ``mallopt`` exists, and never over the operator's own ``MALLOC_ARENA_MAX`` /
``MALLOC_MMAP_THRESHOLD_`` (glibc reads those at start).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc malloc.h
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
ARENA_MAX = 2


def environment_defaults(environ: dict[str, str] | os._Environ[str]) -> None:
    """The same bounds for a process about to be exec'd (glibc reads them at start), never over the
    operator's own values."""
    environ.setdefault("MALLOC_ARENA_MAX", str(ARENA_MAX))
    environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))


def bound_malloc() -> bool:
    """Set the fixed mmap threshold and the arena bound in this process; False where not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    done = True
    if "MALLOC_ARENA_MAX" not in os.environ:
        done = bool(mallopt(M_ARENA_MAX, ARENA_MAX)) and done
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and done
    if not done:
        log.warning("mallopt refused the worker's malloc bounds; its memory may grow with big letters")
    return done
