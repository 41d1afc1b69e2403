"""Shared plumbing for the Store mixins: the reads/writes markers, query helpers, error wrapping."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import sqlite_utils

from ._sql import iso, write_transaction
from .errors import NotFound, error_for

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="StoreBase")

Access = Literal["read", "write"]
Row = dict[str, Any]
"""A row as column name → stored value (the mixins turn it into a model)."""

_ACCESS = "__storage_access__"


def reads(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """A Store method that only reads: AsyncStore.read runs it on the read-only connection.
    Its statements see one snapshot (one read transaction), and sqlite3 errors are re-raised
    as StorageError naming the database file."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            with self._snapshot():
                return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise error_for(exc)(f"{method.__name__} failed: {exc}", self.path) from exc

    setattr(wrapper, _ACCESS, "read")
    return wrapper


def writes(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """A Store method that writes (AsyncStore.write only). sqlite3 errors are re-raised as
    StorageError naming the database file, so the bot catches one exception type."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise error_for(exc)(f"{method.__name__} failed: {exc}", self.path) from exc

    setattr(wrapper, _ACCESS, "write")
    return wrapper


def access_of(method: object) -> Access | None:
    """"read" or "write" for a Store API method, None for anything else."""
    value = getattr(method, _ACCESS, None)
    return value if value in ("read", "write") else None


class StoreBase:
    """Helpers every mixin uses; ``db`` and ``path`` are set by Store."""

    db: sqlite_utils.Database
    path: str

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.conn.execute(sql, tuple(params))

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._exec(sql, params)
        keys = [column[0] for column in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = self._exec(sql, params)
        rows = cursor.fetchall()  # to the end: an INSERT ... RETURNING is done only then
        if not rows:
            return None
        return dict(zip([column[0] for column in cursor.description], rows[0], strict=True))

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._exec(sql, params).fetchone()
        return row[0] if row else None

    def _tx(self) -> AbstractContextManager[sqlite_utils.Database]:
        return write_transaction(self.db)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction around a read method's statements (none if already inside
        one), so a method that reads twice never sees a write land in between."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _mark_done(self, update_id: int, now: datetime) -> bool:
        """Mark an inbox update handled and forget its payload (inside the caller's
        transaction when there is one); True if it was pending."""
        return self._exec(
            """UPDATE inbox SET done_at = ?, payload = NULL
               WHERE update_id = ? AND done_at IS NULL""",
            (iso(now), update_id),
        ).rowcount > 0

    def _require(self, row: T | None, what: str) -> T:
        if row is None:
            raise NotFound(f"{what} does not exist", self.path)
        return row
