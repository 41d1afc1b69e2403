"""Mock interviews: a fixed list of questions asked one after another.

An interview belongs to (chat, user who started it). ``position`` is the
index of the question being asked; advancing past the last one sets
``finished_at``. At most one unfinished interview per (chat, user), enforced
by the partial unique index ``interviews_active`` so two racing /interview
commands cannot both start one. The questions' messages carry
``interview_id`` (see ``record_question_message``), which is how the
answers are found for the summary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from . import _rows
from ._base import StoreBase, reads, writes
from ._sql import iso
from .models import Interview, InterviewAnswer


class InterviewsMixin(StoreBase):
    @writes
    def start_interview(
        self, chat_id: int, user_id: int, question_ids: Sequence[str], label: str,
        now: datetime, *, replace: bool = False,
    ) -> Interview | None:
        """Start an interview over ``question_ids`` (in order) labelled with
        the topic or level it was built from; returns it at position 0.

        If that user already has an unfinished interview in the chat, returns
        None and changes nothing (the bot tells them one is running), unless
        ``replace=True``: then the old one is finished at ``now`` where it
        stood (its answers stay in its results) and the new one starts.
        """
        ids = list(question_ids)
        if not ids or not all(isinstance(q, str) and q for q in ids):
            raise ValueError(f"an interview needs a non-empty list of question ids; got {ids!r}")
        with self._tx():
            active = self._active_interview(chat_id, user_id)
            if active is not None:
                if not replace:
                    return None
                self._exec("UPDATE interviews SET finished_at = ? WHERE id = ?",
                           (iso(now), active.id))
            cursor = self._exec(
                """INSERT INTO interviews (chat_id, user_id, topic_or_level, question_ids,
                       position, started_at)
                   VALUES (?, ?, ?, ?, 0, ?)""",
                (chat_id, user_id, label, json.dumps(ids, ensure_ascii=False), iso(now)),
            )
            return self._interview(int(cursor.lastrowid or 0))

    @reads
    def active_interview(self, chat_id: int, user_id: int) -> Interview | None:
        """The user's unfinished interview in this chat, or None."""
        return self._active_interview(chat_id, user_id)

    @reads
    def get_interview(self, interview_id: int) -> Interview | None:
        """An interview by id (finished or not), or None."""
        return self._interview(interview_id)

    @writes
    def advance_interview(self, interview_id: int, now: datetime) -> Interview:
        """Move to the next question; past the last one the interview is
        finished (``finished_at = now``, ``position == len(question_ids)``).
        A finished interview is returned unchanged, so a repeated "next"
        cannot overrun it. NotFound for an unknown id."""
        with self._tx():
            row = self._require(self._interview(interview_id), f"interview {interview_id}")
            if row.finished_at is not None:
                return row
            position = row.position + 1
            finished = iso(now) if position >= len(row.question_ids) else None
            self._exec("UPDATE interviews SET position = ?, finished_at = ? WHERE id = ?",
                       (min(position, len(row.question_ids)), finished, interview_id))
            return self._require(self._interview(interview_id), f"interview {interview_id}")

    @reads
    def interview_results(self, interview_id: int) -> list[InterviewAnswer]:
        """The graded answers to the interview's questions, in the order the
        questions were sent (then by answer time): one row per answer, with
        ``question_id, message_id, user_id, first_name, username, verdict,
        score, topic, answered_at``. Private: at most one row per question;
        group: one per member who answered. Unanswered questions have no
        row. A revealed answer counts as an incorrect one, score 0."""
        return [_rows.interview_answer(row) for row in self._all(
            """SELECT qm.question_id, qm.message_id, a.user_id, u.first_name, u.username,
                      a.verdict, a.score, a.topic, a.answered_at
               FROM question_messages AS qm
               JOIN attempts AS a
                 ON a.chat_id = qm.chat_id AND a.question_message_id = qm.message_id
               JOIN users AS u ON u.user_id = a.user_id
               WHERE qm.interview_id = ?
               ORDER BY qm.sent_at, qm.message_id, a.answered_at, a.id""",
            (interview_id,),
        )]

    def _interview(self, interview_id: int) -> Interview | None:
        row = self._one("SELECT * FROM interviews WHERE id = ?", (interview_id,))
        return _rows.interview(row) if row is not None else None

    def _active_interview(self, chat_id: int, user_id: int) -> Interview | None:
        row = self._one(
            """SELECT * FROM interviews
               WHERE chat_id = ? AND user_id = ? AND finished_at IS NULL""",
            (chat_id, user_id),
        )
        return _rows.interview(row) if row is not None else None
