"""AsyncStore: the Store from asyncio, without blocking the event loop.

sqlite3 is synchronous, and what makes a call slow is known: a write that meets another
process's write lock waits up to busy_timeout (5 s); a checkpoint fsyncs the database; a scan
reads many pages. None of that may freeze every chat, so no SQL runs on the event loop.

The model is datasette's: ONE writer thread owns the read-write connection, so writes never
interleave and transactions never nest by accident; and a reader thread owns its own
read-only connection. WAL lets the reader read while the writer waits for a lock another
process holds, so such a lock delays only writes, never /help or any reply that needs none.

Calls name the Store method itself, so mypy checks the arguments and the result, and "go to
definition" lands in the SQL::

    user = await store.read(Store.get_user, 42)
    result = await store.write(Store.record_attempt, user_id=42, ...)

``read`` accepts only methods declared ``@reads`` (the read-only connection would refuse a
write anyway, but later and only on the branch that writes); ``write`` accepts any method.

Cancellation: a cancelled ``await`` either removes the call before it started, or the call
runs to its end on its thread. Each Store method is one transaction, so nothing is left
half-done, and the connection is never shared with a later call mid-way.

The WAL is bounded by SQLite's own ``wal_autocheckpoint`` (1,000 pages, about 4 MB) on the
writer connection: whichever commit crosses it checkpoints, on the writer thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from ._base import access_of
from .db import StorageError
from .store import Store

P = ParamSpec("P")
T = TypeVar("T")


class AsyncStore:
    """The bot's database for async code: ``await store.read(Store.method, ...)`` and
    ``await store.write(Store.method, ...)``. Open with :meth:`open`, end with :meth:`close`."""

    path: str

    def __init__(self, writer: Store, reader: Store, write_thread: ThreadPoolExecutor,
                 read_thread: ThreadPoolExecutor):
        self._writer = writer
        self._reader = reader
        self._write_thread = write_thread
        self._read_thread = read_thread
        self._closed = False
        self.path = writer.path

    @classmethod
    async def open(cls, path: str | Path, *, verify: bool = True) -> AsyncStore:
        """Open (create, check, migrate) the database on the writer thread, then a read-only
        connection to it on the reader thread."""
        loop = asyncio.get_running_loop()
        write_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage-writer")
        read_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage-reader")
        writer: Store | None = None
        try:
            writer = await loop.run_in_executor(
                write_thread, functools.partial(Store.open, path, verify=verify))
            reader = await loop.run_in_executor(read_thread, Store.open_reader, path)
        except BaseException:
            if writer is not None:
                await loop.run_in_executor(write_thread, writer.close)
            write_thread.shutdown(wait=False)
            read_thread.shutdown(wait=False)
            raise
        return cls(writer, reader, write_thread, read_thread)

    async def read(self, method: Callable[Concatenate[Store, P], T], /,
                   *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a ``@reads`` Store method on the reader thread (never waits for a write lock)."""
        if access_of(method) != "read":
            raise TypeError(f"{getattr(method, '__name__', method)!r} is not a read-only Store "
                            "method; use AsyncStore.write")
        return await self._run(self._read_thread, self._reader, method, *args, **kwargs)

    async def write(self, method: Callable[Concatenate[Store, P], T], /,
                    *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a Store method on the writer thread, after the writes queued before it."""
        if access_of(method) is None:
            raise TypeError(f"{getattr(method, '__name__', method)!r} is not a Store API method")
        return await self._run(self._write_thread, self._writer, method, *args, **kwargs)

    async def close(self) -> None:
        """Close both connections after the calls already queued; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._read_thread, self._reader.close)
            await loop.run_in_executor(self._write_thread, self._writer.close)
        finally:
            self._read_thread.shutdown(wait=False)
            self._write_thread.shutdown(wait=False)

    async def _run(self, thread: ThreadPoolExecutor, store: Store,
                   method: Callable[Concatenate[Store, P], T],
                   *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise StorageError("the store is closed", self.path)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(thread, functools.partial(method, store, *args, **kwargs))
