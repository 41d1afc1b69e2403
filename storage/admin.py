"""What the bot's owner sees and sends: the `/admin` overview and `/announce` broadcasts.

An announcement is stored with its recipients before the first message goes out: every active,
subscribed chat at the moment the owner confirms gets a `pending` row. Sending moves each row
to `sent` (with its message id) or to a final state once; a restart resumes the `pending` rows,
so an interrupted announcement finishes and no chat gets it twice — except the one crash window
every send has (Telegram took the message, the process died before the row was written).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._base import Row, StoreBase, reads, writes
from ._rows import instant, maybe_instant
from ._sql import iso
from .migrations import ANNOUNCE_STATES


@dataclass(frozen=True, slots=True)
class AdminOverview:
    users: int
    chats: int  # active, subscribed
    active_today: int  # learners with an answer in the last 24 hours
    active_week: int
    answers_per_day: tuple[tuple[str, int], ...]  # (UTC date, answers), the last 7 days
    pushes_sent_today: int
    pushes_failed_today: int
    pushes_pending: int
    open_disputes: int
    inbox_pending: int
    db_bytes: int
    wal_bytes: int


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    text: str
    created_by: int
    created_at: datetime
    confirmed_at: datetime | None
    finished_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None


@dataclass(frozen=True, slots=True)
class AnnouncementProgress:
    pending: int
    sent: int
    failed: int  # blocked, failed or fate unknown

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.failed


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class AdminMixin(StoreBase):
    @reads
    def admin_overview(self, now: datetime) -> AdminOverview:
        """The figures of `/admin`, in one snapshot."""
        day, week = iso(now - timedelta(days=1)), iso(now - timedelta(days=7))
        today = now.date().isoformat()
        count = self._scalar
        per_day = self._exec(
            """SELECT substr(answered_at, 1, 10) AS day, COUNT(*) FROM attempts
               WHERE answered_at >= ? AND revealed = 0 GROUP BY day ORDER BY day""",
            (week,),
        ).fetchall()
        return AdminOverview(
            users=int(count("SELECT COUNT(*) FROM users")),
            chats=int(count("SELECT COUNT(*) FROM chats WHERE status = 'active' AND subscribed = 1")),
            active_today=int(count("SELECT COUNT(DISTINCT user_id) FROM attempts WHERE answered_at >= ?", (day,))),
            active_week=int(count("SELECT COUNT(DISTINCT user_id) FROM attempts WHERE answered_at >= ?", (week,))),
            answers_per_day=tuple((str(d), int(n)) for d, n in per_day),
            pushes_sent_today=int(count(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'sent' AND substr(sent_at, 1, 10) = ?", (today,))),
            pushes_failed_today=int(count(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'failed' AND substr(claimed_at, 1, 10) = ?", (today,))),
            pushes_pending=int(count("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'")),
            open_disputes=int(count("SELECT COUNT(*) FROM disputes WHERE status = 'open'")),
            inbox_pending=int(count("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL")),
            db_bytes=_size(self.path),
            wal_bytes=_size(self.path + "-wal"),
        )

    # ---- announcements -------------------------------------------------------

    @writes
    def create_announcement(self, text: str, created_by: int, now: datetime) -> Announcement:
        """A draft: shown to the owner as a preview, sent to nobody until confirmed."""
        cursor = self._exec(
            "INSERT INTO announcements (text, created_by, created_at) VALUES (?, ?, ?)",
            (text, created_by, iso(now)),
        )
        return self._announcement(int(cursor.lastrowid or 0))

    @writes
    def confirm_announcement(self, announcement_id: int, progress_chat_id: int, progress_message_id: int,
                             now: datetime) -> AnnouncementProgress | None:
        """Fix the recipients (every active, subscribed chat now) in one transaction; None if the
        announcement does not exist or was confirmed already (a double press)."""
        with self._tx():
            row = self._one("SELECT confirmed_at FROM announcements WHERE id = ?", (announcement_id,))
            if row is None or row["confirmed_at"] is not None:
                return None
            self._exec(
                """UPDATE announcements SET confirmed_at = ?, progress_chat_id = ?, progress_message_id = ?
                   WHERE id = ?""",
                (iso(now), progress_chat_id, progress_message_id, announcement_id),
            )
            self._exec(
                """INSERT INTO announcement_sends (announcement_id, chat_id, state)
                   SELECT ?, chat_id, 'pending' FROM chats WHERE status = 'active' AND subscribed = 1""",
                (announcement_id,),
            )
            return self._progress(announcement_id)

    @reads
    def get_announcement(self, announcement_id: int) -> Announcement | None:
        row = self._one("SELECT * FROM announcements WHERE id = ?", (announcement_id,))
        return self._to_announcement(row) if row is not None else None

    @reads
    def unfinished_announcements(self) -> list[Announcement]:
        """Confirmed announcements still going out (resumed on start)."""
        return [self._to_announcement(row) for row in self._all(
            "SELECT * FROM announcements WHERE confirmed_at IS NOT NULL AND finished_at IS NULL ORDER BY id")]

    @reads
    def pending_announcement_chats(self, announcement_id: int, limit: int = 100) -> list[int]:
        return [int(r[0]) for r in self._exec(
            """SELECT chat_id FROM announcement_sends WHERE announcement_id = ? AND state = 'pending'
               ORDER BY chat_id LIMIT ?""",
            (announcement_id, limit),
        ).fetchall()]

    @writes
    def mark_announcement_send(self, announcement_id: int, chat_id: int, state: str, now: datetime,
                               message_id: int | None = None) -> bool:
        """Move one recipient out of `pending` (once); True if it was pending."""
        if state not in ANNOUNCE_STATES or state == "pending":
            raise ValueError(f"state must be one of {', '.join(ANNOUNCE_STATES[1:])}; got {state!r}")
        return self._exec(
            """UPDATE announcement_sends SET state = ?, message_id = ?, at = ?
               WHERE announcement_id = ? AND chat_id = ? AND state = 'pending'""",
            (state, message_id, iso(now), announcement_id, chat_id),
        ).rowcount > 0

    @writes
    def finish_announcement(self, announcement_id: int, now: datetime) -> AnnouncementProgress:
        self._exec("UPDATE announcements SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                   (iso(now), announcement_id))
        return self._progress(announcement_id)

    @reads
    def announcement_progress(self, announcement_id: int) -> AnnouncementProgress:
        return self._progress(announcement_id)

    def _progress(self, announcement_id: int) -> AnnouncementProgress:
        counts = dict(self._exec(
            "SELECT state, COUNT(*) FROM announcement_sends WHERE announcement_id = ? GROUP BY state",
            (announcement_id,),
        ).fetchall())
        sent, pending = int(counts.get("sent", 0)), int(counts.get("pending", 0))
        failed = sum(int(n) for state, n in counts.items() if state not in ("sent", "pending"))
        return AnnouncementProgress(pending=pending, sent=sent, failed=failed)

    def _announcement(self, announcement_id: int) -> Announcement:
        row = self._require(self._one("SELECT * FROM announcements WHERE id = ?", (announcement_id,)),
                            f"announcement {announcement_id}")
        return self._to_announcement(row)

    @staticmethod
    def _to_announcement(row: Row) -> Announcement:
        return Announcement(
            id=int(row["id"]), text=str(row["text"]), created_by=int(row["created_by"]),
            created_at=instant(row["created_at"]), confirmed_at=maybe_instant(row["confirmed_at"]),
            finished_at=maybe_instant(row["finished_at"]), progress_chat_id=row["progress_chat_id"],
            progress_message_id=row["progress_message_id"],
        )
