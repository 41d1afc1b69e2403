import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from storage.store import Store
from storage.streaks import EMPTY, StreakState, advance, displayed_current, recompute
from storage_fixtures import add_private_chat, add_user, answer, ask, at

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
    assert state == StreakState(1, 1, date(2025, 3, 10), at("2025-03-10 10:00"))


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


attempt_steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60 * 60 * 60),  # gap in seconds, up to 60 h
        st.sampled_from(ZONES),
        st.sampled_from([0, 0, 0, 4]),
        st.booleans() | st.just(True),
    ),
    min_size=1, max_size=40,
)
starts = st.sampled_from([at("2025-03-27 18:00"), at("2025-10-24 18:00"),
                          at("2025-03-07 12:00"), at("2025-10-31 20:00")])


def build(start, steps):
    items, moment = [], start
    for gap, tz, dsh, qualifying in steps:
        moment = moment + timedelta(seconds=gap)
        items.append((moment, tz, dsh, qualifying))
    return items


@settings(max_examples=400, deadline=None)
@given(start=starts, steps=attempt_steps)
def test_folding_advance_equals_recompute_and_longest_is_never_below_current(start, steps):
    items = build(start, steps)
    folded = fold(items)
    assert folded == recompute(items)
    assert folded.longest >= folded.current >= 0
    running = EMPTY
    for moment, tz, dsh, qualifying in items:
        if qualifying:
            running = advance(running, moment, tz, dsh)
        assert running.longest >= running.current
        assert displayed_current(running, moment, tz, dsh) <= running.current


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=starts, steps=attempt_steps)
def test_stored_streak_after_record_attempt_equals_recompute_over_stored_attempts(start, steps):
    with tempfile.TemporaryDirectory() as tmp:
        s = Store.open(Path(tmp) / "bot.db", verify=False)
        try:
            add_user(s, 7, now=start)
            add_private_chat(s, 7, now=start)
            for number, (moment, tz, dsh, qualifying) in enumerate(build(start, steps), 1):
                ask(s, 7, number, now=moment)
                answer(s, 7, 7, number, now=moment, tz=tz, day_start_hour=dsh,
                       verdict="partial" if qualifying else "incorrect")
            stored = s.streak_state(7)
            history = [
                (row["answered_at"], row["tz"], row["day_start_hour"],
                 row["verdict"] != "incorrect")
                for row in s.export_user(7)["attempts"]
            ]
        finally:
            s.close()
    from storage.db import parse_iso
    expected = recompute([(parse_iso(a), tz, dsh, q) for a, tz, dsh, q in history])
    assert stored == expected
    assert stored.longest >= stored.current
