"""Evening streak reminders: who might need one, and "sent once per day".

Storage only prefilters; the bot decides the exact local-time rule (the
streak is at risk when the last qualifying day was yesterday in the
learner's zone and day start, and it is evening there). The prefilter is
one range scan of ``streaks_recent``: streaks whose last qualifying answer
is at most :data:`RECENT` old (any at-risk streak is under ~50 hours old,
whatever the zone), of users with reminders on and an active, subscribed
private chat, not already reminded since that answer.

"One message, never more": ``mark_reminded`` inserts (user, local date)
once and returns True only the first time, so the bot marks first and
sends only on True; a restart or two overlapping ticks cannot send twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from . import _rows
from ._base import StoreBase, reads, writes
from ._sql import day_text, iso
from .models import ReminderCandidate

RECENT = timedelta(days=3)
# reminders_sent rows older than this are of no use ("today" can never be
# that far back) and are pruned per user whenever that user is reminded.
KEEP_SENT = timedelta(days=7)


class RemindersMixin(StoreBase):
    @reads
    def reminder_candidates(self, now: datetime, limit: int = 1000) -> list[ReminderCandidate]:
        """Users who may need an evening reminder at ``now``.

        Each: ``user_id``, ``tz`` (the user's zone, else their private
        chat's), ``day_start_hour``, ``current`` and ``freezes`` (as
        stored, not as displayed), ``last_day`` and ``last_at`` of the last
        qualifying answer. Users already reminded for a day after
        ``last_day`` are left out, so reminded users stop taking up the
        ``limit``; oldest ``last_at`` first (they have the least time left).
        """
        return [_rows.reminder_candidate(row) for row in self._all(
            """SELECT s.user_id, COALESCE(u.tz, c.tz) AS tz, u.day_start_hour,
                      s.current, s.freezes, s.last_day, s.last_at
               FROM streaks AS s
               JOIN users AS u ON u.user_id = s.user_id
               JOIN chats AS c ON c.chat_id = s.user_id
               WHERE s.last_at >= ? AND s.current > 0 AND u.reminders = 1
                 AND c.type = 'private' AND c.status = 'active' AND c.subscribed = 1
                 AND NOT EXISTS (
                     SELECT 1 FROM reminders_sent AS r
                     WHERE r.user_id = s.user_id AND r.local_date > s.last_day)
               ORDER BY s.last_at, s.user_id LIMIT ?""",
            (iso(now - RECENT), limit),
        )]

    @writes
    def mark_reminded(self, user_id: int, local_date: date | str, now: datetime) -> bool:
        """Claim the reminder for (user, local date): True the first time
        only. Call before sending and send only on True. Also drops this
        user's claims older than a week, so the table stays tiny."""
        day = day_text(local_date)
        with self._tx():
            first = self._exec(
                """INSERT INTO reminders_sent (user_id, local_date, sent_at) VALUES (?, ?, ?)
                   ON CONFLICT (user_id, local_date) DO NOTHING""",
                (user_id, day, iso(now)),
            ).rowcount > 0
            if first:
                self._exec(
                    "DELETE FROM reminders_sent WHERE user_id = ? AND local_date < ?",
                    (user_id, (date.fromisoformat(day) - KEEP_SENT).isoformat()),
                )
            return first
