"""The streak and freeze rules (content/streaks.py), pure: no SQLite. How the stored streak
follows them is tests/test_storage_streaks.py."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from content.streaks import (
    EMPTY,
    MAX_FREEZES,
    StreakState,
    StreakUpdate,
    advance,
    advance_detailed,
    displayed_current,
    missed_days,
    recompute,
)


def at(text: str) -> datetime:
    """An exact UTC instant: at("2025-03-30 01:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati",
         "Pacific/Pago_Pago", "Asia/Kolkata", "UTC+05:45", "UTC-03:30"]


def fold(items):
    state = EMPTY
    for answered_at, tz, dsh, qualifying in items:
        if qualifying:
            state = advance(state, answered_at, tz, dsh)
    return state


def test_first_qualifying_answer_starts_a_streak_of_one():
    state = advance(EMPTY, at("2025-03-10 10:00"), "UTC")
    assert state == StreakState(1, 1, date(2025, 3, 10), at("2025-03-10 10:00"), freezes=0)


def test_several_answers_on_one_day_count_once():
    state = advance(EMPTY, at("2025-03-10 08:00"), "UTC")
    state = advance(state, at("2025-03-10 12:00"), "UTC")
    state = advance(state, at("2025-03-10 23:59"), "UTC")
    assert (state.current, state.longest) == (1, 1)


def test_consecutive_days_extend_the_streak():
    state = EMPTY
    for day in range(10, 15):
        state = advance(state, at(f"2025-03-{day} 20:00"), "UTC")
    assert (state.current, state.longest) == (5, 5)


def test_a_missed_day_restarts_at_one_and_keeps_the_longest():
    state = EMPTY
    for moment in ["2025-03-10 09:00", "2025-03-11 09:00", "2025-03-12 09:00",
                   "2025-03-14 09:00"]:
        state = advance(state, at(moment), "UTC")
    assert (state.current, state.longest) == (1, 3)


def test_displayed_streak_is_zero_once_a_whole_day_was_missed():
    state = advance(advance(EMPTY, at("2025-03-10 09:00"), "UTC"), at("2025-03-11 09:00"), "UTC")
    assert displayed_current(state, at("2025-03-11 23:00"), "UTC") == 2
    assert displayed_current(state, at("2025-03-12 23:59"), "UTC") == 2  # can still answer
    assert displayed_current(state, at("2025-03-13 00:00"), "UTC") == 0
    assert displayed_current(EMPTY, at("2025-03-13 00:00"), "UTC") == 0


def test_day_start_hour_lets_a_1am_answer_count_for_the_previous_day():
    state = advance(EMPTY, at("2025-03-10 20:00"), "UTC", day_start_hour=4)
    state = advance(state, at("2025-03-11 01:00"), "UTC", day_start_hour=4)  # still the 10th
    assert state.current == 1
    state = advance(state, at("2025-03-11 05:00"), "UTC", day_start_hour=4)
    assert state.current == 2


def test_flying_east_across_midnight_does_not_fake_an_extra_day():
    # 23:30 in New York, then 5 hours later in Berlin (next calendar day there,
    # but the same day when both instants are seen from Berlin)
    state = advance(EMPTY, at("2025-03-11 03:30"), "America/New_York")  # 23:30 on the 10th
    state = advance(state, at("2025-03-11 08:30"), "Europe/Berlin")  # 09:30 on the 11th
    # Seen from Berlin the first answer was 04:30 on the 11th: same day.
    assert state.current == 1


def test_flying_west_does_not_break_a_streak():
    # 08:00 on the 10th in Berlin, then 20:00 on the 11th in New York
    state = advance(EMPTY, at("2025-03-10 07:00"), "Europe/Berlin")
    state = advance(state, at("2025-03-12 00:00"), "America/New_York")  # 20:00 on the 11th NY
    assert state.current == 2


def test_dst_switch_neither_breaks_nor_fakes_a_streak():
    # 23:30 local on both sides of Berlin's spring-forward night (a 23-hour day)
    state = advance(EMPTY, at("2025-03-29 22:30"), "Europe/Berlin")  # 23:30 CET, 29th
    state = advance(state, at("2025-03-30 21:30"), "Europe/Berlin")  # 23:30 CEST, 30th
    assert state.current == 2
    state = advance(state, at("2025-03-30 21:45"), "Europe/Berlin")
    assert state.current == 2


def test_advance_refuses_answers_older_than_the_last_counted_one():
    state = advance(EMPTY, at("2025-03-10 10:00"), "UTC")
    with pytest.raises(ValueError, match="recompute"):
        advance(state, at("2025-03-10 09:00"), "UTC")


