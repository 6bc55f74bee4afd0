"""Pausing Python's cyclic garbage collector while a large page of items is decoded.

A search page of 10,000 items is ~500,000 fresh dicts, lists and strings from `orjson.loads`; while they are
made, the collector's full passes walk all of them again and again (half of such a search's time, measured:
0.39-0.53 s with the collector, 0.18-0.20 s without). Decoded JSON holds no reference cycles, so those passes
find nothing. The pause is process-wide (the collector is), so it is counted: overlapping pauses from several
threads end together, and a collector the process had disabled itself stays disabled. Under a load that
keeps some pause open all the time, a pause that ends after the collector has been off for MAX_PAUSE_S runs
one collection, so cyclic garbage made elsewhere meanwhile is still freed.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused", "MAX_PAUSE_S"]

MAX_PAUSE_S = 2.0
"""The longest the collector stays off while pauses overlap, before a pause's end runs one collection."""

_lock = threading.Lock()
_depth = 0
_resume = False
_since = 0.0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off (reference counting still frees everything acyclic)."""
    global _depth, _resume, _since
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            _since = time.monotonic()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        collect = False
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
            elif _depth > 0 and _resume and time.monotonic() - _since >= MAX_PAUSE_S:
                _since, collect = time.monotonic(), True
        if collect:
            gc.collect()
