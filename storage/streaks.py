"""Daily-streak rules as pure functions (no SQL, clock injected).

A day counts when the user gave at least one answer graded partial or
correct on it, in the user's own time zone (and own day start hour).

Days are always compared in the time zone of the NEW answer: the last
qualifying answer's UTC instant is converted into the new answer's zone,
and the two local dates are compared there. Same date: nothing changes
(several answers on one day count once). Exactly one day apart: +1. More:
the streak restarts at 1. Comparing two instants in ONE zone means that a
time-zone change or a DST switch can neither fake an extra day (flying
east past midnight twice) nor break a streak (flying west), because the
gap between the two answers is measured on one consistent calendar.

Missed days are only applied lazily: the stored ``current`` is what it was
after the last qualifying answer; :func:`displayed_current` shows 0 once a
whole day has been missed, before the next answer resets it for real.
``longest`` is never lowered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from .schedule import as_utc, local_date


@dataclass(frozen=True)
class StreakState:
    """A user's streak after their last qualifying answer.

    ``last_day`` is the local date of that answer in its own zone (for
    display); ``last_at`` is its UTC instant, which is what later answers
    are compared against, since a date alone cannot be moved between zones.
    """

    current: int = 0
    longest: int = 0
    last_day: date | None = None
    last_at: datetime | None = None


EMPTY = StreakState()


def advance(
    state: StreakState, answered_at_utc: datetime, tz_name: str, day_start_hour: int = 0
) -> StreakState:
    """Fold one qualifying answer into the streak.

    Call it only for answers graded partial or correct. Answers must come
    in time order; an answer older than ``state.last_at`` raises ValueError
    (use :func:`recompute` over the full history instead), because applying
    it out of order would give a different result than the history does.
    """
    at = as_utc(answered_at_utc)
    day = local_date(at, tz_name, day_start_hour)
    if state.last_at is None:
        return StreakState(1, max(1, state.longest), day, at)
    if at < state.last_at:
        raise ValueError(
            f"answer at {at.isoformat()} is older than the last counted one "
            f"({state.last_at.isoformat()}); recompute the streak from history"
        )
    gap = (day - local_date(state.last_at, tz_name, day_start_hour)).days
    if gap == 0:
        current = state.current
    elif gap == 1:
        current = state.current + 1
    else:
        current = 1
    return StreakState(current, max(state.longest, current), day, at)


def displayed_current(
    state: StreakState, now_utc: datetime, tz_name: str, day_start_hour: int = 0
) -> int:
    """The streak to show right now: 0 once a whole local day was missed.

    Today and yesterday (in the viewer's zone) keep the streak alive, since
    the user can still answer today; anything older means a day passed
    without a qualifying answer.
    """
    if state.last_at is None:
        return 0
    today = local_date(now_utc, tz_name, day_start_hour)
    last = local_date(state.last_at, tz_name, day_start_hour)
    return state.current if (today - last).days <= 1 else 0


def recompute(
    attempts: Iterable[tuple[datetime, str, int, bool]],
) -> StreakState:
    """Rebuild a streak from a whole history of attempts.

    Each item is ``(answered_at_utc, tz_name, day_start_hour, qualifying)``.
    Items are sorted by instant (stably, so equal instants keep their
    order) and the qualifying ones are folded with :func:`advance`; this is
    the reference the stored, incrementally updated state must equal.
    """
    ordered = sorted(attempts, key=lambda item: as_utc(item[0]))
    state = EMPTY
    for answered_at, tz_name, day_start_hour, qualifying in ordered:
        if qualifying:
            state = advance(state, answered_at, tz_name, day_start_hour)
    return state
