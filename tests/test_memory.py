"""Freed memory goes back to the operating system (bot/memory.py)."""

from __future__ import annotations

import platform

from bot import memory


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def test_release_free_memory_returns_freed_heap_pages_on_glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        assert memory.release_free_memory() in (True, False)  # a no-op elsewhere, never an error
        return
    # Many medium-sized objects (malloc'd, below glibc's mmap threshold), then free all but
    # every 50th: the survivors pin the heap's top, so plain free() cannot give the rest back.
    chunks = [bytearray(4000) for _ in range(20_000)]  # ~80 MB
    keep = chunks[::50]
    del chunks
    before = rss_kib()
    assert memory.release_free_memory() is True
    after = rss_kib()
    assert before - after > 20_000, (before, after)  # at least 20 MB of the ~78 MB freed came back
    assert len(keep) == 400


async def test_the_bot_schedules_the_release(run_bot):
    app = await run_bot()
    jobs = app.job_queue.get_jobs_by_name("release-memory")
    assert len(jobs) == 1 and jobs[0].trigger.interval.total_seconds() == memory.TRIM_EVERY


def test_start_up_freezes_what_is_loaded_and_makes_young_collections_rarer_but_still_collects_cycles():
    import gc
    import weakref

    saved = gc.get_threshold()
    try:
        memory.tune_garbage_collector()
        assert gc.get_threshold() == (memory.YOUNG_COLLECTION_EVERY, saved[1], saved[2])
        assert gc.get_freeze_count() > 0  # the modules loaded so far are out of every generation

        class Node:
            pass

        node = Node()
        node.me = node  # a cycle, as a rare path might make
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
