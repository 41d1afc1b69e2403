"""Opening the SQLite file safely, errors, and write transactions.

One bad file must never be made worse: before anything is written, the file
is checked (SQLite header, readable schema, known application and schema
version, optionally ``PRAGMA quick_check``). A file that fails any check is
reported with a :class:`StorageError` naming its path and left byte-for-byte
as it was.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import sqlite_utils

from .schedule import as_utc

BUSY_TIMEOUT_MS = 5000
# PRAGMA application_id marks the file as ours ("DLTB"), so the bot refuses
# to migrate some other program's SQLite database it was pointed at by mistake.
APPLICATION_ID = 0x444C5442
_SQLITE_MAGIC = b"SQLite format 3\x00"


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


def open_db(path: str | Path, *, verify: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the bot's database.

    ``check_same_thread=False`` because the connection is created by one
    thread and then used by AsyncStore from the loop and its worker thread. WAL lets
    readers (a backup, the bench, a debugging shell) run beside the writer;
    ``busy_timeout`` makes a second writer wait up to 5 s instead of failing;
    ``foreign_keys`` is off by default in SQLite and the cascades that make
    deleting a user simple depend on it. ``synchronous=NORMAL`` is the
    documented WAL setting: commits survive an application crash, and a
    power cut can lose only the last few transactions, never corrupt the file.
    ``verify=False`` skips the full ``quick_check`` scan (seconds on a
    multi-GB file) but keeps the header, schema and version checks.
    """
    path = Path(path)
    _check_header(path)
    try:
        conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database ({exc}); does the directory exist "
                           "and is it writable?", path) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_contents(conn, path, verify)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.enable_wal()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
            raise StorageError("this SQLite build cannot enforce foreign keys", path)
        from .migrations import migrate  # migrations imports this module

        migrate(db)
        return db
    except StorageError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"cannot open database: {exc}", path) from exc


def _check_header(path: Path) -> None:
    """Reject anything that is not an empty file or a SQLite 3 file, by
    reading its first bytes only."""
    if not path.exists():
        return
    if not path.is_file():
        raise StorageError("database path exists but is not a regular file", path)
    try:
        with path.open("rb") as handle:
            head = handle.read(100)
    except OSError as exc:
        raise StorageError(f"cannot read database file: {exc}", path) from exc
    if head and (len(head) < 100 or not head.startswith(_SQLITE_MAGIC)):
        raise StorageError("file is not a SQLite database; it was left untouched", path)


def _check_contents(conn: sqlite3.Connection, path: Path, verify: bool) -> None:
    """Read-only checks done before the first write (WAL switch, migration)."""
    from .migrations import MIGRATIONS

    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = conn.execute("PRAGMA quick_check").fetchall() if verify else [("ok",)]
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"database file is corrupt or not a SQLite database ({exc}); "
                           "it was left untouched", path) from exc
    if problems != [("ok",)]:
        detail = "; ".join(str(row[0]) for row in problems[:3])
        raise StorageError(f"database file is corrupt ({detail}); it was left untouched; "
                           "restore a backup", path)
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise StorageError("this SQLite file belongs to another application "
                           f"(application_id={app_id}, tables={tables[:5]}); refusing to "
                           "modify it", path)
    if version > len(MIGRATIONS):
        raise SchemaTooNew(
            f"database schema version {version} is newer than this code supports "
            f"({len(MIGRATIONS)}); upgrade the bot (or restore a backup made by this "
            "version). The file was not modified", path)


def db_path(db: sqlite_utils.Database) -> str:
    """The file behind a connection, for error messages."""
    for _, name, file in db.conn.execute("PRAGMA database_list"):
        if name == "main":
            return file or ":memory:"
    return "?"


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """All-or-nothing write block using ``BEGIN IMMEDIATE``.

    sqlite-utils' ``db.atomic()`` issues a deferred ``BEGIN``: the write lock
    is then taken at the first write, and a transaction that read first can
    fail at once with SQLITE_BUSY (the busy timeout does not apply to that
    upgrade) when another connection committed in between. ``BEGIN
    IMMEDIATE`` takes the write lock up front, where ``busy_timeout`` waits.
    Nested use falls back to ``db.atomic()`` (a savepoint).
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601 text to the second ('2025-03-30T01:00:00Z').

    It sorts lexically in time order, so SQL compares instants as text, and
    stays readable in a SQLite shell. Seconds are enough (Telegram's own
    timestamps are whole seconds) and the 12 bytes saved per instant matter:
    a daily answer writes seven of them, counting indexes.
    """
    # isoformat pads the year to four digits (strftime's %Y does not, for years < 1000) and
    # is faster: a graded answer formats seven instants.
    return as_utc(moment).isoformat(timespec="seconds")[:19] + "Z"


def whole_second(moment: datetime) -> datetime:
    """``moment`` in UTC, truncated to the second, i.e. exactly as stored."""
    return as_utc(moment).replace(microsecond=0)


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def day_text(day: date | str) -> str:
    """'YYYY-MM-DD' from a date or an already formatted (validated) string."""
    if isinstance(day, datetime):
        raise TypeError(f"expected a local date, got the datetime {day!r}")
    return day.isoformat() if isinstance(day, date) else date.fromisoformat(day).isoformat()
