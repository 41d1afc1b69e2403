"""Housekeeping: give memory the process has freed back to the system.

glibc's allocator keeps freed memory inside the process unless it sits at the top of a heap, and
each thread that allocates gets its own arena: the storage threads, the charts thread (a picture
is several megabytes of buffers) and the event loop. A bot handling a stream of differently sized
work leaves free holes in all of them, and its resident memory (RSS) creeps up while its live
data does not. `malloc_trim(0)` once a minute hands those pages back (this session's soak without
it: RSS rising from 150 to 235 MiB in ten minutes; docs/BENCHMARKS.md, soak). It takes a few
milliseconds, and does nothing where there is no glibc (macOS, musl, Windows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

from ..context import TutorContext

TRIM_EVERY = 60.0  # seconds


@cache
def malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where there is none."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_free_memory() -> bool:
    """Return freed heap pages to the system; True if glibc's malloc_trim ran."""
    trim = malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def trim_memory(context: TutorContext) -> None:
    """JobQueue callback, once a minute."""
    release_free_memory()

