"""Progress: what the /stats picture, /history and the weekly digest read, and the digest's
per-learner setting and claim (issue 20).

The rules (streak and freeze days over the calendar, mastery per topic, the review forecast,
whether a digest is due, what it says) are content/progress.py; storage reads and persists.

"Never twice" for the digest: :meth:`claim_digest` moves ``users.digest_week`` (the Monday of
the last week claimed) forward with one compare-and-set, so it returns True once per learner
and week, whichever tick or process asks first; the job claims first and sends only on True.
"""

from __future__ import annotations

from datetime import date, datetime

from content import scoring

from . import _rows
from ._base import reads, writes
from ._sql import day_text, iso
from .answers import AnswersMixin
from .cards import CARD_KEYS
from .models import (
    Attempt,
    DayCount,
    DigestCandidate,
    DigestSettings,
    Progress,
    StoredCard,
    TopicStats,
)

RECENT_PER_TOPIC = 20  # a topic's "recent accuracy" is over its last 20 answers
WEEKDAYS = range(7)  # 0 = Monday .. 6 = Sunday, as date.weekday()


class ProgressMixin(AnswersMixin):
    @reads
    def progress(self, user_id: int) -> Progress:
        """Everything /stats and the digest show about one learner, in one snapshot: answers per
        stored local day (all of them, oldest first: the streak and its freezes are rebuilt over
        the whole history), every FSRS card, each topic's accuracy over its last
        :data:`RECENT_PER_TOPIC` answers (attempts without a topic under "unknown"), the totals
        of :meth:`user_stats` and the stored streak."""
        days = tuple(
            DayCount(_rows.day(r["local_date"]), r["answered"], r["correct"], r["partial"])
            for r in self._all(
                """SELECT local_date, COUNT(*) AS answered,
                          SUM(verdict = 'correct') AS correct, SUM(verdict = 'partial') AS partial
                   FROM attempts WHERE user_id = ?
                   GROUP BY local_date ORDER BY local_date""",
                (user_id,),
            ))
        cards = tuple(
            StoredCard(r["question_id"], {key: r[key] for key in CARD_KEYS}, r["reps"])
            for r in self._all(
                f"""SELECT question_id, {', '.join(CARD_KEYS)}, reps FROM cards
                    WHERE user_id = ? ORDER BY question_id""",
                (user_id,),
            ))
        recent = tuple(
            TopicStats(r["topic"], r["answered"],
                       scoring.accuracy(r["correct"], r["partial"], r["answered"]))
            for r in self._all(
                """SELECT topic, COUNT(*) AS answered, SUM(verdict = 'correct') AS correct,
                          SUM(verdict = 'partial') AS partial
                   FROM (SELECT COALESCE(topic, 'unknown') AS topic, verdict,
                                ROW_NUMBER() OVER (PARTITION BY COALESCE(topic, 'unknown')
                                                   ORDER BY answered_at DESC, id DESC) AS n
                         FROM attempts WHERE user_id = ?)
                   WHERE n <= ? GROUP BY topic ORDER BY topic""",
                (user_id, RECENT_PER_TOPIC),
            ))
        return Progress(days, cards, recent, self.user_stats(user_id), self._streak_state(user_id))

    @reads
    def recent_attempts(self, user_id: int, limit: int = 10) -> list[Attempt]:
        """The learner's newest graded answers, newest first (``attempts_by_user``): what
        /history lists. The reply texts were never stored; ``matched`` says what was found."""
        return [_rows.attempt(r) for r in self._all(
            """SELECT * FROM attempts WHERE user_id = ?
               ORDER BY answered_at DESC, id DESC LIMIT ?""",
            (user_id, limit),
        )]

    @reads
    def attempt_of(self, user_id: int, attempt_id: int) -> Attempt | None:
        """Attempt ``attempt_id`` if it is ``user_id``'s, else None: a /history button resolves
        its attempt for the learner who pressed it, never for someone else."""
        row = self._one("SELECT * FROM attempts WHERE id = ? AND user_id = ?",
                        (attempt_id, user_id))
        return _rows.attempt(row) if row is not None else None

    # ---- the weekly digest -------------------------------------------------------------------

    @reads
    def digest_settings(self, user_id: int) -> DigestSettings | None:
        """The learner's digest switch, weekday and last claimed week; None for a stranger."""
        row = self._one(
            "SELECT digest, digest_weekday, digest_week FROM users WHERE user_id = ?",
            (user_id,))
        if row is None:
            return None
        return DigestSettings(bool(row["digest"]), row["digest_weekday"],
                              _rows.day(row["digest_week"]) if row["digest_week"] else None)

    @writes
    def set_digest(self, user_id: int, *, on: bool | None = None,
                   weekday: int | None = None) -> DigestSettings:
        """Turn the digest on or off and/or move it to ``weekday`` (0 = Monday .. 6 = Sunday).
        NotFound for a stranger, ValueError for a bad value (nothing written)."""
        if on is not None and not isinstance(on, bool):
            raise ValueError(f"digest must be True or False; got {on!r}")
        if weekday is not None and (isinstance(weekday, bool) or weekday not in WEEKDAYS):
            raise ValueError(f"weekday must be 0..6 (Monday..Sunday); got {weekday!r}")
        with self._tx():
            self._require(self._one("SELECT 1 FROM users WHERE user_id = ?", (user_id,)),
                          f"user {user_id}")
            if on is not None:
                self._exec("UPDATE users SET digest = ? WHERE user_id = ?", (int(on), user_id))
            if weekday is not None:
                self._exec("UPDATE users SET digest_weekday = ? WHERE user_id = ?",
                           (weekday, user_id))
            return self._require(self.digest_settings(user_id), f"user {user_id}")

    @reads
    def digest_candidates(
        self, *, weekdays: tuple[int, ...], before_week: date, active_since: datetime,
        after_user_id: int = 0, limit: int = 500,
    ) -> list[DigestCandidate]:
        """Learners whose digest may be due, by user id after ``after_user_id`` (a page):
        digest on, on one of ``weekdays``, not claimed for ``before_week`` or later, an active,
        subscribed private chat (never a blocked one), and an answer since ``active_since``
        (a learner who stopped practising is not written to every week). The caller decides
        the exact local-time rule (content/progress.py ``digest_due``)."""
        if not weekdays:
            return []
        marks = ", ".join("?" for _ in weekdays)
        return [
            DigestCandidate(r["user_id"], r["tz"], r["day_start_hour"], r["digest_weekday"],
                            _rows.day(r["digest_week"]) if r["digest_week"] else None)
            for r in self._all(
                f"""SELECT u.user_id, COALESCE(u.tz, c.tz) AS tz, u.day_start_hour,
                           u.digest_weekday, u.digest_week
                    FROM users AS u JOIN chats AS c ON c.chat_id = u.user_id
                    WHERE u.user_id > ? AND u.digest = 1 AND u.digest_weekday IN ({marks})
                      AND (u.digest_week IS NULL OR u.digest_week < ?)
                      AND c.type = 'private' AND c.status = 'active' AND c.subscribed = 1
                      AND EXISTS (SELECT 1 FROM attempts AS a
                                  WHERE a.user_id = u.user_id AND a.answered_at >= ?)
                    ORDER BY u.user_id LIMIT ?""",
                (after_user_id, *weekdays, day_text(before_week), iso(active_since), limit),
            )
        ]

    @writes
    def claim_digest(self, user_id: int, week: date | str) -> bool:
        """Claim the digest of the week starting on Monday ``week``: True once per learner and
        week (the first caller), False if that week or a later one was claimed already. Claim
        before sending and send only on True."""
        monday = day_text(week)
        if date.fromisoformat(monday).weekday() != 0:
            raise ValueError(f"a digest week starts on a Monday; got {monday}")
        return self._exec(
            """UPDATE users SET digest_week = ?
               WHERE user_id = ? AND (digest_week IS NULL OR digest_week < ?)""",
            (monday, user_id, monday),
        ).rowcount > 0

    @writes
    def release_digest(self, user_id: int, week: date | str, previous: date | None) -> bool:
        """Give a claim back (the send provably did not reach Telegram): the week's digest may be
        claimed again on a later tick. Only this week's claim is undone; True if it was."""
        return self._exec(
            "UPDATE users SET digest_week = ? WHERE user_id = ? AND digest_week = ?",
            (day_text(previous) if previous is not None else None, user_id, day_text(week)),
        ).rowcount > 0
