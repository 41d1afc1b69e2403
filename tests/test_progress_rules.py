"""The progress rules of content/progress.py (issue 20), without SQLite or Telegram: the streak
and freeze days over the calendar, mastery per topic, the review forecast, the digest."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fsrs import Rating

from content import streaks
from content.progress import (
    DIGEST_HOUR,
    HORIZON,
    TopicMastery,
    answers_by_day,
    digest_due,
    digest_window,
    missed_core,
    parse_weekday,
    retrievability,
    review_forecast,
    stats_view,
    streak_calendar,
    topic_mastery,
    week_monday,
    weekly_digest,
)
from content.srs import review

TODAY = date(2026, 3, 8)  # a Sunday
NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Day:
    local_date: date
    answered: int
    correct: int = 0
    partial: int = 0


def days_back(*offsets):
    return [TODAY - timedelta(days=n) for n in offsets]


# ---- the streak over the calendar ------------------------------------------------------------

def test_consecutive_days_up_to_today_are_the_current_streak():
    cal = streak_calendar(days_back(0, 1, 2, 5), TODAY)
    assert cal.streak_days == set(days_back(0, 1, 2))
    assert (cal.current, cal.freeze_days) == (3, frozenset())


def test_a_streak_ending_yesterday_is_still_shown_today_and_gone_the_day_after():
    days = days_back(1, 2)
    assert streak_calendar(days, TODAY).current == 2
    assert streak_calendar(days, TODAY + timedelta(days=1)).streak_days == frozenset()


def test_a_freeze_earned_on_day_7_covers_a_missed_day_and_is_marked():
    days = days_back(*range(2, 9), 0)  # 7 days in a row, a miss yesterday, today
    cal = streak_calendar(days, TODAY)
    assert cal.freeze_days == {TODAY - timedelta(days=1)}
    assert cal.current == 8 and cal.freezes == 0
    assert TODAY - timedelta(days=1) not in cal.streak_days


def test_a_gap_longer_than_the_freezes_restarts_and_keeps_them():
    days = days_back(*range(4, 11), 0)  # 7 in a row, then 3 missed days (1 freeze held)
    cal = streak_calendar(days, TODAY)
    assert (cal.current, cal.freezes, cal.freeze_days) == (1, 1, frozenset())


def test_the_calendar_replay_agrees_with_the_stored_streak_rules():
    """The calendar's run equals content/streaks.py over the same answers (one zone)."""
    import random

    rng = random.Random(3)
    for _ in range(50):
        days = sorted({TODAY - timedelta(days=rng.randrange(60)) for _ in range(rng.randrange(1, 40))})
        state = streaks.recompute([(datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=12),
                                    "UTC", 0, True) for d in days])
        now = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=20)
        cal = streak_calendar(days, TODAY)
        assert cal.current == streaks.displayed_current(state, now, "UTC")
        assert cal.freezes == state.freezes


def test_answers_by_day_keeps_the_last_26_weeks():
    days = [Day(TODAY, 3), Day(TODAY - timedelta(weeks=26), 5), Day(TODAY - timedelta(days=181), 2),
            Day(TODAY + timedelta(days=1), 1)]
    assert answers_by_day(days, TODAY) == {TODAY: 3, TODAY - timedelta(days=181): 2}


# ---- mastery -------------------------------------------------------------------------------

def card_after(rating, reviewed_at):
    card, _ = review(None, rating, reviewed_at, card_id=1)
    return card


def test_retrievability_falls_as_time_passes():
    card = card_after(Rating.Good, NOW)
    assert retrievability(card, NOW) == pytest.approx(1.0)
    later = [retrievability(card, NOW + timedelta(days=d)) for d in (1, 5, 30)]
    assert later == sorted(later, reverse=True) and 0 < later[-1] < 0.9


