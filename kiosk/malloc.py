"""How the C allocator hands memory back: full-screen buffers go back to the system when they are freed.

A 1080p frame is an 8 MB buffer, made and freed every slide (surfaces, textures on SDL's software
renderer, Pillow's images while pictures are prepared). glibc's malloc serves buffers above its mmap
threshold with mmap, but raises that threshold to the size of each such buffer freed: from the second
slide on, frames come from the heap, and its fragments stay resident (measured: 10 to 15 MB more at
steady state). Fixing the threshold keeps every buffer of BIG_BYTES or more an mmap of its own, unmapped
when freed. Below it (a download's 1 MB chunks, text lines, Python's objects) nothing changes: those
are reused from the heap without a page fault each. Not glibc (musl), or no libc to ask: nothing done.
"""

from __future__ import annotations

import ctypes
import ctypes.util

BIG_BYTES = 4 * 1024 * 1024
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def return_big_buffers() -> bool:
    """Set once at start (`kiosk run`); True when glibc took the setting."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # A fixed trim threshold too (setting either one stops glibc adjusting both): the top of the heap is
    # given back once 2 x BIG_BYTES of it are free.
    return bool(mallopt(M_MMAP_THRESHOLD, BIG_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * BIG_BYTES))
