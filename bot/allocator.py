"""glibc's allocator set for a process that holds a few big images at a time.

By default glibc gives every thread that allocates its own arena (up to 8 per core), and
serves a block of a size it has recently freed from those arenas' heaps instead of the
system. An HD image passes through several threads (download, check, preview, upload): the
memory its 13 MB blocks leave behind stays in whichever arena had them, and the peak grows
with the number of arenas rather than with what is held. Two arenas, and blocks of 1 MiB and
more always mapped from the system and given back when freed, keep the peak at what the
bot holds (`python -m bench --only hd`: 10 square 4K results in flight, about 365 -> 275 MiB).

The operator's own `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_` wins; elsewhere than on
glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

#: mallopt(3) parameters.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 1024 * 1024


def tune() -> None:
    """Set the arenas and the mapping threshold, before the process starts its threads."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl, macOS): its allocator has no such settings
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(M_ARENA_MAX, ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
