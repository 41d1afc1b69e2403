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
from collections.abc import Sequence
from datetime import datetime

from . import _rows
from ._base import StoreBase, reads, writes
from ._sql import iso
from .migrations import VERDICTS
from .models import Dispute


class DisputesMixin(StoreBase):
    @writes
    def record_dispute(
        self, *, user_id: int, chat_id: int, question_id: str, question_message_id: int,
        reply: str, verdict: str, score: float, matched: Sequence[str], missed: Sequence[str],
        now: datetime,
    ) -> Dispute:
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
        return _rows.dispute(self._require(self._one(
            """SELECT * FROM disputes
               WHERE user_id = ? AND chat_id = ? AND question_message_id = ?""",
            (user_id, chat_id, question_message_id),
        ), "dispute"))

    @reads
    def open_disputes(self) -> list[Dispute]:
        """Every open dispute, oldest first (``tutor-bot content-disputes``)."""
        return [_rows.dispute(row) for row in self._all(
            "SELECT * FROM disputes WHERE status = 'open' ORDER BY created_at, id")]

    @writes
    def resolve_dispute(self, dispute_id: int) -> bool:
        """Close a dispute once the content was fixed (or the grade stands);
        True if it was open."""
        return self._exec(
            "UPDATE disputes SET status = 'resolved' WHERE id = ? AND status = 'open'",
            (dispute_id,),
        ).rowcount > 0
