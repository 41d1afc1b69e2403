"""AsyncStore: the Store, called from asyncio without blocking the loop.

sqlite3 (and so sqlite-utils) is synchronous. What can make a call slow is
known: a write that meets another process's write lock waits up to
busy_timeout (5 s); a checkpoint fsyncs the database; a scan or an aggregate
reads many pages. None of that may freeze every chat. Handing every call to
a thread costs more, though: in bench/answer_cost.py the hand-off (a thread
switch, a wake-up of the loop, the GIL going back and forth) was 0.3-0.45 ms
of the ~3 ms an answer cost.

So there are two paths over ONE connection (datasette's single-writer model:
calls never interleave, transactions never nest by accident):

* ``ON_LOOP`` methods — the handful an update needs (a few rows by primary
  key, at most one transaction; tens of microseconds) — run right on the
  event loop with ``busy_timeout = 0``. WAL with ``synchronous=NORMAL``
  does not fsync on commit, and automatic checkpoints are off, so nothing in
  them waits for the disk.
* Everything else, and any ON_LOOP call that meets a lock (SQLITE_BUSY: it
  did nothing, or rolled back, so it is repeated), runs on ONE dedicated
  worker thread with the usual 5 s busy_timeout. So does the WAL checkpoint,
  every ``CHECKPOINT_EVERY`` calls, at most once per ``CHECKPOINT_MIN_INTERVAL``.

While a worker call is queued or running, an ON_LOOP call waits until the
worker is idle: the connection has one user at a time.

A cancelled ``await`` does not cancel the call already running on the
worker; it finishes (or rolls back) as a whole, because each Store method
is one transaction, and the connection stays the worker's until it has.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .db import BUSY_TIMEOUT_MS, StorageError
from .store import Store

log = logging.getLogger(__name__)

# Store methods cheap and bounded enough for the event loop: each reads or writes a few rows by
# key in at most one transaction, so repeating one after SQLITE_BUSY is safe. Scans, aggregates,
# cascading deletes and the daily push's queries stay on the worker.
ON_LOOP = frozenset({
    "seen_update", "answer_context", "record_attempt", "touch_user", "get_user",
    "get_chat", "ensure_chat", "record_question_message", "get_question_message",
    "get_attempt", "hint_used", "mark_hint_used", "get_card", "open_question",
    "active_interview", "advance_interview", "streak_info",
})

# A passive checkpoint (on the worker) every this many calls on the loop. SQLite's own automatic
# checkpoint (every 1,000 WAL pages) would run inside a commit, on the loop, and fsync there. An
# answer writes 3-8 pages, so this keeps the WAL near SQLite's default size.
CHECKPOINT_EVERY = 250
# ... but not more often than this (seconds). Above ~250 calls a second (far beyond Telegram's 30
# messages a second, e.g. a paid broadcast's answers) checkpoints would only come more often, each
# copying the same hot index pages again; the WAL then holds at most this long's writes instead.
CHECKPOINT_MIN_INTERVAL = 1.0


def is_busy(exc: BaseException) -> bool:
    """True if a StorageError (or sqlite3 error) is SQLITE_BUSY: another connection holds the lock."""
    cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
    code = getattr(cause, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class AsyncStore:
    """``await astore.call("record_attempt", ...)`` or simply
    ``await astore.record_attempt(...)``: any public Store method."""

    def __init__(self, store: Store, executor: ThreadPoolExecutor, *, on_loop: frozenset[str] = ON_LOOP,
                 clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._executor = executor
        self._on_loop = on_loop
        self._closed = False
        self._worker_jobs = 0  # queued or running on the worker: the loop must not touch the connection
        self._worker_idle = asyncio.Event()
        self._worker_idle.set()
        self._since_checkpoint = 0
        self._clock = clock  # seconds, for CHECKPOINT_MIN_INTERVAL (the tests pass their own)
        self._checkpointed_at = self._clock()
        self.loop_calls = 0  # how the calls went (the tests read these)
        self.worker_calls = 0
        self.busy_fallbacks = 0

    @classmethod
    async def open(cls, path: str | Path, *, verify: bool = True, on_loop: frozenset[str] = ON_LOOP,
                   clock: Callable[[], float] = time.monotonic) -> "AsyncStore":
        """Open the database on a fresh worker thread. ``on_loop=frozenset()`` sends every call
        to the worker (the design before ON_LOOP; the benchmark's baseline)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        loop = asyncio.get_running_loop()

        def open_store() -> Store:
            store = Store.open(path, verify=verify)
            try:
                store.prepare_for_event_loop()
            except BaseException:
                store.close()
                raise
            return store

        try:
            store = await loop.run_in_executor(executor, open_store)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(store, executor, on_loop=on_loop, clock=clock)

    @property
    def path(self) -> str:
        return self._store.path

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``Store.<method>(*args, **kwargs)`` (on the loop or on the worker, see above)."""
        return await self._submit(method, self._method(method), *args, **kwargs)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = self._method(name)  # AttributeError for non-API names

        @functools.wraps(method)
        async def proxy(*args: Any, **kwargs: Any) -> Any:
            return await self._submit(name, method, *args, **kwargs)

        setattr(self, name, proxy)  # built once per name: __getattr__ is not consulted again
        return proxy

    async def close(self) -> None:
        """Close the connection on the worker, then stop the thread.
        Calls already queued run first. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._on_worker(self._store.close)
        finally:
            self._executor.shutdown(wait=True)

    def _method(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name in ("open", "close", "prepare_for_event_loop", "set_busy_timeout", "checkpoint"):
            raise AttributeError(f"{name!r} is not a Store API method")
        method = getattr(self._store, name, None)
        if not callable(method):
            raise AttributeError(f"Store has no method {name!r}")
        return method

    async def _submit(self, name: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise StorageError("the store is closed", self._store.path)
        if name not in self._on_loop:
            return await self._on_worker(method, *args, **kwargs)
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            now = self._clock()
            if now - self._checkpointed_at >= CHECKPOINT_MIN_INTERVAL:
                self._since_checkpoint = 0
                self._checkpointed_at = now
                await self._on_worker(self._checkpoint)
        # Wait for the worker rather than queue behind it: under steady load a queue on the
        # worker would never drain, and every call would pay the hand-off again.
        while self._worker_jobs:
            await self._worker_idle.wait()
        if self._closed:
            raise StorageError("the store is closed", self._store.path)
        self._since_checkpoint += 1
        try:
            result = method(*args, **kwargs)
        except StorageError as exc:
            if not is_busy(exc):
                raise
            self.busy_fallbacks += 1  # another process writes: wait for it on the worker
            return await self._on_worker(method, *args, **kwargs)
        self.loop_calls += 1
        return result

    async def _on_worker(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.worker_calls += 1
        self._worker_jobs += 1
        self._worker_idle.clear()
        job = self._executor.submit(self._with_busy_timeout, functools.partial(method, *args, **kwargs))
        try:
            return await asyncio.wrap_future(job)
        finally:
            if job.done():  # finished, or cancelled before it started: the connection is free
                self._job_ended()
            else:  # cancelled while running: the connection is the worker's until the call ends
                loop = asyncio.get_running_loop()
                job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._job_ended))

    def _job_ended(self) -> None:
        self._worker_jobs -= 1
        if not self._worker_jobs:
            self._worker_idle.set()

    def _with_busy_timeout(self, call: Callable[[], Any]) -> Any:
        """On the worker, a locked database is waited for (up to 5 s), as any SQLite client does."""
        store = self._store
        store.set_busy_timeout(BUSY_TIMEOUT_MS)
        try:
            return call()
        finally:
            try:
                store.set_busy_timeout(0)
            except sqlite3.ProgrammingError:  # the call was close()
                pass

    def _checkpoint(self) -> None:
        try:
            self._store.checkpoint()
        except StorageError as exc:  # a checkpoint that cannot run now runs next time
            log.warning("WAL checkpoint failed: %s", exc)
