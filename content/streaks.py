"""Daily-streak rules as pure functions (no SQL, clock injected).

A day counts when the user gave at least one answer graded partial or
correct on it, in the user's own time zone (and own day start hour).

Days are always compared in the time zone of the NEW answer: the last
qualifying answer's UTC instant is converted into the new answer's zone,
and the two local dates are compared there. Same date: nothing changes
(several answers on one day count once). Exactly one day apart: +1. More:
the streak restarts at 1, unless streak freezes cover the gap (below).
Comparing two instants in ONE zone means that a time-zone change or a DST
switch can neither fake an extra day (flying east past midnight twice)
nor break a streak (flying west), because the gap between the two answers
is measured on one consistent calendar.

Streak freezes are earned, never bought: each time ``current`` reaches a
multiple of 7 (7, 14, 21, ...) the user earns one, holding at most
:data:`MAX_FREEZES`. They are spent automatically: when the new answer
comes after ``k`` missed days and at least ``k`` freezes are held, the
streak continues (+1) and ``k`` freezes are used. With fewer than ``k``
the streak restarts at 1 and the freezes are kept: a freeze is only ever
spent when it actually saves the streak, never burnt on a lost cause.
Spending comes before earning, so the answer that makes day 7 after a
freeze-saved gap earns a fresh one.

Missed days are only applied lazily: the stored ``current`` is what it was
after the last qualifying answer; :func:`displayed_current` shows 0 once
more days were missed than the freezes held can cover, before the next
answer resets it for real. ``longest`` is never lowered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .calendar import as_utc, local_date

FREEZE_EVERY = 7  # consecutive days that earn one freeze
MAX_FREEZES = 2  # a safety net, not a bank: a week away still breaks the streak


@dataclass(frozen=True, slots=True)
class StreakState:
    """A user's streak after their last qualifying answer.

    ``last_day`` is the local date of that answer in its own zone (for
    display); ``last_at`` is its UTC instant, which is what later answers
    are compared against, since a date alone cannot be moved between zones.
    ``freezes`` is the number of streak freezes held (0..MAX_FREEZES).
    """

    current: int = 0
    longest: int = 0
    last_day: date | None = None
    last_at: datetime | None = None
    freezes: int = 0


EMPTY = StreakState()


@dataclass(frozen=True, slots=True)
class StreakUpdate:
    """What one qualifying answer did: the new state, how many freezes it
    just spent to bridge missed days (so the bot can say "a freeze saved
    your streak"), and whether it was the first qualifying answer of its
    local day. Kept out of :class:`StreakState` on purpose: the state is
    what is stored and must equal a recompute over history, while "just
    used" describes one event and is meaningless on the next answer."""

    state: StreakState
    freezes_used: int
    new_day: bool


def advance_detailed(
    state: StreakState, answered_at_utc: datetime, tz_name: str, day_start_hour: int = 0
) -> StreakUpdate:
    """Fold one qualifying answer into the streak and say what happened.

    Call it only for answers graded partial or correct. Answers must come
    in time order; an answer older than ``state.last_at`` raises ValueError
    (use :func:`recompute` over the full history instead), because applying
    it out of order would give a different result than the history does.
    """
    at = as_utc(answered_at_utc)
    day = local_date(at, tz_name, day_start_hour)
    if state.last_at is None:
        return StreakUpdate(_earned(StreakState(1, max(1, state.longest), day, at,
                                                state.freezes)), 0, True)
    if at < state.last_at:
        raise ValueError(
            f"answer at {at.isoformat()} is older than the last counted one "
            f"({state.last_at.isoformat()}); recompute the streak from history"
        )
    gap = (day - local_date(state.last_at, tz_name, day_start_hour)).days
    if gap == 0:
        return StreakUpdate(StreakState(state.current, state.longest, day, at, state.freezes),
                            0, False)
    missed = gap - 1
    if missed <= state.freezes:  # includes missed == 0: the plain next day
        current, freezes, used = state.current + 1, state.freezes - missed, missed
    else:
        current, freezes, used = 1, state.freezes, 0
    after = StreakState(current, max(state.longest, current), day, at, freezes)
    return StreakUpdate(_earned(after), used, True)


def _earned(state: StreakState) -> StreakState:
    """Award the freeze for reaching a multiple of FREEZE_EVERY days."""
    if state.current % FREEZE_EVERY == 0 and state.freezes < MAX_FREEZES:
        return StreakState(state.current, state.longest, state.last_day, state.last_at,
                           state.freezes + 1)
    return state


def advance(
    state: StreakState, answered_at_utc: datetime, tz_name: str, day_start_hour: int = 0
) -> StreakState:
    """Fold one qualifying answer into the streak: :func:`advance_detailed`
    without the details."""
    return advance_detailed(state, answered_at_utc, tz_name, day_start_hour).state


def missed_days(
    state: StreakState, now_utc: datetime, tz_name: str, day_start_hour: int = 0
) -> int:
    """Whole local days (in the viewer's zone) since the last qualifying
    day that had no qualifying answer, not counting today: 0 when the user
    answered today or yesterday. Meaningless (0) for an empty state."""
    if state.last_at is None:
        return 0
    today = local_date(now_utc, tz_name, day_start_hour)
    last = local_date(state.last_at, tz_name, day_start_hour)
    return max(0, (today - last).days - 1)


def displayed_current(
    state: StreakState, now_utc: datetime, tz_name: str, day_start_hour: int = 0
) -> int:
    """The streak to show right now.

    It is still shown while it can be saved by answering today: the days
    missed so far (today not counted, since the user can still answer) are
    no more than the freezes held. Otherwise 0: the next answer will
    restart it at 1.
    """
    if state.last_at is None:
        return 0
    if missed_days(state, now_utc, tz_name, day_start_hour) <= state.freezes:
        return state.current
    return 0


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