def test_mastery_is_card_retrievability_with_recent_accuracy_for_topics_without_cards():
    old = card_after(Rating.Again, NOW - timedelta(days=20))
    fresh = card_after(Rating.Good, NOW)
    rows = topic_mastery([("cnn", old), ("cnn", fresh), ("rnn", fresh)],
                         recent={"cnn": 0.1, "gans": 0.4, "unknown": 0.0},
                         answered={"cnn": 2, "rnn": 1, "gans": 5}, now=NOW)
    assert [r.topic for r in rows] == ["gans", "cnn", "rnn"]  # weakest first
    gans, cnn, rnn = rows
    assert gans == TopicMastery("gans", 0.4, 5, "accuracy")
    assert cnn.kind == "retrievability"
    week = NOW + HORIZON  # mastery looks a week ahead
    assert cnn.mastery == pytest.approx((retrievability(old, week) + retrievability(fresh, week)) / 2)
    assert rnn.answered == 1


def test_a_topic_missed_today_is_weaker_than_one_answered_well_today():
    missed, nailed = card_after(Rating.Again, NOW), card_after(Rating.Good, NOW)
    rows = topic_mastery([("cnn", missed), ("rnn", nailed)], recent={}, answered={}, now=NOW)
    assert [r.topic for r in rows] == ["cnn", "rnn"]
    assert rows[0].mastery < rows[1].mastery < 1.0


def test_at_most_ten_topics_weakest_first():
    recent = {f"t{i:02d}": i / 20 for i in range(15)}
    rows = topic_mastery([], recent, {}, NOW)
    assert [r.topic for r in rows] == [f"t{i:02d}" for i in range(10)]


# ---- forecast ------------------------------------------------------------------------------

def test_forecast_counts_due_cards_per_local_day_with_overdue_today():
    dues = ["2026-03-01T10:00:00Z", "2026-03-08T14:30:00Z", "2026-03-08T15:30:00Z",
            "2026-03-09T09:00:00Z", "2026-03-14T12:00:00Z", "2026-03-15T12:00:00Z"]
    cards = [{"due": d} for d in dues]
    assert review_forecast(cards, NOW, "UTC") == [3, 1, 0, 0, 0, 0, 1]
    # in Tokyo (UTC+9) it is already 21:00: 15:30 UTC is tomorrow there, and the card due at
    # 12:00 UTC on Mar 15 (21:00 in Tokyo) is 7 days ahead, past the forecast
    assert review_forecast(cards, NOW, "Asia/Tokyo") == [2, 2, 0, 0, 0, 0, 1]


def test_stats_view_has_the_captions_numbers():
    days = [Day(TODAY, 2, correct=1, partial=1), Day(TODAY - timedelta(days=1), 2, correct=0)]
    card = card_after(Rating.Good, NOW - timedelta(days=3))
    view = stats_view(days=days, cards=[("cnn", card)], recent={"cnn": 0.5}, answered={"cnn": 4},
                      current=1, longest=4, now=NOW, tz="UTC")
    assert (view.answered, view.accuracy, view.current, view.longest) == (4, 0.375, 1, 4)
    assert view.mastery_kind == "retrievability"
    assert view.calendar.streak_days == {TODAY}  # yesterday's answers were all wrong
    assert view.due_today + view.due_tomorrow == sum(view.forecast[:2])


# ---- the weekly digest ---------------------------------------------------------------------

def test_the_digest_sums_the_last_seven_days_and_names_best_and_weakest():
    days = [Day(TODAY, 3, correct=3), Day(TODAY - timedelta(days=2), 1, partial=1),
            Day(TODAY - timedelta(days=7), 9, correct=9)]
    topics = [TopicMastery("gans", 0.2, 3, "retrievability"), TopicMastery("cnn", 0.9, 4, "retrievability")]
    digest = weekly_digest(days=days, topics=topics, current=1, longest=5, today=TODAY)
    assert (digest.answered, digest.days_practised, digest.accuracy) == (4, 2, 0.875)
    assert [n for _, n in digest.week] == [0, 0, 0, 0, 1, 0, 3]
    assert digest.week[0][0] == TODAY - timedelta(days=6)
    assert (digest.best, digest.weakest, digest.suggested) == ("cnn", "gans", "gans")
    lone = weekly_digest(days=[], topics=topics[:1], current=0, longest=0, today=TODAY)
    assert (lone.best, lone.weakest, lone.answered) == (None, "gans", 0)
    assert weekly_digest(days=[], topics=[], current=0, longest=0, today=TODAY).suggested is None


