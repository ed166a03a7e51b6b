"""glibc's allocator set for a process that holds a few big images at a time.

By default glibc gives every thread that allocates its own arena (up to 8 per core), and
serves a block of a size it has recently freed from those arenas' heaps instead of the
system. An HD image passes through several threads (download, check, preview, upload): the
memory its 13 MB blocks leave behind stays in whichever arena had them, and the peak grows
with the number of arenas rather than with what is held. Two arenas, and blocks of 8 MiB and
more (HD results, their base64 answers, big input files) always mapped from the system and
given back when freed, keep the peak at what the bot holds (`python -m bench --only hd`: 10
square 4K results in flight, about 365 -> 250 MiB).

Smaller blocks (standard results of 1-2 MB, previews, bodies) come from the heap, which
keeps up to 32 MiB of freed memory at its top for the next request instead of handing it
back: a fresh block costs a page fault per 4 KB, which made a 1 MB copy ten times slower
than into reused memory (0.55 ms against 0.05 ms here), and was two thirds of the bot's
system time per request at a 1 MiB mapping threshold.

The operator's own `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_`
wins; elsewhere than on glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

#: mallopt(3) parameters.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 8 * 1024 * 1024
TRIM_THRESHOLD = 32 * 1024 * 1024


def tune() -> None:
    """Set the arenas and the thresholds, before the process starts its threads."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl, macOS): its allocator has no such settings
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(M_ARENA_MAX, ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
