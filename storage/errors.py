"""The storage exceptions: one base type for the bot to catch, each message naming the database.

A sqlite3 error raised inside a Store method becomes the subclass that says what happened
(:func:`error_for`): :class:`DatabaseBusy`, :class:`DiskFull`, :class:`ReadOnlyDatabase`, or
StorageError itself (a constraint failed, the file is damaged, ...)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StorageError(Exception):
    """Any storage failure. The message always names the database path,
    because the operator's first question is "which file?"."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        super().__init__(f"{message} [database: {self.path}]" if path is not None else message)


class SchemaTooNew(StorageError):
    """The file was written by a newer version of the bot. Refusing (and not
    touching the file) is the only safe move: older code cannot know what the
    newer columns mean."""


class NotFound(StorageError):
    """A method was asked to change a user or chat that does not exist."""


class DatabaseBusy(StorageError):
    """Another connection held the write lock for longer than busy_timeout (5 s): nothing was
    written; the same call can simply be made again later."""


class DiskFull(StorageError):
    """SQLite could not grow the file or its WAL (SQLITE_FULL): nothing was written. The bot
    says so once in the log and asks the learner to send the answer again; the next write
    succeeds by itself once there is space again."""


class ReadOnlyDatabase(StorageError):
    """The file, its directory or its mount cannot be written by this process."""


def error_for(exc: sqlite3.Error) -> type[StorageError]:
    """The StorageError subclass a sqlite3 error maps to, by its primary result code."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseBusy
    if primary == sqlite3.SQLITE_FULL:
        return DiskFull
    if primary == sqlite3.SQLITE_READONLY:
        return ReadOnlyDatabase
    return StorageError
