"""The storage exceptions: one type for the bot to catch, each message naming the database."""

from __future__ import annotations

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
