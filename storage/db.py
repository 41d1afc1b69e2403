"""Opening the SQLite file safely.

One bad file must never be made worse: before anything is written, the file
is checked (SQLite header, readable schema, known application and schema
version, optionally ``PRAGMA quick_check``). A file that fails any check is
reported with a :class:`StorageError` naming its path and left byte-for-byte
as it was.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from ._sql import day_text, db_path, iso, whole_second, write_transaction
from .errors import NotFound, ReadOnlyDatabase, SchemaTooNew, StorageError
from .migrations import APPLICATION_ID, MIGRATIONS, migrate

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_MS", "NotFound", "ReadOnlyDatabase", "SchemaTooNew", "StorageError",
           "day_text", "db_path", "iso", "open_db", "whole_second",
           "write_transaction"]

BUSY_TIMEOUT_MS = 5000
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_CANNOT_WRITE = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM})
_READ_ONLY_HELP = ("the bot must write the file and create its -wal and -shm files next to it: "
                   "check the permissions of the file and its directory, and the mount")
_SQLITE_MAGIC = b"SQLite format 3\x00"


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
    _check_writable(path)
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
        migrate(db)
        return db
    except StorageError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        if _primary_code(exc) in _CANNOT_WRITE:
            raise ReadOnlyDatabase(f"database is read-only ({exc}): {_READ_ONLY_HELP}", path) from exc
        raise StorageError(f"cannot open database: {exc}", path) from exc


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _check_writable(path: Path) -> None:
    """A database this process cannot write is reported as read-only before SQLite is asked:
    SQLite opens such a file read-only without a word, and fails on the first write, or on the
    first read if the -wal and -shm files cannot be created. (As root, permission bits do not
    apply, and os.access says so; a read-only mount applies to root as well.)"""
    if path.exists() and not os.access(path, os.W_OK):
        raise ReadOnlyDatabase(f"database file is read-only: {_READ_ONLY_HELP}", path)
    directory = path.parent
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        raise ReadOnlyDatabase(f"the database's directory is read-only: {_READ_ONLY_HELP}", path)


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
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = conn.execute("PRAGMA quick_check").fetchall() if verify else [("ok",)]
    except sqlite3.DatabaseError as exc:
        code = _primary_code(exc)
        if code in _CANNOT_WRITE:  # issue 18: this was reported as "corrupt"
            raise ReadOnlyDatabase(f"database is read-only ({exc}): {_READ_ONLY_HELP}", path) from exc
        if code is not None and code not in _CORRUPT:
            raise StorageError(f"cannot read database file ({exc})", path) from exc
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


