"""AsyncStore: the Store, called from asyncio without blocking the loop.

sqlite3 (and so sqlite-utils) is synchronous: a commit waits for the disk,
and a write that meets another process's lock waits up to busy_timeout
(5 s). Doing that on the event loop would freeze every chat. So every call
runs on ONE dedicated worker thread that opens and owns the connection
(datasette's single-writer model): calls are serialised in arrival order,
transactions never interleave, and no locking is needed in Store itself.

A cancelled ``await`` does not cancel the call already running on the
worker; it finishes (or rolls back) as a whole, because each Store method
is one transaction.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .db import StorageError
from .store import Store


class AsyncStore:
    """``await astore.call("record_attempt", ...)`` or simply
    ``await astore.record_attempt(...)``: any public Store method."""

    def __init__(self, store: Store, executor: ThreadPoolExecutor):
        self._store = store
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path, *, verify: bool = True) -> "AsyncStore":
        """Open the database on a fresh worker thread (which then owns it)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        loop = asyncio.get_running_loop()
        try:
            store = await loop.run_in_executor(
                executor, functools.partial(Store.open, path, verify=verify))
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(store, executor)

    @property
    def path(self) -> str:
        return self._store.path

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``Store.<method>(*args, **kwargs)`` on the worker thread."""
        return await self._submit(self._method(method), *args, **kwargs)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = self._method(name)  # AttributeError for non-API names

        @functools.wraps(method)
        async def proxy(*args: Any, **kwargs: Any) -> Any:
            return await self._submit(method, *args, **kwargs)

        return proxy

    async def close(self) -> None:
        """Close the connection on its own thread, then stop the thread.
        Calls already queued run first. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._store.close)
        finally:
            self._executor.shutdown(wait=True)

    def _method(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name in ("open", "close"):
            raise AttributeError(f"{name!r} is not a Store API method")
        method = getattr(self._store, name, None)
        if not callable(method):
            raise AttributeError(f"Store has no method {name!r}")
        return method

    async def _submit(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise StorageError("the store is closed", self._store.path)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(method, *args, **kwargs))
