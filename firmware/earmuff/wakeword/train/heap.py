"""Memory in a training: freed heap handed back, large arrays in mappings of their own, file pages let go."""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Sequence

import numpy as np

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's mallopt parameters
# Arrays from 4 MiB up get their own mapping, returned when freed. Left to glibc, the threshold rises to the largest
# block freed so far and later ones fill a heap that is never given back: the quick model peaked at 206-209 MB, with
# this at 163-171 MB, for 7-8 % more CPU (docs/benchmarks.md, "The speech bank").
MMAP_FROM = 4 << 20


def give_back() -> None:
    """Hand freed memory back to the system (glibc would keep it for reuse); elsewhere nothing changes."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def map_large_arrays() -> None:
    """Large arrays in mappings of their own from here on, given back when freed, and one heap for all threads
    (glibc; elsewhere nothing changes)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_FROM)
        # A heap per thread kept 11 MB more when the fit's networks ran side by side, for no measurable speed.
        libc.mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass


def forget_pages(arrays: Sequence[np.ndarray]) -> None:
    """Drop the pages of arrays mapped from files out of this process (the kernel keeps them cached and reads them
    again when used): otherwise the room bank's chunks count in a refit's memory from its first fit to its end."""
    for a in arrays:
        if isinstance(a.base, mmap.mmap):
            a.base.madvise(mmap.MADV_DONTNEED)
