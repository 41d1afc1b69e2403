"""Store: the synchronous storage API (the bot calls it through AsyncStore).

Every SQL statement of the bot lives in this package, always with bound parameters. Each
public method is one transaction (``BEGIN IMMEDIATE`` when it writes more than one row), and
is marked ``@reads`` or ``@writes``. Time is never read here: each method that needs it takes
``now`` (an aware datetime; stored as UTC ISO text to the second).

Methods return the frozen dataclasses of storage/models.py. sqlite3 errors are re-raised as
StorageError naming the database file.

The methods are grouped by subject in mixins: users.py, chats.py (chats, schedule,
deliveries), answers.py (question messages, hints, attempts, streaks, stats), cards.py (FSRS
cards, review log), reminders.py (evening reminders), interviews.py (mock interviews),
disputes.py (grading disputes), privacy.py (delete/export a user), inbox.py (the durable
inbox of updates), progress.py (/stats, /history, the weekly digest).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from ._base import writes
from ._sql import db_path
from .admin import AdminMixin
from .answers import AnswersMixin
from .chats import ChatsMixin
from .db import BUSY_TIMEOUT_MS, open_db
from .disputes import DisputesMixin
from .errors import StorageError
from .inbox import InboxMixin
from .interviews import InterviewsMixin
from .privacy import PrivacyMixin
from .progress import ProgressMixin
from .reminders import RemindersMixin
from .users import UsersMixin

__all__ = ["Store"]


class Store(ProgressMixin, UsersMixin, ChatsMixin, AnswersMixin, RemindersMixin, InterviewsMixin,
            DisputesMixin, PrivacyMixin, InboxMixin, AdminMixin):
    """The bot's database over one connection; use it from one thread at a time."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.path = db_path(db)

    @classmethod
    def open(cls, path: str | Path, *, verify: bool = True) -> Store:
        """Open (create, check, migrate) the database file read-write; see open_db."""
        return cls(open_db(path, verify=verify))

    @classmethod
    def open_reader(cls, path: str | Path) -> Store:
        """A read-only connection to a database :meth:`open` has prepared: only ``@reads``
        methods work on it (SQLite refuses any write). WAL lets it read while another
        connection writes or waits for a lock."""
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database for reading: {exc}", path) from exc
        return cls(sqlite_utils.Database(conn, execute_plugins=False))

    @writes
    def checkpoint(self) -> tuple[int, int, int]:
        """Copy committed WAL pages into the database file without waiting for readers
        (PRAGMA wal_checkpoint(PASSIVE)): (busy, pages in the WAL, pages copied). SQLite
        already does this by itself every 1,000 WAL pages (wal_autocheckpoint)."""
        busy, log, copied = self._exec("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(log), int(copied)

    def close(self) -> None:
        """Let SQLite refresh its planner statistics, then close."""
        try:
            if not self.db.conn.execute("PRAGMA query_only").fetchone()[0]:
                self.db.execute("PRAGMA optimize")
        except sqlite3.Error:  # housekeeping must not make closing fail
            pass
        self.db.close()
