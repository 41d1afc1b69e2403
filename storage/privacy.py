"""Erasing and exporting everything stored about one user.

Deletion leans on the schema's foreign keys (``foreign_keys=ON`` is checked
at open): deleting the user's private chat cascades to its deliveries,
question messages and the attempts/hints on them; deleting the users row
cascades to attempts, the streak, hints, cards, the review log, reminder
claims, disputes and the interviews the user started anywhere, and sets
``question_messages.user_id`` (and ``interview_id`` for those interviews)
to NULL on questions the user requested in groups, so the other members'
attempts on those questions survive.
"""

from __future__ import annotations

import json
from typing import Any

from ._base import Row, StoreBase, reads, writes

# Tables keyed by user_id whose rows are the user's alone; deleted explicitly
# as well as by cascade (see delete_user). Literals, never input.
_OWN_ROWS = ("attempts", "streaks", "hints_used", "cards", "review_log", "reminders_sent",
             "disputes")


# In the export, 0/1 flags read as booleans and JSON lists as lists, as a person expects them.
_FLAG_COLUMNS = frozenset({"subscribed", "used_hint", "revealed", "reminders"})
_JSON_COLUMNS = frozenset({"matched", "missed", "question_ids"})


def _readable(row: Row | None) -> Row | None:
    if row is None:
        return None
    out = dict(row)
    for key, value in row.items():
        if key in _FLAG_COLUMNS and value is not None:
            out[key] = bool(value)
        elif key in _JSON_COLUMNS and isinstance(value, str):
            out[key] = json.loads(value)
    return out


class PrivacyMixin(StoreBase):
    @writes
    def delete_user(self, user_id: int) -> bool:
        """Erase every row about the user, in one transaction; True if there
        was anything to erase. Other users' data is left intact."""
        with self._tx():
            # Unlink group question messages from interviews the user started
            # before those interviews go (what ON DELETE SET NULL also does).
            self._exec(
                """UPDATE question_messages SET interview_id = NULL
                   WHERE interview_id IN (SELECT id FROM interviews WHERE user_id = ?)""",
                (user_id,))
            chats = self._exec(
                "DELETE FROM chats WHERE chat_id = ? AND type = 'private'", (user_id,)).rowcount
            users = self._exec("DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount
            # The cascades above already did these; repeating them keeps the
            # erasure correct even on a connection opened without foreign keys.
            for table in _OWN_ROWS:
                self._exec(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            self._exec("DELETE FROM interviews WHERE user_id = ?", (user_id,))
            self._exec("UPDATE question_messages SET user_id = NULL WHERE user_id = ?",
                       (user_id,))
            # Owner tools (admin.py): announcements have no foreign keys to chats or users. The
            # user's private chat (its id is the user's) leaves every recipient list; what an
            # owner announced stays, for the chats that received it, without its author
            # (created_by 0: no user has that id) or their progress message.
            # (by announcement, then chat: a primary-key lookup per announcement, not a scan)
            self._exec("""DELETE FROM announcement_sends
                          WHERE announcement_id IN (SELECT id FROM announcements) AND chat_id = ?""",
                       (user_id,))
            self._exec("""UPDATE announcements SET progress_chat_id = NULL, progress_message_id = NULL
                          WHERE progress_chat_id = ?""", (user_id,))
            self._exec("UPDATE announcements SET created_by = 0 WHERE created_by = ?", (user_id,))
            return bool(chats or users)

    @reads
    def export_user(self, user_id: int) -> dict[str, Any]:
        """Everything stored about the user as a JSON-serialisable dict of
        tables and their rows, as stored (the answer to a data access request).
        Reply texts are not stored, except those the user chose to send along
        with a dispute: they are here."""
        private = self._one(
            "SELECT * FROM chats WHERE chat_id = ? AND type = 'private'", (user_id,))
        streak = self._one(
            "SELECT current, longest, freezes, last_day, last_at, updated_at FROM streaks "
            "WHERE user_id = ?", (user_id,))
        export: dict[str, Row | list[Row] | None] = {
            "user": self._one("SELECT * FROM users WHERE user_id = ?", (user_id,)),
            "streak": streak,
            "private_chat": private,
            "deliveries": self._all(
                "SELECT * FROM deliveries WHERE chat_id = ? ORDER BY local_date",
                (user_id,)) if private else [],
            "question_messages": self._all(
                """SELECT * FROM question_messages WHERE user_id = ?
                   UNION
                   SELECT * FROM question_messages WHERE chat_id = ? AND ? = 1
                   ORDER BY sent_at, chat_id, message_id""",
                (user_id, user_id, 1 if private else 0)),
            "attempts": self._all(
                "SELECT * FROM attempts WHERE user_id = ? ORDER BY answered_at, id",
                (user_id,)),
            "hints_used": self._all(
                "SELECT * FROM hints_used WHERE user_id = ? ORDER BY used_at", (user_id,)),
            "cards": self._all(
                "SELECT * FROM cards WHERE user_id = ? ORDER BY question_id", (user_id,)),
            "review_log": self._all(
                "SELECT * FROM review_log WHERE user_id = ? ORDER BY reviewed_at, id",
                (user_id,)),
            "reminders_sent": self._all(
                "SELECT * FROM reminders_sent WHERE user_id = ? ORDER BY local_date",
                (user_id,)),
            "interviews": self._all(
                "SELECT * FROM interviews WHERE user_id = ? ORDER BY started_at, id",
                (user_id,)),
            "disputes": self._all(
                "SELECT * FROM disputes WHERE user_id = ? ORDER BY created_at, id",
                (user_id,)),
            "announcements": self._all(
                "SELECT * FROM announcements WHERE created_by = ? ORDER BY id", (user_id,)),
            "announcement_sends": self._all(
                """SELECT * FROM announcement_sends
                   WHERE announcement_id IN (SELECT id FROM announcements) AND chat_id = ?
                   ORDER BY announcement_id""",
                (user_id,)) if private else [],
        }
        return {name: [_readable(row) for row in rows] if isinstance(rows, list)
                else _readable(rows) for name, rows in export.items()}
