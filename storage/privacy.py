"""Erasing and exporting everything stored about one user.

Deletion leans on the schema's foreign keys (``foreign_keys=ON`` is checked
at open): deleting the user's private chat cascades to its deliveries,
question messages and the attempts/hints on them; deleting the users row
cascades to attempts, the streak and hints anywhere, and sets
``question_messages.user_id`` to NULL on questions the user requested in
groups, so the other members' attempts on those questions survive.
"""

from __future__ import annotations

from ._base import StoreBase, guarded


class PrivacyMixin(StoreBase):
    @guarded
    def delete_user(self, user_id: int) -> bool:
        """Erase every row about the user, in one transaction; True if there
        was anything to erase. Other users' data is left intact."""
        with self._tx():
            chats = self._exec(
                "DELETE FROM chats WHERE chat_id = ? AND type = 'private'", (user_id,)).rowcount
            users = self._exec("DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount
            # The cascades above already did these; repeating them keeps the
            # erasure correct even on a connection opened without foreign keys.
            self._exec("DELETE FROM attempts WHERE user_id = ?", (user_id,))
            self._exec("DELETE FROM streaks WHERE user_id = ?", (user_id,))
            self._exec("DELETE FROM hints_used WHERE user_id = ?", (user_id,))
            self._exec("UPDATE question_messages SET user_id = NULL WHERE user_id = ?",
                       (user_id,))
            return bool(chats or users)

    @guarded
    def export_user(self, user_id: int) -> dict:
        """Everything stored about the user as a JSON-serialisable dict (the
        answer to a data access request). Reply texts are never stored, so
        they are not here either."""
        private = self._one(
            "SELECT * FROM chats WHERE chat_id = ? AND type = 'private'", (user_id,))
        streak = self._one(
            "SELECT current, longest, last_day, last_at, updated_at FROM streaks "
            "WHERE user_id = ?", (user_id,))
        return {
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
        }

