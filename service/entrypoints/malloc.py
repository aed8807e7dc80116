"""glibc malloc bounds for the delivery worker (issue 17: its RSS stays under 150 MB whatever it sends).

A DPI send of a letter with big attachments allocates buffers of the attachments' size (the zip, the
CMS envelope, the multipart body) on several send threads at once. glibc serves them from one arena
per thread (up to 8 per core), and after the first such buffer is freed it raises its mmap threshold
to that size (the "dynamic" threshold), so later big buffers come from the arenas' heaps, whose freed
memory stays in the process: the worker's RSS grew by about 100 MB delivering letters of 1 MB
(``tests/bench/worker_memory.py``). A fixed threshold keeps every buffer of :data:`MMAP_THRESHOLD`
and more in its own mapping, returned to the system when freed, and :data:`ARENA_MAX` arenas bound
what small allocations keep. ``gunicorn`` gets ``MALLOC_ARENA_MAX`` from ``serve`` (cli.py).

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
MMAP_THRESHOLD = 256 * 1024
ARENA_MAX = 2


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