@pytest.mark.parametrize(("utc", "tz", "due"), [
    ("2026-03-08 17:59", "UTC", False),
    ("2026-03-08 18:00", "UTC", True),
    ("2026-03-08 23:59", "UTC", True),
    ("2026-03-09 00:00", "UTC", False),  # Monday: missed evenings are not made up
    ("2026-03-08 09:00", "Asia/Tokyo", True),  # 18:00 in Tokyo
    ("2026-03-08 08:59", "Asia/Tokyo", False),
    ("2026-03-08 21:59", "America/New_York", False),  # 17:59 EDT (DST began that morning)
    ("2026-03-08 22:00", "America/New_York", True),  # 18:00 EDT, not 18:00 EST (23:00 UTC)
])
def test_digest_is_due_on_the_weekday_evening_in_the_learners_zone(utc, tz, due):
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    week = digest_due(now, tz, 6, None)
    local_sunday = now.astimezone(ZoneInfo(tz)).weekday() == 6
    assert (week is not None) == due
    if due:
        assert local_sunday and week == date(2026, 3, 2)


def test_digest_is_due_once_per_week():
    evening = datetime(2026, 3, 8, DIGEST_HOUR, 30, tzinfo=UTC)
    assert digest_due(evening, "UTC", 6, date(2026, 3, 2)) is None
    assert digest_due(evening, "UTC", 6, date(2026, 2, 23)) == date(2026, 3, 2)
    assert digest_due(evening + timedelta(weeks=1), "UTC", 6, date(2026, 3, 2)) == date(2026, 3, 9)
    assert digest_due(evening, "UTC", 2, None) is None  # chose Wednesday


def test_the_candidate_window_holds_every_zones_digest():
    """Whatever the zone, a due digest's weekday and week pass the storage prefilter."""
    for hour in range(0, 24 * 7, 5):
        now = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=hour)
        weekdays, before_week, active_since = digest_window(now)
        assert active_since < now
        for tz in ("Pacific/Kiritimati", "Etc/GMT+12", "UTC", "Asia/Kolkata", "America/Los_Angeles"):
            for weekday in range(7):
                week = digest_due(now, tz, weekday, None)
                if week is not None:
                    # the week before is claimed at most: the learner is still listed
                    assert weekday in weekdays and week - timedelta(weeks=1) < before_week
                    assert digest_due(now, tz, weekday, week - timedelta(weeks=1)) == week


def test_week_monday_and_weekday_names():
    assert week_monday(TODAY) == date(2026, 3, 2) and week_monday(date(2026, 3, 2)) == date(2026, 3, 2)
    assert [parse_weekday(w) for w in ("sunday", "Sun", "MONDAY", "tu", "th", "fri.")] == [6, 6, 0, 1, 3, 4]
    assert [parse_weekday(w) for w in ("t", "s", "", "someday", "on")] == [None] * 5


def test_missed_core_ideas_are_the_core_terms_not_matched():
    from content.bank import Question, make_term

    question = Question("q", "intermediate", ("cnn",), "Why?", "Because.", (
        make_term("weight sharing", core=True), make_term("locality", core=True),
        make_term("pooling")))
    assert missed_core(question, ["locality", "pooling"]) == ["weight sharing"]
    assert missed_core(question, ["weight sharing", "locality"]) == []