def test_recompute_sorts_history_and_ignores_non_qualifying_answers():
    history = [
        (at("2025-03-12 09:00"), "UTC", 0, True),
        (at("2025-03-10 09:00"), "UTC", 0, True),
        (at("2025-03-11 09:00"), "UTC", 0, False),
    ]
    state = recompute(history)
    assert (state.current, state.longest, state.last_day) == (1, 1, date(2025, 3, 12))


# ---- streak freezes ----------------------------------------------------------


def daily(first_day: int, last_day: int, state=EMPTY, hour: str = "20:00"):
    """Answer every day of March 2025 from first_day to last_day (UTC)."""
    for day in range(first_day, last_day + 1):
        state = advance(state, at(f"2025-03-{day:02d} {hour}"), "UTC")
    return state


def test_seven_days_in_a_row_earn_a_freeze_and_two_is_the_most_held():
    assert daily(1, 6).freezes == 0
    assert daily(1, 7).freezes == 1
    assert daily(1, 13).freezes == 1
    assert daily(1, 14).freezes == 2
    assert daily(1, 28).freezes == MAX_FREEZES == 2  # 21 and 28 earn nothing more
    assert (daily(1, 28).current, daily(1, 28).longest) == (28, 28)


def test_a_missed_day_uses_a_freeze_and_the_streak_continues():
    state = daily(1, 7)  # 7 days, one freeze
    update = advance_detailed(state, at("2025-03-09 20:00"), "UTC")  # the 8th was missed
    assert update == StreakUpdate(
        StreakState(8, 8, date(2025, 3, 9), at("2025-03-09 20:00"), freezes=0), 1, True)
    # a second answer that day spends nothing more and is not a new day
    again = advance_detailed(update.state, at("2025-03-09 21:00"), "UTC")
    assert (again.state.current, again.state.freezes, again.freezes_used, again.new_day) == \
        (8, 0, 0, False)


def test_two_missed_days_need_two_freezes():
    state = daily(1, 14)  # two freezes
    update = advance_detailed(state, at("2025-03-17 20:00"), "UTC")  # 15th and 16th missed
    assert (update.state.current, update.state.freezes, update.freezes_used) == (15, 0, 2)


def test_too_few_freezes_restart_the_streak_and_are_kept():
    state = daily(1, 7)  # one freeze
    update = advance_detailed(state, at("2025-03-10 20:00"), "UTC")  # 8th and 9th missed
    assert (update.state.current, update.state.longest, update.state.freezes) == (1, 7, 1)
    assert update.freezes_used == 0 and update.new_day is True
    # ... and the kept freeze saves a later gap
    state = advance(update.state, at("2025-03-12 20:00"), "UTC")  # 11th missed
    assert (state.current, state.freezes) == (2, 0)


def test_the_freeze_spent_on_the_way_to_day_seven_is_earned_back_at_once():
    state = daily(1, 7)
    state = daily(9, 14, state)  # 8th missed: freeze used, then day 14 of the streak earns
    assert (state.current, state.freezes) == (13, 0)
    state = advance(state, at("2025-03-15 20:00"), "UTC")
    assert (state.current, state.freezes) == (14, 1)


def test_freezes_bridge_gaps_measured_in_the_new_answers_zone():
    # 7 days in Berlin, then an answer from New York: the gap is counted on
    # New York's calendar, so a late-evening flight west misses no day
    state = EMPTY
    for day in range(1, 8):
        state = advance(state, at(f"2025-03-{day:02d} 08:00"), "Europe/Berlin")
    update = advance_detailed(state, at("2025-03-09 03:00"), "America/New_York")  # 22:00 8th NY
    assert (update.state.current, update.freezes_used) == (8, 0)


def test_displayed_streak_survives_missed_days_the_freezes_can_still_cover():
    state = daily(1, 7)  # last answer on the 7th, one freeze
    assert missed_days(state, at("2025-03-08 23:00"), "UTC") == 0
    assert displayed_current(state, at("2025-03-08 23:00"), "UTC") == 7
    assert missed_days(state, at("2025-03-09 12:00"), "UTC") == 1
    assert displayed_current(state, at("2025-03-09 12:00"), "UTC") == 7  # answer today: saved
    assert displayed_current(state, at("2025-03-10 00:00"), "UTC") == 0  # two missed, one freeze
    two = daily(1, 14)
    assert displayed_current(two, at("2025-03-17 23:59"), "UTC") == 14
    assert displayed_current(two, at("2025-03-18 00:00"), "UTC") == 0


