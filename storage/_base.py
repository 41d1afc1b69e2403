"""Shared plumbing for the Store mixins: query helpers and error wrapping."""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Any, Callable, Iterable, TypeVar

import sqlite_utils

from .db import NotFound, StorageError, write_transaction

F = TypeVar("F", bound=Callable[..., Any])

_BOOL_COLUMNS = {"subscribed", "used_hint", "revealed", "reminders"}
_JSON_COLUMNS = {"matched", "missed", "question_ids"}


def guarded(method: F) -> F:
    """Re-raise sqlite3 errors as StorageError naming the database file, so
    the bot catches one exception type and the log says which file."""

    @functools.wraps(method)
    def wrapper(self: "StoreBase", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StorageError(f"{method.__name__} failed: {exc}", self.path) from exc

    return wrapper  # type: ignore[return-value]


def to_dict(keys: list[str], row: tuple) -> dict:
    """A row as a plain dict: 0/1 flags become bools, JSON lists are parsed."""
    out = dict(zip(keys, row))
    for key in _BOOL_COLUMNS:
        value = out.get(key)
        if value is not None:
            out[key] = bool(value)
    for key in _JSON_COLUMNS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = json.loads(value)
    return out


class StoreBase:
    """Helpers every mixin uses; ``db`` and ``path`` are set by Store."""

    db: sqlite_utils.Database
    path: str

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        # sqlite-utils' Database.execute is this call plus an optional tracer the store does not
        # set; an answer runs about fifteen statements, so the wrapper is skipped.
        return self.db.conn.execute(sql, params if isinstance(params, tuple) else tuple(params))

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        cursor = self._exec(sql, params)
        keys = [column[0] for column in cursor.description]
        return [to_dict(keys, row) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Iterable[Any] = ()) -> dict | None:
        cursor = self._exec(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return to_dict([column[0] for column in cursor.description], row)

    def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = self._exec(sql, params).fetchone()
        return row[0] if row else None

    def _tx(self):
        return write_transaction(self.db)

    def _require(self, row: dict | None, what: str) -> dict:
        if row is None:
            raise NotFound(f"{what} does not exist", self.path)
        return row
