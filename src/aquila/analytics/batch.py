"""Process settings for a one-shot job over a large scene (the `detect`/`analyze` commands), set before it starts.

The detector allocates and frees about half a gigabyte per tile. glibc hands blocks that large back to the
kernel at once (mmap/munmap), so every tile faults its memory in again and the kernel zeroes each page:
measured, 30-40 % of the CPU of `aquila detect ships` went there (perf: `clear_page_erms`). Keeping freed
memory in the process (no mmap for large blocks, no trimming, one arena shared by the worker threads)
lets the next tile reuse it: a 419 MPix scene went from 20.0 to 14.9 s, system time from 13.5 to 3.7 s,
for a peak RSS of 1.7 instead of 1.2 GB. Not for a server answering requests (its memory would stay at
its peak); the pipelines' worker is a process of its own, whose job is this. GDAL's block cache is kept
small (a scene is read once, window by window) and the objects that
exist after start-up are frozen out of the garbage collector's full passes (the detector makes tens of
thousands of small objects).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import platform

__all__ = ["tune_for_batch"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8


def tune_for_batch(gdal_cache_mb: int = 256) -> bool:
    """Apply the settings above to this process; True when the C allocator took them (glibc only)."""
    os.environ.setdefault("GDAL_CACHEMAX", str(gdal_cache_mb))  # read when the first raster is opened
    gc.freeze()
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    ok = libc.mallopt(_M_MMAP_MAX, 0) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(2**31 - 1)) == 1 and ok
    return libc.mallopt(_M_ARENA_MAX, 1) == 1 and ok