def reference(days: list[date]) -> tuple[int, int, int]:
    """The freeze rules restated over plain dates: (current, longest, freezes)."""
    current = longest = freezes = 0
    previous = None
    for day in sorted(set(days)):
        if previous is None:
            current = 1
        else:
            missed = (day - previous).days - 1
            if missed <= freezes:
                freezes -= missed
                current += 1
            else:
                current = 1
        if current % 7 == 0:
            freezes = min(2, freezes + 1)
        longest = max(longest, current)
        previous = day
    return current, longest, freezes


@given(st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=60),
       st.sampled_from(["06:00", "12:00", "23:59"]))
def test_advance_in_one_zone_matches_the_rules_restated_over_dates(day_gaps, hour):
    days, day = [], date(2025, 3, 1)
    for gap in day_gaps:
        day += timedelta(days=gap)
        days.append(day)
    state = EMPTY
    for day in days:
        state = advance(state, at(f"{day.isoformat()} {hour}"), "UTC")
    assert (state.current, state.longest, state.freezes) == reference(days)


attempt_steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60 * 60 * 60),  # gap in seconds, up to 60 h
        st.sampled_from(ZONES),
        st.sampled_from([0, 0, 0, 4]),
        st.booleans() | st.just(True),
    ),
    min_size=1, max_size=40,
)
# Mostly about a day apart, sometimes one or two days skipped: long enough
# streaks to earn freezes, and gaps for them to bridge (or not).
_GAP_KINDS = {"day": (20, 8), "same": (0, 4), "skip": (44, 32)}  # (from hour, span hours)
day_steps = st.lists(
    st.tuples(
        st.tuples(st.sampled_from(["day"] * 8 + ["same", "skip"]),
                  st.integers(min_value=0, max_value=10**6)).map(
            lambda kind: (_GAP_KINDS[kind[0]][0] * 3600
                          + kind[1] % (_GAP_KINDS[kind[0]][1] * 3600))),
        st.sampled_from(ZONES),
        st.sampled_from([0, 0, 0, 4]),
        st.sampled_from([True] * 5 + [False]),
    ),
    min_size=1, max_size=60,
)
starts = st.sampled_from([at("2025-03-27 18:00"), at("2025-10-24 18:00"),
                          at("2025-03-07 12:00"), at("2025-10-31 20:00")])


def build(start, steps):
    items, moment = [], start
    for gap, tz, dsh, qualifying in steps:
        moment = moment + timedelta(seconds=gap)
        items.append((moment, tz, dsh, qualifying))
    return items


@given(start=starts, steps=attempt_steps | day_steps)
def test_folding_advance_equals_recompute_and_longest_is_never_below_current(start, steps):
    items = build(start, steps)
    folded = fold(items)
    assert folded == recompute(items)
    assert folded.longest >= folded.current >= 0
    running = EMPTY
    for moment, tz, dsh, qualifying in items:
        if qualifying:
            update = advance_detailed(running, moment, tz, dsh)
            assert update.state == advance(running, moment, tz, dsh)
            assert 0 <= update.freezes_used <= running.freezes
            assert update.freezes_used == 0 or update.state.current == running.current + 1
            # a streak shown just before the answer is never lost by it
            if running.current and displayed_current(running, moment, tz, dsh):
                assert update.state.current >= running.current
            running = update.state
        assert running.longest >= running.current
        assert 0 <= running.freezes <= MAX_FREEZES
        assert displayed_current(running, moment, tz, dsh) <= running.current


def test_day_steps_do_reach_freezes():
    """The day-sized strategy is not vacuous: it does produce histories that earn a freeze and
    histories that spend one (hypothesis.find stops at the first; up to 2,000 tries)."""

    def events(example):
        start, steps = example
        earned = spent = False
        running = EMPTY
        for moment, tz, dsh, qualifying in build(start, steps):
            if qualifying:
                update = advance_detailed(running, moment, tz, dsh)
                earned |= update.state.freezes > running.freezes
                spent |= update.freezes_used > 0
                running = update.state
        return earned, spent

    search = settings(max_examples=2000, database=None, derandomize=True, deadline=None,
                      phases=[Phase.generate])  # the first hit will do: no shrinking
    histories = st.tuples(starts, day_steps)
    assert events(find(histories, lambda example: events(example)[0], settings=search))[0]
    assert events(find(histories, lambda example: events(example)[1], settings=search))[1]
