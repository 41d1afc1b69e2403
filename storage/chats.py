"""Chats, their push schedule, and daily deliveries.

``chats.next_push_at`` is the earliest UTC instant at which a chat becomes
due (NULL when unsubscribed or inactive). It is recomputed by every method
that changes what it depends on (settings, status, a claimed delivery), so
``due_chats`` is a single range scan over the partial index ``chats_due``.

Delivery protocol (at-least-once, never twice per local day):
``claim_delivery`` inserts a 'pending' row, unique per (chat, local date),
and moves next_push_at to the next day, so the chat stops being due while
its send is in flight; ``complete_delivery`` marks it 'sent' and records
the question message; ``release_delivery`` drops a claim whose send failed
for good; ``retry_delivery`` drops one whose send failed for now and makes the
chat due again later that day; ``pending_deliveries`` finds claims orphaned by
a crash.
"""

from __future__ import annotations

from datetime import date, datetime

from content.calendar import format_push_time, local_date, next_push_at, parse_tz
from content.calendar import local_date as local_date_of  # where a parameter is named local_date

from . import _rows
from ._base import Row, StoreBase, reads, writes
from ._sql import day_text, iso
from .migrations import CHAT_TYPES
from .models import Chat, Delivery, DueChat
from .users import check_level

_SETTABLE_STATUSES = ("active", "blocked", "left")


