"""Give memory that Python has freed back to the operating system, now and then.

glibc's allocator keeps freed memory inside the process unless it sits at the very top of the
heap. A bot that handles a stream of differently sized messages (a 4,096-character answer, a
short /help, JSON bodies of every size) leaves free holes all through the heap, and its resident
memory (RSS) creeps up although the live data does not grow: in bench/soak.py, Python's own
allocated block count stayed flat while RSS rose about 16 MiB an hour, and one `malloc_trim(0)`
gave 1.5–3 MiB back at once (docs/RELIABILITY.md, soak). So a JobQueue job calls it every
`TRIM_EVERY` seconds. It takes 0–3 ms, and it is a no-op where there is no glibc (macOS, musl,
Windows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from functools import cache

from telegram.ext import ContextTypes

log = logging.getLogger(__name__)

TRIM_EVERY = 60.0  # seconds: a trim takes 0–3 ms, so once a minute costs nothing and keeps RSS close to the live data
# Net new container objects between two young garbage collections (Python's default: 700).
YOUNG_COLLECTION_EVERY = 10_000


def tune_garbage_collector() -> None:
    """Set Python's garbage collector up for a long-running bot; called once, after start-up.

    * Everything loaded so far (the question bank, the modules) lives as long as the process:
      frozen, it is never traversed again by a full collection.
    * The bot's steady state makes no reference cycles: an update's objects, and (since
      bot/http.py unlinks httpx's response from its stream) each API call's, are freed by
      reference counting. Python's young collections (every 700 net new objects) then walk live
      objects to find nothing: 40 a second at full load, which with the older generations'
      cost 0.025 ms of each answer's 2 ms (bench/answer_cost.py). At 10,000 a burst, such as one
      parsed getUpdates batch, still triggers one, and a cycle made on a rare path is still
      collected, a little later.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, older, oldest)


@cache
def _malloc_trim():
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
    return trim


def release_free_memory() -> bool:
    """Return freed heap pages to the OS; True if glibc's malloc_trim ran."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def trim_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback."""
    release_free_memory()
