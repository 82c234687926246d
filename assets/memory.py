"""Hand freed memory back to the OS between the large steps of one in-process run.

A nightly run in one process (the in-process executor, `make bench`) reads a day of ticks
in several steps. Each step frees its frames, but the allocators keep the pages: Arrow's
pool (mimalloc) caches them and glibc's malloc keeps its heap top, so the resident size
only ratchets up and the next large step (the backtest's event arrays) lands on top of
it. Releasing before such a step keeps the peak that step's own, not the sum of the run.
No effect on results; O(1) in trades and snapshots.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

import pyarrow as pa

__all__ = ["release_freed_memory"]


def release_freed_memory() -> None:
    """Collect garbage, then return the allocators' free pages to the OS (Linux glibc;
    elsewhere only the Arrow pool is released)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        trim = ctypes.CDLL(libc_name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return
    trim(0)