class ChatsMixin(StoreBase):
    # ---- chats -------------------------------------------------------------

    @writes
    def ensure_chat(
        self, chat_id: int, type: str, title: str | None, now: datetime,
        default_tz: str, default_push_time: str,
    ) -> Chat:
        """Create the chat on first contact (subscribed, active, scheduled
        with the defaults) or refresh its title; return the row.

        Does not reactivate a blocked chat: that is :meth:`reactivate_chat`,
        called when the user actually writes.
        """
        if type not in CHAT_TYPES:
            raise ValueError(f"chat type must be one of {', '.join(CHAT_TYPES)}; got {type!r}")
        tz, push_time = parse_tz(default_tz), format_push_time(default_push_time)
        with self._tx():
            row = self._chat_row(chat_id)
            if row is None:
                self._exec(
                    """INSERT INTO chats (chat_id, type, title, tz, push_time, level,
                           subscribed, status, next_push_at, created_at)
                       VALUES (?, ?, ?, ?, ?, 'all', 1, 'active', ?, ?)""",
                    (chat_id, type, title, tz, push_time,
                     iso(next_push_at(now, tz, push_time, None)), iso(now)),
                )
            elif title is not None and title != row["title"]:
                self._exec("UPDATE chats SET title = ? WHERE chat_id = ?", (title, chat_id))
            return self._chat(chat_id)

    @reads
    def get_chat(self, chat_id: int) -> Chat | None:
        """The chat, or None."""
        row = self._chat_row(chat_id)
        return _rows.chat(row) if row is not None else None

    @writes
    def reactivate_chat(self, chat_id: int, now: datetime) -> Chat:
        """A blocked/left chat whose user writes again is active again (and
        rescheduled); active and migrated chats are left as they are."""
        with self._tx():
            row = self._existing_chat_row(chat_id)
            if row["status"] in ("blocked", "left"):
                self._exec("UPDATE chats SET status = 'active' WHERE chat_id = ?", (chat_id,))
                self._reschedule(chat_id, now)
            return self._chat(chat_id)

    @writes
    def update_chat_settings(
        self, chat_id: int, now: datetime, *, tz: str | None = None,
        push_time: str | None = None, level: str | None = None,
        subscribed: bool | None = None,
    ) -> Chat:
        """Change any of tz / push time / level / subscription and reschedule.

        Values are validated first (ValueError, nothing written). A push
        time moved later on a day that already had its push does not cause a
        second push that day: deliveries are unique per local date.
        """
        changes: dict[str, object] = {}
        if tz is not None:
            changes["tz"] = parse_tz(tz)
        if push_time is not None:
            changes["push_time"] = format_push_time(push_time)
        if level is not None:
            changes["level"] = check_level(level)
        if subscribed is not None:
            changes["subscribed"] = 1 if subscribed else 0
        with self._tx():
            self._existing_chat_row(chat_id)
            for column, value in changes.items():  # column names are literals above
                self._exec(f"UPDATE chats SET {column} = ? WHERE chat_id = ?", (value, chat_id))
            self._reschedule(chat_id, now)
            return self._chat(chat_id)

    @writes
    def set_chat_status(self, chat_id: int, status: str, now: datetime) -> Chat:
        """Mark a chat 'blocked' (bot blocked / Forbidden), 'left' (bot removed
        from a group) or 'active'. Only active chats have a next_push_at.
        'migrated' is set by :meth:`migrate_chat` only."""
        if status not in _SETTABLE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(_SETTABLE_STATUSES)}; "
                             f"got {status!r}")
        with self._tx():
            self._existing_chat_row(chat_id)
            self._exec("UPDATE chats SET status = ? WHERE chat_id = ?", (status, chat_id))
            self._reschedule(chat_id, now)
            return self._chat(chat_id)

    @writes
    def migrate_chat(self, old_id: int, new_id: int, now: datetime) -> Chat:
        """A group became a supergroup (new chat id): move everything over.

        The new row inherits settings and subscription (a row already created
        for the new id is overwritten with them, title kept); deliveries,
        question messages and, through ON UPDATE CASCADE, attempts and hints
        move to the new id so streaks, leaderboards and "no repeats" survive;
        so do interviews (and, through attempts, disputes).
        Moved message ids are negated: the old group's messages cannot be
        replied to in the supergroup, whose own message ids start afresh and
        would otherwise collide with them. The old row becomes 'migrated'.
        """
        with self._tx():
            old = self._existing_chat_row(old_id)
            if old["status"] == "migrated":
                return self._chat(old["migrated_to"])
            new = self._chat_row(new_id)
            title = new["title"] if new and new["title"] else old["title"]
            self._exec(
                """INSERT INTO chats (chat_id, type, title, tz, push_time, level,
                       subscribed, status, created_at)
                   VALUES (?, 'supergroup', ?, ?, ?, ?, ?, 'active', ?)
                   ON CONFLICT (chat_id) DO UPDATE SET
                       type = 'supergroup', title = excluded.title, tz = excluded.tz,
                       push_time = excluded.push_time, level = excluded.level,
                       subscribed = excluded.subscribed, status = 'active'""",
                (new_id, title, old["tz"], old["push_time"], old["level"],
                 int(old["subscribed"]), old["created_at"]),
            )
            self._exec(
                """UPDATE deliveries SET chat_id = ?,
                       message_id = CASE WHEN message_id > 0 THEN -message_id
                                         ELSE message_id END
                   WHERE chat_id = ? AND local_date NOT IN
                       (SELECT local_date FROM deliveries WHERE chat_id = ?)""",
                (new_id, old_id, new_id),
            )
            self._exec("DELETE FROM deliveries WHERE chat_id = ?", (old_id,))
            self._exec(
                """UPDATE question_messages SET chat_id = ?,
                       message_id = CASE WHEN message_id > 0 THEN -message_id
                                         ELSE message_id END
                   WHERE chat_id = ?""",
                (new_id, old_id),
            )
            # Interviews follow the group; one that would clash with an
            # unfinished interview of the same admin already in the new chat
            # stays behind (OR IGNORE skips it).
            self._exec("UPDATE OR IGNORE interviews SET chat_id = ? WHERE chat_id = ?",
                       (new_id, old_id))
            self._exec(
                """UPDATE chats SET status = 'migrated', migrated_to = ?, next_push_at = NULL
                   WHERE chat_id = ?""",
                (new_id, old_id),
            )
            self._reschedule(new_id, now)
            return self._chat(new_id)

    # ---- schedule ----------------------------------------------------------

    @writes
    def due_chats(self, now: datetime, limit: int = 1000) -> list[DueChat]:
        """Chats whose daily push is due at ``now``, earliest first, each with
        its current local date: the one to claim.

        One range scan of the partial index ``chats_due``. A write (run it with
        AsyncStore.write): schedules left stale by downtime (next_push_at on an earlier local
        day than today) are re-aimed at today's push instant here and only
        returned if that instant has passed, so a bot that was down never
        sends yesterday's question and never sends today's early.
        """
        rows = self._all(
            """SELECT * FROM chats
               WHERE subscribed = 1 AND status = 'active' AND next_push_at <= ?
               ORDER BY next_push_at LIMIT ?""",
            (iso(now), limit),
        )
        due: list[DueChat] = []
        stale: list[Row] = []
        for row in rows:
            today = local_date(now, row["tz"])
            if local_date(_rows.instant(row["next_push_at"]), row["tz"]) < today:
                stale.append(row)
                row["next_push_at"] = iso(next_push_at(
                    now, row["tz"], row["push_time"], self._last_delivered(row["chat_id"])))
                if row["next_push_at"] > iso(now):
                    continue
            due.append(DueChat(_rows.chat(row), today))
        if stale:
            with self._tx():
                for row in stale:
                    self._exec("UPDATE chats SET next_push_at = ? WHERE chat_id = ?",
                               (row["next_push_at"], row["chat_id"]))
        return due

    @writes
    def skip_today(self, chat_id: int, now: datetime) -> Chat:
        """Nothing to send today (e.g. no unseen question fits the level):
        move next_push_at to tomorrow's push instant without a delivery."""
        with self._tx():
            row = self._existing_chat_row(chat_id)
            if row["subscribed"] and row["status"] == "active":
                today = local_date(now, row["tz"])
                last = self._last_delivered(chat_id)
                nxt = next_push_at(now, row["tz"], row["push_time"],
                                   max(today, last) if last else today)
                self._exec("UPDATE chats SET next_push_at = ? WHERE chat_id = ?",
                           (iso(nxt), chat_id))
            return self._chat(chat_id)

    @reads
    def recent_questions(self, chat_id: int, n: int = 10) -> list[str]:
        """Question ids of the chat's last ``n`` daily deliveries (pending
        ones included) and quizzes, newest first, so the picker can avoid
        repeating a question within ``n`` pushes."""
        rows = self._exec(
            """SELECT question_id FROM (
                   SELECT * FROM (SELECT question_id, claimed_at AS at FROM deliveries
                                  WHERE chat_id = ? ORDER BY local_date DESC LIMIT ?)
                   UNION ALL
                   SELECT * FROM (SELECT question_id, sent_at AS at FROM question_messages
                                  WHERE chat_id = ? AND source = 'quiz'
                                  ORDER BY sent_at DESC LIMIT ?))
               ORDER BY at DESC LIMIT ?""",
            (chat_id, n, chat_id, n, n),
        ).fetchall()
        return [row[0] for row in rows]

    # ---- deliveries --------------------------------------------------------

    @writes
    def claim_delivery(
        self, chat_id: int, local_date: date | str, question_id: str, now: datetime,
    ) -> bool:
        """Reserve (chat, local date) for ``question_id`` before sending.

        False if that day is already claimed or sent (another worker, or a
        duplicate run): the caller must not send. On success the chat's
        next_push_at moves to the following day.
        """
        day = day_text(local_date)
        with self._tx():
            self._existing_chat_row(chat_id)
            cursor = self._exec(
                """INSERT INTO deliveries (chat_id, local_date, question_id, state, claimed_at)
                   VALUES (?, ?, ?, 'pending', ?)
                   ON CONFLICT (chat_id, local_date) DO NOTHING""",
                (chat_id, day, question_id, iso(now)),
            )
            if cursor.rowcount == 0:
                return False
            self._reschedule(chat_id, now)
            return True

    @writes
    def complete_delivery(
        self, chat_id: int, local_date: date | str, message_id: int, now: datetime,
    ) -> Delivery:
        """The push was sent: in one transaction mark the delivery 'sent',
        record its question message (so replies map back to the question)
        and advance next_push_at to the next day's push. Idempotent for the
        same message id; returns the delivery."""
        day = day_text(local_date)
        with self._tx():
            delivery = self._require(self._delivery(chat_id, day),
                                     f"delivery for chat {chat_id} on {day}")
            if delivery["state"] == "sent":
                if delivery["message_id"] != message_id:
                    raise ValueError(f"delivery for chat {chat_id} on {day} was already "
                                     f"sent as message {delivery['message_id']}")
                return _rows.delivery(delivery)
            self._exec(
                """UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?
                   WHERE chat_id = ? AND local_date = ?""",
                (message_id, iso(now), chat_id, day),
            )
            self._exec(
                """INSERT INTO question_messages
                       (chat_id, message_id, question_id, source, user_id, sent_at)
                   VALUES (?, ?, ?, 'daily', NULL, ?)
                   ON CONFLICT (chat_id, message_id) DO NOTHING""",
                (chat_id, message_id, delivery["question_id"], iso(now)),
            )
            self._reschedule(chat_id, now)
            return _rows.delivery(self._require(self._delivery(chat_id, day), "delivery"))

    @writes
    def release_delivery(self, chat_id: int, local_date: date | str) -> bool:
        """Drop a pending claim whose send failed for good (e.g. Forbidden).
        The chat stays scheduled for the next day: a permanent failure must
        not turn into a retry loop. True if a pending row was removed."""
        cursor = self._exec(
            "DELETE FROM deliveries WHERE chat_id = ? AND local_date = ? AND state = 'pending'",
            (chat_id, day_text(local_date)),
        )
        return cursor.rowcount > 0

    @writes
    def retry_delivery(self, chat_id: int, local_date: date | str, retry_at: datetime) -> bool:
        """A send that failed for now (Telegram unreachable, a 5xx, a 429): drop the pending
        claim and make the chat due again at ``retry_at``, if that instant still falls on the
        claimed local day in the chat's zone (issue 18: a push that failed for more than a few
        seconds was never retried that day). True if the chat will be retried. Otherwise
        (the day is over, or the chat is no longer active and subscribed) it is
        :meth:`release_delivery`: the chat keeps its next day's push."""
        day = day_text(local_date)
        with self._tx():
            row = self._existing_chat_row(chat_id)
            released = self._exec(
                "DELETE FROM deliveries WHERE chat_id = ? AND local_date = ? AND state = 'pending'",
                (chat_id, day),
            ).rowcount > 0
            if not (released and row["subscribed"] and row["status"] == "active"):
                return False
            if local_date_of(retry_at, row["tz"]).isoformat() != day:
                return False
            self._exec("UPDATE chats SET next_push_at = ? WHERE chat_id = ?", (iso(retry_at), chat_id))
            return True

    @reads
    def pending_deliveries(self, older_than: datetime) -> list[Delivery]:
        """Claims still pending that were made before ``older_than``: sends
        interrupted by a crash, to be retried after restart (a retry may
        duplicate a message that did go out; that is the price of never
        silently skipping a day)."""
        return [_rows.delivery(row) for row in self._all(
            """SELECT * FROM deliveries WHERE state = 'pending' AND claimed_at < ?
               ORDER BY claimed_at""",
            (iso(older_than),),
        )]

    # ---- helpers -----------------------------------------------------------

    def _chat_row(self, chat_id: int) -> Row | None:
        return self._one("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))

    def _existing_chat_row(self, chat_id: int) -> Row:
        return self._require(self._chat_row(chat_id), f"chat {chat_id}")

    def _chat(self, chat_id: int) -> Chat:
        return _rows.chat(self._existing_chat_row(chat_id))

    def _delivery(self, chat_id: int, day: str) -> Row | None:
        return self._one("SELECT * FROM deliveries WHERE chat_id = ? AND local_date = ?",
                         (chat_id, day))

    def _last_delivered(self, chat_id: int) -> date | None:
        text = self._scalar(
            """SELECT local_date FROM deliveries WHERE chat_id = ?
               ORDER BY local_date DESC LIMIT 1""",
            (chat_id,),
        )
        return date.fromisoformat(text) if text else None

    def _last_sent_at(self, chat_id: int) -> datetime | None:
        # When the last push was claimed, just before it went out: the send's own answer may come
        # back seconds later, and the 12-hour gap is about the day's rhythm, not the round trip.
        text = self._scalar("SELECT MAX(claimed_at) FROM deliveries WHERE chat_id = ? AND state = 'sent'", (chat_id,))
        return _rows.maybe_instant(text)

    def _reschedule(self, chat_id: int, now: datetime) -> None:
        """Recompute next_push_at from settings, status and deliveries."""
        row = self._existing_chat_row(chat_id)
        value = None
        if row["subscribed"] and row["status"] == "active":
            value = iso(next_push_at(now, row["tz"], row["push_time"],
                                     self._last_delivered(chat_id), self._last_sent_at(chat_id)))
        self._exec("UPDATE chats SET next_push_at = ? WHERE chat_id = ?", (value, chat_id))

