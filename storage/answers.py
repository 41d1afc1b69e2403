"""Question messages, hints, graded attempts, streaks, stats, leaderboards.

Points, accuracy and which verdicts qualify for a streak are the tutor's rules
(content/scoring.py); the streak arithmetic is content/streaks.py. Storage sums and
persists what they define.

A graded answer may carry the learner's new spaced-repetition card and its
review-log entry (computed by the bot with fsrs); they are written in the
same transaction as the attempt, so a card never moves without the answer
that moved it, and a duplicate answer moves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from content import scoring, streaks
from content.calendar import local_date, zone
from content.streaks import StreakState

from . import _rows
from ._base import reads, writes
from ._sql import iso, whole_second
from .cards import CardsMixin, card_row, review_row
from .migrations import SOURCES, VERDICTS
from .models import (
    AnswerContext,
    Attempt,
    AttemptResult,
    CardDict,
    LeaderboardRow,
    QuestionMessage,
    ReviewDict,
    StreakInfo,
    TopicStats,
    UserStats,
)


class AnswersMixin(CardsMixin):
    # ---- question messages and hints ---------------------------------------

    @writes
    def record_question_message(
        self, chat_id: int, message_id: int, question_id: str, source: str,
        user_id: int | None, now: datetime, *, interview_id: int | None = None,
    ) -> QuestionMessage:
        """Remember which question a sent message carries, so a reply to it
        (even days later) is graded against the right question. Idempotent.
        ``interview_id`` links a mock-interview question to its interview,
        which is how :meth:`interview_results` finds the answers."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {source!r}")
        self._exec(
            """INSERT INTO question_messages
                   (chat_id, message_id, question_id, source, user_id, sent_at, interview_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (chat_id, message_id) DO NOTHING""",
            (chat_id, message_id, question_id, source, user_id, iso(now), interview_id),
        )
        return self._require(self.get_question_message(chat_id, message_id),
                             f"question message {message_id} in chat {chat_id}")

    @reads
    def get_question_message(self, chat_id: int, message_id: int) -> QuestionMessage | None:
        """The question behind a message, or None if it is not a question."""
        row = self._one(
            "SELECT * FROM question_messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return _rows.question_message(row) if row is not None else None

    @reads
    def open_question(self, chat_id: int, user_id: int) -> QuestionMessage | None:
        """The latest question message in the chat that this user has not
        answered or revealed yet: in a private chat, the question a plain
        (non-reply) message is an answer to. None if there is none."""
        row = self._one(
            """SELECT qm.* FROM question_messages AS qm
               WHERE qm.chat_id = ? AND NOT EXISTS (
                   SELECT 1 FROM attempts AS a
                   WHERE a.user_id = ? AND a.chat_id = qm.chat_id
                     AND a.question_message_id = qm.message_id)
               ORDER BY qm.sent_at DESC, qm.message_id DESC LIMIT 1""",
            (chat_id, user_id),
        )
        return _rows.question_message(row) if row is not None else None

    @reads
    def latest_question(self, chat_id: int) -> QuestionMessage | None:
        """The newest question message sent into the chat: the one a plain (non-reply) private
        message answers. Older unanswered ones are closed (skipped) once a newer one is out."""
        row = self._one(
            """SELECT * FROM question_messages WHERE chat_id = ?
               ORDER BY sent_at DESC, message_id DESC LIMIT 1""",
            (chat_id,),
        )
        return _rows.question_message(row) if row is not None else None

    @writes
    def mark_hint_used(self, user_id: int, chat_id: int, message_id: int, now: datetime) -> bool:
        """Record that the user asked for a hint on this question message;
        True the first time. record_attempt then stores used_hint=True."""
        cursor = self._exec(
            """INSERT INTO hints_used (user_id, chat_id, question_message_id, used_at)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id, chat_id, question_message_id) DO NOTHING""",
            (user_id, chat_id, message_id, iso(now)),
        )
        return cursor.rowcount > 0

    @reads
    def hint_used(self, user_id: int, chat_id: int, message_id: int) -> bool:
        """Whether the user asked for a hint on this question message (the
        bot needs it before grading: a hint costs the FSRS "Easy")."""
        return self._scalar(
            """SELECT 1 FROM hints_used WHERE user_id = ? AND chat_id = ?
               AND question_message_id = ?""",
            (user_id, chat_id, message_id),
        ) is not None

    @reads
    def answer_context(
        self, user_id: int, chat_id: int, replied_message_id: int | None = None,
    ) -> AnswerContext:
        """Everything grading one answer needs to read, in one call and one snapshot:

        * ``user`` — None for someone never seen (group members answer without /start: the
          bot calls :meth:`touch_user` first);
        * ``question`` — the question message answered: the replied-to message if it carries a
          question, else the chat's latest one this user has not answered (:meth:`open_question`);
        * ``attempt`` — this user's earlier attempt on it (the answer is then a repeat);
        * ``used_hint`` and ``card`` — what the FSRS rating needs.
        """
        user_row = self._one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        user = _rows.user(user_row) if user_row is not None else None
        question = None
        if replied_message_id is not None:
            question = self.get_question_message(chat_id, replied_message_id)
        if question is None:
            question = self.open_question(chat_id, user_id)
        if question is None:
            return AnswerContext(user, None)
        message_id = question.message_id
        return AnswerContext(user, question, self.get_attempt(user_id, chat_id, message_id),
                             self.hint_used(user_id, chat_id, message_id),
                             self.get_card(user_id, question.question_id))

    # ---- attempts and streaks ------------------------------------------------

    @writes
    def record_attempt(
        self, *, user_id: int, chat_id: int, question_id: str, question_message_id: int,
        topic: str | None, score: float, verdict: str, matched: Sequence[str],
        used_hint: bool, revealed: bool, now: datetime, tz_name: str,
        day_start_hour: int = 0, card: CardDict | None = None, review: ReviewDict | None = None,
        inbox_update_id: int | None = None,
    ) -> AttemptResult | None:
        """Store one graded answer and update the streak, in one transaction.

        Returns None, changing nothing, if this user already has an attempt
        for this question message: one graded answer per member per question
        message, which also makes a re-delivered Telegram update harmless.
        The reply text itself is never stored (personal data). ``tz_name``
        and ``day_start_hour`` are stored with the attempt so the streak can
        always be recomputed from history.

        ``card`` (fsrs ``Card.to_dict()``) replaces the user's card for this
        question and ``review`` (``ReviewLog.to_dict()``) is appended to the
        review log, linked to the attempt; both in the same transaction, and
        neither for a duplicate. They are validated before anything is
        written (ValueError).

        ``inbox_update_id`` marks that inbox update done in the same transaction
        (also for a duplicate), so a crash cannot record the answer and leave
        its update pending, nor the reverse.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
        zone(tz_name)  # ValueError for an unknown zone, before any write
        card_values = card_row(card) if card is not None else None
        review_values = review_row(review) if review is not None else None
        if card_values and review_values and card_values[0] != review_values[0]:
            raise ValueError(f"card {card_values[0]} and review of card {review_values[0]} "
                             "do not match")
        now = whole_second(now)  # the streak state must equal what is stored
        if revealed:
            verdict, score = "incorrect", 0.0
        points = scoring.points_for(verdict)
        day = local_date(now, tz_name, day_start_hour)
        with self._tx():
            if inbox_update_id is not None:
                self._mark_done(inbox_update_id, now)
            # used_hint: the caller's word, or a hint taken since the caller looked (read here,
            # inside the transaction, as part of the INSERT: one statement less per answer)
            cursor = self._exec(
                """INSERT INTO attempts (user_id, chat_id, question_id, question_message_id,
                       topic, score, verdict, matched, used_hint, revealed, points,
                       answered_at, local_date, tz, day_start_hour)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?,
                           ? OR EXISTS (SELECT 1 FROM hints_used WHERE user_id = ? AND chat_id = ?
                                        AND question_message_id = ?),
                           ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (user_id, chat_id, question_message_id) DO NOTHING""",
                (user_id, chat_id, question_id, question_message_id, topic, float(score),
                 verdict, json.dumps(list(matched), ensure_ascii=False),
                 int(bool(used_hint)), user_id, chat_id, question_message_id,
                 int(bool(revealed)), points, iso(now), day.isoformat(), tz_name,
                 day_start_hour),
            )
            if cursor.rowcount == 0:
                return None
            attempt_id = int(cursor.lastrowid or 0)
            before = self._streak_state(user_id)
            after, is_new_day, freezes_used = before, False, 0
            if scoring.qualifies(verdict):
                after, freezes_used = self._advance_streak(
                    user_id, before, now, tz_name, day_start_hour)
                is_new_day = before.last_at is None or (
                    local_date(before.last_at, tz_name, day_start_hour) != day)
            if card_values is not None:
                self._save_card(user_id, question_id, card_values)
            if review_values is not None:
                self._log_review(user_id, question_id, review_values, attempt_id)
            return AttemptResult(attempt_id, points, after, is_new_day, freezes_used)

    def _advance_streak(
        self, user_id: int, before: StreakState, now: datetime, tz_name: str,
        day_start_hour: int,
    ) -> tuple[StreakState, int]:
        """The new streak and the freezes this answer spent."""
        if before.last_at is not None and now < before.last_at:
            # An answer older than the last counted one (clock skew, a late
            # retry): replaying it would differ from history, so recompute.
            # It reports no freeze used: it fills in the past, it does not
            # save today's streak (it may even give a freeze back).
            return self.recompute_streak(user_id, now), 0
        update = streaks.advance_detailed(before, now, tz_name, day_start_hour)
        self._save_streak(user_id, update.state, now)
        return update.state, update.freezes_used

    @writes
    def recompute_streak(self, user_id: int, now: datetime) -> StreakState:
        """Rebuild the stored streak from the user's stored attempts (repair
        tool, and the path for out-of-order answers)."""
        history = [
            (_rows.instant(a["answered_at"]), a["tz"], a["day_start_hour"],
             scoring.qualifies(a["verdict"]))
            for a in self._all(
                """SELECT answered_at, tz, day_start_hour, verdict FROM attempts
                   WHERE user_id = ? ORDER BY answered_at, id""",
                (user_id,),
            )
        ]
        state = streaks.recompute(history)
        with self._tx():
            self._save_streak(user_id, state, now)
        return state

    def _streak_state(self, user_id: int) -> StreakState:
        row = self._exec(
            "SELECT current, longest, last_day, last_at, freezes FROM streaks WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None:
            return streaks.EMPTY
        current, longest, last_day, last_at, freezes = row
        return StreakState(current, longest, date.fromisoformat(last_day) if last_day else None,
                           _rows.maybe_instant(last_at), freezes)

    def _save_streak(self, user_id: int, state: StreakState, now: datetime) -> None:
        self._exec(
            """INSERT INTO streaks (user_id, current, longest, last_day, last_at, updated_at,
                                    freezes)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET
                   current = excluded.current, longest = excluded.longest,
                   last_day = excluded.last_day, last_at = excluded.last_at,
                   updated_at = excluded.updated_at, freezes = excluded.freezes""",
            (user_id, state.current, state.longest,
             state.last_day.isoformat() if state.last_day else None,
             iso(state.last_at) if state.last_at else None, iso(now), state.freezes),
        )

    @reads
    def streak_state(self, user_id: int) -> StreakState:
        """The stored streak (``current`` as of the last qualifying answer)."""
        return self._streak_state(user_id)

    @writes
    def mark_reply_sent(self, attempt_id: int, now: datetime) -> bool:
        """The verdict on this attempt reached the learner (or its fate is unknown and the bot
        chose not to risk a duplicate); True the first time."""
        return self._exec(
            "UPDATE attempts SET reply_sent_at = ? WHERE id = ? AND reply_sent_at IS NULL",
            (iso(now), attempt_id),
        ).rowcount > 0

    @reads
    def unreplied_attempts(self, user_id: int, limit: int = 10) -> list[Attempt]:
        """This learner's graded answers whose verdict has not reached them, oldest first: what
        to show on their next message ("Your answer to ... was graded: ...")."""
        return [_rows.attempt(row) for row in self._all(
            """SELECT * FROM attempts WHERE user_id = ? AND reply_sent_at IS NULL
               ORDER BY answered_at, id LIMIT ?""",
            (user_id, limit),
        )]

    @reads
    def unreplied_before(self, older_than: datetime, limit: int = 100) -> list[Attempt]:
        """Every learner's undelivered verdicts answered before ``older_than`` (the ones a
        reply in flight cannot explain any more), oldest first: to deliver after an outage."""
        return [_rows.attempt(row) for row in self._all(
            """SELECT * FROM attempts WHERE reply_sent_at IS NULL AND answered_at < ?
               ORDER BY answered_at, id LIMIT ?""",
            (iso(older_than), limit),
        )]

    @reads
    def get_attempt(self, user_id: int, chat_id: int, question_message_id: int) -> Attempt | None:
        """This user's graded attempt on a question message, or None."""
        row = self._one(
            """SELECT * FROM attempts
               WHERE user_id = ? AND chat_id = ? AND question_message_id = ?""",
            (user_id, chat_id, question_message_id),
        )
        return _rows.attempt(row) if row is not None else None

    @reads
    def streak(
        self, user_id: int, now: datetime, tz_name: str, day_start_hour: int | None = None,
    ) -> tuple[int, int]:
        """(current streak as displayed now, longest streak). The current one
        is 0 once more days were missed than the freezes held can bridge; the
        day start hour defaults to the user's own setting. See
        :meth:`streak_info` for the freezes too."""
        if day_start_hour is None:
            day_start_hour = self._day_start_hour(user_id)
        state = self._streak_state(user_id)
        return streaks.displayed_current(state, now, tz_name, day_start_hour), state.longest

    @reads
    def streak_info(self, user_id: int, now: datetime, tz_name: str) -> StreakInfo:
        """The /streak screen: ``current`` (as displayed now, in ``tz_name``
        with the user's own day start hour), ``longest``, ``freezes`` held
        and ``last_day`` (local date of the last qualifying answer, or None).
        A new method rather than a third element in :meth:`streak`, whose
        (current, longest) shape existing callers unpack."""
        state = self._streak_state(user_id)
        return StreakInfo(
            streaks.displayed_current(state, now, tz_name, self._day_start_hour(user_id)),
            state.longest, state.freezes, state.last_day)

    def _day_start_hour(self, user_id: int) -> int:
        return int(self._scalar(
            "SELECT day_start_hour FROM users WHERE user_id = ?", (user_id,)) or 0)

    # ---- stats -------------------------------------------------------------

    @reads
    def user_stats(self, user_id: int, chat_id: int | None = None) -> UserStats:
        """Totals for one user, overall or in one chat: answered, correct,
        partial, incorrect, accuracy, per_topic (by topic; attempts without a
        topic are listed under "unknown"), days_practised (distinct local
        dates with any attempt) and points_total. Only graded attempts count: a question the
        learner gave up on ("Show answer", "I don't know") is a review, not an answer."""
        where, params = "user_id = ? AND revealed = 0", [user_id]
        if chat_id is not None:
            where, params = "user_id = ? AND revealed = 0 AND chat_id = ?", [user_id, chat_id]
        totals = self._require(self._one(
            f"""SELECT COUNT(*) AS answered,
                       COALESCE(SUM(verdict = 'correct'), 0) AS correct,
                       COALESCE(SUM(verdict = 'partial'), 0) AS partial,
                       COALESCE(SUM(verdict = 'incorrect'), 0) AS incorrect,
                       COUNT(DISTINCT local_date) AS days_practised,
                       COALESCE(SUM(points), 0) AS points_total
                FROM attempts WHERE {where}""",
            params,
        ), "totals")
        per_topic = tuple(
            TopicStats(row["topic"], row["answered"],
                       scoring.accuracy(row["correct"], row["partial"], row["answered"]))
            for row in self._all(
            f"""SELECT COALESCE(topic, 'unknown') AS topic, COUNT(*) AS answered,
                       SUM(verdict = 'correct') AS correct, SUM(verdict = 'partial') AS partial
                FROM attempts WHERE {where}
                GROUP BY COALESCE(topic, 'unknown') ORDER BY 1""",
                params,
            ))
        return UserStats(
            answered=totals["answered"], correct=totals["correct"], partial=totals["partial"],
            incorrect=totals["incorrect"],
            accuracy=scoring.accuracy(totals["correct"], totals["partial"], totals["answered"]),
            per_topic=per_topic, days_practised=totals["days_practised"],
            points_total=totals["points_total"])

    @reads
    def leaderboard(self, chat_id: int, since: datetime | None,
                    limit: int = 10) -> list[LeaderboardRow]:
        """Top members of a chat by points since ``since`` (None = all time).
        Ties: more correct answers first, then fewer attempts, then user id,
        so the order is stable between two /top commands."""
        return [_rows.leaderboard_row(row) for row in self._all(
            """SELECT a.user_id, u.first_name, u.username, SUM(a.points) AS points,
                      COUNT(*) AS answered, SUM(a.verdict = 'correct') AS correct
               FROM attempts AS a JOIN users AS u ON u.user_id = a.user_id
               WHERE a.chat_id = ? AND a.answered_at >= ?
               GROUP BY a.user_id
               ORDER BY points DESC, correct DESC, answered ASC, a.user_id ASC
               LIMIT ?""",
            (chat_id, iso(since) if since is not None else "", limit),
        )]
