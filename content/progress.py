"""A learner's progress as the tutor tells it (issue 20): plain values in, plain values out.

What /stats draws and the weekly digest says, with no Telegram and no SQL:

* :func:`streak_calendar` — which days of the calendar belong to the current streak and which
  days a streak freeze covered, rebuilt from the days with qualifying answers by the rules of
  content/streaks.py (a freeze is earned every 7 days in a row, at most 2 held, and spent only
  when it saves the streak).
* :func:`topic_mastery` — per topic, the mean FSRS retrievability of the learner's cards ("the
  chance you recall it today"); a topic without cards (answered only in a group) falls back
  to the accuracy of its recent answers. At most 10, weakest first.
* :func:`review_forecast` — reviews due on each of the next 7 local days (overdue ones today).
* :func:`weekly_digest` and :func:`digest_due` — what the digest says, and whether it is due
  now: on the learner's chosen weekday, from 18:00 in their zone, once per week.

Days are the learner's local days: the stored ``local_date`` of each answer (its zone and day
start when answering), and "today" in the learner's zone and day start now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol, cast

from fsrs import Card

from .bank import Question
from .calendar import as_utc, local_date, zone
from .scoring import accuracy
from .srs import SCHEDULER
from .streaks import FREEZE_EVERY, MAX_FREEZES

MAX_TOPICS = 10  # topics in the picture, weakest first
FORECAST_DAYS = 7
CALENDAR_WEEKS = 26
DIGEST_HOUR = 18  # the digest goes out from 18:00 on the chosen weekday, in the learner's zone
DEFAULT_DIGEST_WEEKDAY = 6  # Sunday
DIGEST_ACTIVE_DAYS = 28  # a learner with no answer in this long gets no digest (they left)
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNKNOWN_TOPIC = "unknown"  # attempts stored without a topic

MasteryKind = Literal["retrievability", "accuracy"]
HORIZON = timedelta(days=7)  # mastery = the chance of recalling a topic this far ahead


class DayLike(Protocol):
    """One local day's answers (storage's ``DayCount`` is one)."""

    @property
    def local_date(self) -> date: ...
    @property
    def answered(self) -> int: ...
    @property
    def correct(self) -> int: ...
    @property
    def partial(self) -> int: ...


# ------------------------------------------------------------------------------ the calendar


@dataclass(frozen=True, slots=True)
class StreakCalendar:
    """The streak over the calendar: the days of the current run (days with a qualifying
    answer, freeze-covered days excluded), every day a freeze covered, and the run's length
    and freezes held after its last day."""

    streak_days: frozenset[date]
    freeze_days: frozenset[date]
    current: int
    freezes: int
    last_day: date | None


def streak_calendar(qualifying_days: Iterable[date], today: date) -> StreakCalendar:
    """Replay the streak rules over the days with a partial or correct answer.

    Like content/streaks.py: the next day adds one; a gap of ``k`` missed days is bridged when
    at least ``k`` freezes are held (they are spent, and the missed days are freeze days),
    otherwise the streak restarts at 1 and the freezes are kept; a freeze is earned at every
    multiple of 7 days, at most 2 held. The current run is shown only while it is alive
    today (``streaks.displayed_current``): once more days were missed than freezes can cover,
    ``streak_days`` is empty and ``current`` 0. Freeze days stay marked: they happened."""
    run: list[date] = []
    freeze_days: set[date] = set()
    current = freezes = 0
    last: date | None = None
    for day in sorted(set(d for d in qualifying_days if d <= today)):
        if last is None:
            current, run = 1, [day]
        else:
            missed = (day - last).days - 1
            if missed <= freezes:
                current += 1
                freezes -= missed
                freeze_days.update(last + timedelta(days=i) for i in range(1, missed + 1))
                run.append(day)
            else:
                current, run = 1, [day]
        if current % FREEZE_EVERY == 0 and freezes < MAX_FREEZES:
            freezes += 1
        last = day
    if last is None or max(0, (today - last).days - 1) > freezes:
        return StreakCalendar(frozenset(), frozenset(freeze_days), 0, freezes, last)
    return StreakCalendar(frozenset(run), frozenset(freeze_days), current, freezes, last)


def answers_by_day(days: Iterable[DayLike], today: date, weeks: int = CALENDAR_WEEKS) -> dict[date, int]:
    """Answers per local day over the last ``weeks`` weeks (the calendar's range), today
    included; later days (a clock or zone change) are left out."""
    first = today - timedelta(weeks=weeks)
    return {d.local_date: d.answered for d in days if first < d.local_date <= today and d.answered}


# ------------------------------------------------------------------------------ mastery


@dataclass(frozen=True, slots=True)
class TopicMastery:
    """One topic's mastery in 0..1, what it means, and how many answers the learner gave."""

    topic: str
    mastery: float
    answered: int
    kind: MasteryKind


def retrievability(card: Mapping[str, Any], now: datetime) -> float:
    """FSRS's probability that the learner recalls the card at ``now`` (0..1)."""
    fsrs_card = Card.from_dict(cast(Any, dict(card)))
    return float(SCHEDULER.get_card_retrievability(fsrs_card, as_utc(now)))


def topic_mastery(
    cards: Iterable[tuple[str, Mapping[str, Any]]],
    recent: Mapping[str, float],
    answered: Mapping[str, int],
    now: datetime,
    limit: int = MAX_TOPICS,
) -> list[TopicMastery]:
    """Mastery per topic, weakest first (ties by topic), at most ``limit``.

    ``cards``: (topic, fsrs card dict) for each of the learner's cards; a topic's mastery is
    its cards' mean retrievability a week after ``now`` (`HORIZON`): right after any review FSRS
    rates recall at 100 %, even after a miss, while a week out a topic answered wrong today
    shows as weak and one answered well stays strong. ``recent``: topic → accuracy of its recent
    answers, used for topics without cards. ``answered``: topic → answers given. Attempts
    stored without a topic are left out."""
    by_topic: dict[str, list[float]] = {}
    for topic, card in cards:
        by_topic.setdefault(topic, []).append(retrievability(card, now + HORIZON))
    rows = [TopicMastery(t, sum(rs) / len(rs), answered.get(t, 0), "retrievability")
            for t, rs in by_topic.items()]
    rows += [TopicMastery(t, acc, answered.get(t, 0), "accuracy")
             for t, acc in recent.items() if t not in by_topic]
    rows = [r for r in rows if r.topic != UNKNOWN_TOPIC]
    return sorted(rows, key=lambda r: (r.mastery, r.topic))[:limit]


def mastery_kind(rows: Sequence[TopicMastery]) -> MasteryKind:
    """What the picture says mastery means: retrievability when any topic has cards (the
    others are labelled as accuracy), else accuracy."""
    return "retrievability" if any(r.kind == "retrievability" for r in rows) else "accuracy"


def missed_core(question: Question, matched: Iterable[str]) -> list[str]:
    """The core ideas of ``question`` an answer did not cover, from the terms it matched (what
    is stored: the reply itself never is), in the question's order."""
    found = set(matched)
    return [t.term for t in question.core_terms if t.term not in found]


# ------------------------------------------------------------------------------ forecast


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def review_forecast(
    cards: Iterable[Mapping[str, Any]], now: datetime, tz: str, day_start_hour: int = 0,
    days: int = FORECAST_DAYS,
) -> list[int]:
    """Cards due on each of the next ``days`` local days, index 0 = today (overdue cards
    count today: they are due now)."""
    today = local_date(now, tz, day_start_hour)
    out = [0] * days
    for card in cards:
        index = max(0, (local_date(_instant(card["due"]), tz, day_start_hour) - today).days)
        if index < days:
            out[index] += 1
    return out


# ------------------------------------------------------------------------------ /stats caption


@dataclass(frozen=True, slots=True)
class StatsView:
    """Everything the /stats picture and its caption show, in the learner's local days."""

    today: date
    answers_by_day: dict[date, int]
    calendar: StreakCalendar
    topics: tuple[TopicMastery, ...]
    mastery_kind: MasteryKind
    forecast: tuple[int, ...]
    current: int
    longest: int
    answered: int
    accuracy: float

    @property
    def due_today(self) -> int:
        return self.forecast[0] if self.forecast else 0

    @property
    def due_tomorrow(self) -> int:
        return self.forecast[1] if len(self.forecast) > 1 else 0


def stats_view(
    *, days: Sequence[DayLike], cards: Sequence[tuple[str, Mapping[str, Any]]],
    recent: Mapping[str, float], answered: Mapping[str, int], current: int, longest: int,
    now: datetime, tz: str, day_start_hour: int = 0,
) -> StatsView:
    """The /stats picture's data. ``current`` and ``longest`` are the stored streak (as /streak
    shows it), so the caption and /streak always agree; ``cards`` are (topic, card dict)."""
    today = local_date(now, tz, day_start_hour)
    total = sum(d.answered for d in days)
    correct = sum(d.correct for d in days)
    partial = sum(d.partial for d in days)
    topics = topic_mastery(cards, recent, answered, now)
    return StatsView(
        today=today,
        answers_by_day=answers_by_day(days, today),
        calendar=streak_calendar((d.local_date for d in days if d.correct + d.partial), today),
        topics=tuple(topics),
        mastery_kind=mastery_kind(topics),
        forecast=tuple(review_forecast((c for _, c in cards), now, tz, day_start_hour)),
        current=current,
        longest=longest,
        answered=total,
        accuracy=accuracy(correct, partial, total),
    )


# ------------------------------------------------------------------------------ weekly digest


@dataclass(frozen=True, slots=True)
class WeeklyDigest:
    """The digest: the last 7 local days (oldest first, answers each), their totals, the streak,
    the best and weakest topic (slugs; the same topic is only ever the weakest), and the topic
    to practise next (None: no topic yet, suggest a plain /quiz)."""

    week: tuple[tuple[date, int], ...]
    answered: int
    days_practised: int
    accuracy: float
    current: int
    longest: int
    best: str | None
    weakest: str | None
    suggested: str | None


def weekly_digest(
    *, days: Sequence[DayLike], topics: Sequence[TopicMastery], current: int, longest: int,
    today: date,
) -> WeeklyDigest:
    """What the digest says on ``today`` (a local date): the 7 days ending today, the streak
    (as stored and displayed), and from ``topics`` (weakest first) the best and the weakest
    topic; the weakest is the one to practise with ``/quiz <topic>``."""
    first = today - timedelta(days=6)
    counts = {d.local_date: d for d in days if first <= d.local_date <= today}
    week = tuple((first + timedelta(days=i), counts[first + timedelta(days=i)].answered
                  if first + timedelta(days=i) in counts else 0) for i in range(7))
    answered = sum(d.answered for d in counts.values())
    correct = sum(d.correct for d in counts.values())
    partial = sum(d.partial for d in counts.values())
    weakest = topics[0].topic if topics else None
    best = max(topics, key=lambda r: (r.mastery, r.topic)).topic if len(topics) > 1 else None
    return WeeklyDigest(
        week=week, answered=answered, days_practised=sum(1 for _, n in week if n),
        accuracy=accuracy(correct, partial, answered), current=current, longest=longest,
        best=best, weakest=weakest, suggested=weakest,
    )


def week_monday(day: date) -> date:
    """The Monday that starts ``day``'s week (the digest's claim key)."""
    return day - timedelta(days=day.weekday())


def digest_due(now: datetime, tz: str, weekday: int, last_week: date | None) -> date | None:
    """The week (its Monday) whose digest is due now, or None: it is ``weekday`` (0 = Monday)
    from :data:`DIGEST_HOUR` on the learner's wall clock, and this week has no digest yet. A
    digest missed on its evening (the bot was down) is not sent on a later day."""
    local = as_utc(now).astimezone(zone(tz))
    if local.weekday() != weekday or local.hour < DIGEST_HOUR:
        return None
    monday = week_monday(local.date())
    if last_week is not None and last_week >= monday:
        return None
    return monday


def digest_window(now: datetime) -> tuple[tuple[int, ...], date, datetime]:
    """What storage prefilters digest candidates by, valid for every zone in civil use
    (UTC-12..UTC+14, so a local date is the UTC date ±1): the weekdays it can be anywhere,
    the week before which a claim leaves a learner a candidate, and the oldest answer that
    keeps a learner active."""
    utc_today = as_utc(now).date()
    weekdays = tuple(sorted({(utc_today + timedelta(days=k)).weekday() for k in (-1, 0, 1)}))
    return weekdays, week_monday(utc_today + timedelta(days=1)), now - timedelta(days=DIGEST_ACTIVE_DAYS)


def parse_weekday(text: str) -> int | None:
    """A weekday typed by a learner ("sunday", "Sun", "mo") as 0..6, or None."""
    word = (text or "").strip().lower().rstrip(".")
    if len(word) < 2:
        return None
    matches = [i for i, name in enumerate(WEEKDAY_NAMES) if name.startswith(word)]
    return matches[0] if len(matches) == 1 else None
