"""Store: the synchronous storage API the bot calls (through AsyncStore).

Every SQL statement of the bot lives in this package, always with bound
parameters. Methods that write more than one row do it in one ``BEGIN
IMMEDIATE`` transaction. Time is never read here: each method that needs
it takes ``now`` (an aware datetime; stored as UTC ISO text).

Rows come back as plain dicts keyed by column name; instants are the stored
UTC ISO strings, 0/1 flags are bools and ``matched`` is a list. sqlite3
errors are re-raised as StorageError naming the database file.

The methods are grouped by subject in mixins: users.py, chats.py (chats,
schedule, deliveries), answers.py (question messages, hints, attempts,
streaks, stats), cards.py (FSRS cards, review log), reminders.py (evening
reminders), interviews.py (mock interviews), disputes.py (grading
disputes), privacy.py (delete/export a user).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from ._base import guarded
from .answers import AnswersMixin, AttemptResult
from .chats import ChatsMixin
from .db import db_path, iso, open_db
from .disputes import DisputesMixin
from .interviews import InterviewsMixin
from .privacy import PrivacyMixin
from .reminders import RemindersMixin
from .users import UsersMixin

__all__ = ["Store", "AttemptResult"]

UPDATE_RETENTION = timedelta(days=2)
PRUNE_EVERY = 1000


class Store(UsersMixin, ChatsMixin, AnswersMixin, RemindersMixin, InterviewsMixin,
            DisputesMixin, PrivacyMixin):
    """The bot's database. One instance owns one connection; use it from one
    thread at a time (AsyncStore shares it between the event loop and one
    worker thread, never both at once)."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.path = db_path(db)
        self._seen_calls = 0

    @classmethod
    def open(cls, path: str | Path, *, verify: bool = True) -> "Store":
        """Open (create, check, migrate) the database file; see open_db."""
        return cls(open_db(path, verify=verify))

    def prepare_for_event_loop(self) -> None:
        """Settings for a connection AsyncStore also uses on the event loop: fail at once
        (SQLITE_BUSY) instead of waiting for another process's lock, and no automatic
        checkpoint inside a commit (it fsyncs); AsyncStore checkpoints on its worker."""
        self.set_busy_timeout(0)
        self.db.execute("PRAGMA wal_autocheckpoint = 0")

    def set_busy_timeout(self, milliseconds: int) -> None:
        """How long a statement waits for another connection's lock before SQLITE_BUSY."""
        self.db.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")

    @guarded
    def checkpoint(self) -> tuple[int, int, int]:
        """Copy committed WAL pages into the database file without waiting for readers
        (PRAGMA wal_checkpoint(PASSIVE)): (busy, pages in the WAL, pages copied)."""
        return tuple(self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())

    def close(self) -> None:
        """Let SQLite refresh its planner statistics, then close."""
        try:
            self.db.execute("PRAGMA optimize")
        except Exception:  # housekeeping must not make closing fail
            pass
        self.db.close()

    @guarded
    def seen_update(self, update_id: int, now: datetime) -> bool:
        """True the first time a Telegram update id is seen, False for a
        re-delivery (Telegram delivers at least once). Ids older than two
        days are pruned on the first call and every 1000th call after.

        One INSERT in autocommit mode (its own transaction): this runs for
        every update, and an explicit BEGIN/COMMIT around one statement
        only adds two round trips into SQLite."""
        if self._seen_calls % PRUNE_EVERY == 0:
            self._exec("DELETE FROM processed_updates WHERE seen_at < ?",
                       (iso(now - UPDATE_RETENTION),))
        self._seen_calls += 1
        return self._exec(
            """INSERT INTO processed_updates (update_id, seen_at) VALUES (?, ?)
               ON CONFLICT (update_id) DO NOTHING""",
            (update_id, iso(now)),
        ).rowcount > 0
