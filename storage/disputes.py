"""Grading disputes: the learner pressed "I think I was right".

The reply text is stored here, and only here: the bot never keeps replies,
but a dispute is useless to a content author without the answer that was
graded, and the learner handed it over by pressing the button. It is
personal data all the same: ``delete_user`` erases it and ``export_user``
returns it.

A dispute refers to the graded attempt (foreign key on user, chat and
question message), so it exists only for an answer that was recorded,
follows it through a chat migration and is one per user per question
message: a second press returns the first dispute unchanged.
"""

from __future__ import annotations

import json
from datetime import datetime

from ._base import StoreBase, guarded
from .db import iso
from .migrations import VERDICTS


class DisputesMixin(StoreBase):
    @guarded
    def record_dispute(
        self, *, user_id: int, chat_id: int, question_id: str, question_message_id: int,
        reply: str, verdict: str, score: float, matched: list[str], missed: list[str],
        now: datetime,
    ) -> dict:
        """Store a dispute (status 'open') of the user's graded answer to a
        question message and return it; if one exists already, return that
        one unchanged. The grade fields are the grader's output, kept so
        authors can see which key terms it missed."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
        self._exec(
            """INSERT INTO disputes (user_id, chat_id, question_id, question_message_id,
                   reply, verdict, score, matched, missed, status, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)
               ON CONFLICT (user_id, chat_id, question_message_id) DO NOTHING""",
            (user_id, chat_id, question_id, question_message_id, reply, verdict, float(score),
             json.dumps(list(matched), ensure_ascii=False),
             json.dumps(list(missed), ensure_ascii=False), iso(now)),
        )
        return self._one(
            """SELECT * FROM disputes
               WHERE user_id = ? AND chat_id = ? AND question_message_id = ?""",
            (user_id, chat_id, question_message_id),
        )  # type: ignore[return-value]

    @guarded
    def open_disputes(self) -> list[dict]:
        """Every open dispute, oldest first (``tutor-bot content-disputes``);
        ``matched`` and ``missed`` come back as lists."""
        return self._all(
            "SELECT * FROM disputes WHERE status = 'open' ORDER BY created_at, id")

    @guarded
    def resolve_dispute(self, dispute_id: int) -> bool:
        """Close a dispute once the content was fixed (or the grade stands);
        True if it was open."""
        return self._exec(
            "UPDATE disputes SET status = 'resolved' WHERE id = ? AND status = 'open'",
            (dispute_id,),
        ).rowcount > 0
