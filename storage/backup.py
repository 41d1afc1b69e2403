"""A consistent copy of the live database, and read-only looks at a database file.

The owner's tools (``tutor-bot backup``, ``tutor-bot doctor``, ``content disputes``,
``export-reviews``) run beside the bot, often from another directory. So nothing here may
create a database (a mistyped path would otherwise yield an empty file and a cheerful
"0 reviews"), and nothing here writes to the source.

This module uses :mod:`sqlite3` directly rather than :class:`storage.store.Store`: opening a
Store migrates the file, which a backup or a health check must never do.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
# Pages copied per step of the online backup: 1024 pages of 4 KiB is 4 MiB, so progress
# is reported a few times a second on a slow disk and the copy never holds the GIL long.
PAGES_PER_STEP = 1024

Progress = Callable[[int, int], None]
"""Called after each backup step with (pages copied so far, total pages)."""


class DatabaseProblem(Exception):
    """A problem the owner must fix, as one line that names the path, with the exit code a
    command should end with: 2 for a bad argument (missing file, unusable target),
    1 for a bad database (corrupt, not this bot's)."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)


class MissingDatabase(DatabaseProblem):
    """The database file does not exist (or is empty): a tool that only reads must say so
    rather than create one."""

    exit_code = 2


class CorruptDatabase(DatabaseProblem):
    """The file is not a SQLite database, or fails ``PRAGMA integrity_check``."""

    exit_code = 1


class BadTarget(DatabaseProblem):
    """The backup target cannot be written, or writing it would destroy something."""

    exit_code = 2


@dataclass(frozen=True)
class BackupResult:
    path: Path
    pages: int
    bytes: int
    seconds: float
    schema_version: int


def require_database(path: str | Path) -> Path:
    """``path`` as an absolute path if it holds a non-empty file; MissingDatabase otherwise.

    An empty file counts as missing: SQLite treats it as an empty database, and the bot
    would only have created it by accident.
    """
    path = Path(path).absolute()
    if not path.exists():
        raise MissingDatabase(f"no database at {path} (set TUTOR_DB or --db to the bot's database file)")
    if not path.is_file():
        raise MissingDatabase(f"{path} is not a file (set TUTOR_DB or --db to the bot's database file)")
    if path.stat().st_size == 0:
        raise MissingDatabase(f"the database at {path} is empty (set TUTOR_DB or --db to the bot's database file)")
    return path


def connect_existing(path: str | Path) -> sqlite3.Connection:
    """Connect to an existing database file without ever creating one.

    ``mode=rw`` rather than ``mode=ro``: both refuse a missing file, but a read-only
    connection cannot remove the ``-wal`` and ``-shm`` files it creates when it is the last
    to close, so a look at a stopped bot's database would leave them behind. Callers only
    read; the header is checked first so a non-SQLite file is reported, not opened.
    """
    path = require_database(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseProblem(f"cannot read {path}: {exc.strerror}") from None
    if head != SQLITE_MAGIC:
        raise CorruptDatabase(f"{path} is not a SQLite database")
    uri = "file:" + urllib.parse.quote(str(path)) + "?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"cannot open {path}: {exc}") from None
    return conn


def integrity_problems(conn: sqlite3.Connection, limit: int = 3) -> list[str]:
    """What ``PRAGMA integrity_check`` finds (at most ``limit`` lines); [] for a sound file.

    A file too damaged to be read at all is reported as one problem instead of raising.
    """
    try:
        rows = conn.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    # A problem can span lines ("*** in database main ***\nOn tree page ..."): one line each.
    problems = [" ".join(str(row[0]).split()) for row in rows]
    return [] if problems == ["ok"] else problems


def schema_version(conn: sqlite3.Connection) -> int:
    """The migration steps applied to the file (storage/migrations.py keeps it in
    ``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def application_id(conn: sqlite3.Connection) -> int:
    """The file's SQLite application_id (0 for an unmarked file): which program it belongs to."""
    return int(conn.execute("PRAGMA application_id").fetchone()[0])


@dataclass(frozen=True, slots=True)
class DatabaseFacts:
    """What `tutor-bot doctor` reports of a database file, read in one short connection."""

    integrity_problems: list[str]
    schema_version: int
    application_id: int


def inspect_database(path: Path) -> DatabaseFacts:
    """Integrity, schema version and application id of an existing file, nothing created or
    changed; raises `MissingDatabase` or `DatabaseProblem` like `connect_existing`."""
    conn = connect_existing(path)
    try:
        problems = integrity_problems(conn)
        if problems:
            return DatabaseFacts(problems, 0, 0)
        return DatabaseFacts([], schema_version(conn), application_id(conn))
    finally:
        conn.close()


def code_schema_version() -> int:
    """The schema version this code migrates a database to."""
    from .migrations import MIGRATIONS

    return len(MIGRATIONS)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _check_target(source: Path, target: Path) -> Path:
    """The file to write: ``target`` itself, or a time-stamped name inside it if it is a
    directory. Refuses the live database (and its -wal/-shm/-journal files) and any existing
    file that is not a SQLite database: replacing an older backup is fine, replacing
    someone's document with a database is not."""
    target = target.absolute()
    if target.is_dir():
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = target / f"{source.stem}-{stamp}.db"
    directory = target.parent
    if not directory.exists():
        raise BadTarget(f"cannot write the backup: the directory {directory} does not exist")
    if not directory.is_dir():
        raise BadTarget(f"cannot write the backup: {directory} is not a directory")
    live = [source] + [source.with_name(source.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    if any(_same_file(target, path) for path in live if path.exists()) or target in live:
        raise BadTarget(f"refusing to overwrite the live database {source}; give another path")
    if target.exists():
        if not target.is_file():
            raise BadTarget(f"cannot write the backup: {target} exists and is not a file")
        with target.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        if head and head != SQLITE_MAGIC:
            raise BadTarget(f"refusing to overwrite {target}: it exists and is not a SQLite database")
    return target


def backup_database(
    source: str | Path,
    target: str | Path,
    *,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy the database at ``source`` to ``target`` while the bot keeps running.

    SQLite's online backup API copies page by page. The source connection holds one read
    transaction for the whole copy: in WAL mode that pins a snapshot, so the copy is
    consistent and the bot's writes go on beside it (without it, every write by the bot
    between two steps would restart the copy from the first page). The copy is written to
    a temporary file in the target directory, checked with ``PRAGMA integrity_check``
    (which also checks the source, since the pages are the same), switched from WAL to a
    rollback journal so it is one self-contained file, synced, and only then renamed over
    ``target``: an interrupted or failed backup never leaves a half-written file under the
    backup's name, and never replaces a good older backup.
    """
    source = require_database(source)
    target = _check_target(source, Path(target))
    started = time.monotonic()
    src = connect_existing(source)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            dst = sqlite3.connect(str(tmp), isolation_level=None)
            dst.execute("PRAGMA user_version").fetchone()  # creates the file: fails here if unwritable
        except (sqlite3.Error, OSError) as exc:
            raise BadTarget(f"cannot write the backup in {target.parent}: {exc}") from None
        try:
            _copy(src, dst, source, target.parent, pages_per_step, progress)
            problems = integrity_problems(dst)
            if problems:
                raise CorruptDatabase(
                    f"the database at {source} is corrupt ({'; '.join(problems)}); no backup written; "
                    "restore the newest good backup")
            version = schema_version(dst)
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_directory(target.parent)
    except OSError as exc:
        raise BadTarget(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    finally:
        src.close()
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal"), tmp.with_name(tmp.name + "-wal")):
            leftover.unlink(missing_ok=True)
    return BackupResult(target, pages, target.stat().st_size, time.monotonic() - started, version)


def _copy(src: sqlite3.Connection, dst: sqlite3.Connection, source: Path, dst_dir: Path,
          pages_per_step: int, progress: Progress | None) -> None:
    def step(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    try:
        src.execute("BEGIN")
        # The first read takes the snapshot; backup steps then read inside this transaction.
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        src.backup(dst, pages=pages_per_step, progress=step)
    except sqlite3.DatabaseError as exc:
        raise backup_step_problem(exc, source, dst_dir) from None
    finally:
        if src.in_transaction:
            src.execute("COMMIT")


def backup_step_problem(exc: sqlite3.DatabaseError, source: Path, dst_dir: Path) -> DatabaseProblem:
    """The owner's problem behind a failed backup step, by SQLite's error code: a full target
    disk is not a corrupt database, and a database still locked is neither."""
    code = getattr(exc, "sqlite_errorname", "")
    if code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or not isinstance(exc, sqlite3.OperationalError):
        return CorruptDatabase(f"the database at {source} is corrupt ({exc}); no backup written; "
                               "restore the newest good backup")
    if code == "SQLITE_FULL":
        return BadTarget(f"no space left in {dst_dir} for the backup ({exc})")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseProblem(f"the database at {source} stayed locked ({exc}); try again")
    return DatabaseProblem(f"the backup of {source} failed: {exc}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    """Make the rename durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
