from datetime import date

import pytest

from content.streaks import StreakState
from storage import answers as answers_module
from storage.errors import StorageError
from storage.models import AnswerContext, StreakInfo, TopicStats, UserStats

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at


def setup_private(store, user_id=1, messages=(10,)):
    add_user(store, user_id)
    add_private_chat(store, user_id)
    for message_id in messages:
        ask(store, user_id, message_id, f"q-{message_id}")


def count(store, table):
    return store.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_record_attempt_stores_the_grade_points_and_local_date(store):
    setup_private(store)
    result = answer(store, 1, 1, 10, now=at("2025-03-10 23:30"), tz="Europe/Berlin",
                    matched=["stride", "padding"])
    assert result.points == 3 and result.is_new_day is True
    assert result.streak == StreakState(1, 1, date(2025, 3, 11), at("2025-03-10 23:30"))
    row = store.get_attempt(1, 1, 10)
    assert row.id == result.attempt_id
    assert (row.verdict, row.score, row.matched) == ("correct", 1.0, ("stride", "padding"))
    assert (row.local_date, row.tz) == (date(2025, 3, 11), "Europe/Berlin")
    assert row.used_hint is False and row.revealed is False


@pytest.mark.parametrize("verdict, points", [("correct", 3), ("partial", 1), ("incorrect", 0)])
def test_points_are_3_for_correct_1_for_partial_0_for_incorrect(store, verdict, points):
    setup_private(store)
    assert answer(store, 1, 1, 10, verdict=verdict).points == points


def test_record_attempt_twice_for_same_message_counts_once(store):
    setup_private(store)
    assert answer(store, 1, 1, 10) is not None
    assert answer(store, 1, 1, 10, verdict="incorrect", now=at("2025-03-10 12:01")) is None
    assert count(store, "attempts") == 1
    assert store.get_attempt(1, 1, 10).verdict == "correct"
    assert store.user_stats(1).points_total == 3


def test_two_members_may_each_answer_the_same_group_question(store):
    add_user(store, 1)
    add_user(store, 2, name="Bob")
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    ask(store, -5, 10)
    assert answer(store, 1, -5, 10) is not None
    assert answer(store, 2, -5, 10, verdict="partial") is not None
    assert answer(store, 2, -5, 10) is None


def test_revealed_answer_is_recorded_as_incorrect_with_no_points(store):
    setup_private(store)
    result = answer(store, 1, 1, 10, verdict="correct", score=0.9, revealed=True)
    assert result.points == 0 and result.is_new_day is False
    row = store.get_attempt(1, 1, 10)
    assert (row.verdict, row.score, row.revealed) == ("incorrect", 0.0, True)
    assert store.streak_state(1) == StreakState()


def test_hint_marked_before_answering_is_stored_on_the_attempt(store):
    setup_private(store, messages=(10, 11))
    assert store.mark_hint_used(1, 1, 10, T0) is True
    assert store.mark_hint_used(1, 1, 10, T0) is False
    answer(store, 1, 1, 10)
    answer(store, 1, 1, 11)
    assert store.get_attempt(1, 1, 10).used_hint is True
    assert store.get_attempt(1, 1, 11).used_hint is False


def test_unknown_verdict_or_zone_is_rejected_before_writing(store):
    setup_private(store)
    with pytest.raises(ValueError):
        answer(store, 1, 1, 10, verdict="correct", tz="Nowhere/City")
    with pytest.raises(ValueError):
        store.record_attempt(user_id=1, chat_id=1, question_id="q", question_message_id=10,
                             topic=None, score=1, verdict="great", matched=[],
                             used_hint=False, revealed=False, now=T0, tz_name="UTC")
    assert count(store, "attempts") == 0


def test_a_failing_statement_inside_record_attempt_rolls_everything_back(store):
    setup_private(store)
    store.db.execute("""CREATE TEMP TRIGGER fail_streak BEFORE INSERT ON main.streaks
                        BEGIN SELECT RAISE(ABORT, 'injected failure'); END""")
    with pytest.raises(StorageError, match="injected failure"):
        answer(store, 1, 1, 10)
    assert count(store, "attempts") == 0
    assert count(store, "streaks") == 0
    store.db.execute("DROP TRIGGER temp.fail_streak")
    assert answer(store, 1, 1, 10) is not None  # nothing half-written blocks a retry


def test_a_python_error_inside_record_attempt_rolls_back_too(store, monkeypatch):
    setup_private(store)

    def explode(*args, **kwargs):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(answers_module.streaks, "advance_detailed", explode)
    with pytest.raises(RuntimeError):
        answer(store, 1, 1, 10)
    assert count(store, "attempts") == 0
    assert not store.db.conn.in_transaction


def test_answer_older_than_the_last_counted_one_recomputes_the_streak(store):
    setup_private(store, messages=(10, 11, 12))
    answer(store, 1, 1, 10, now=at("2025-03-10 09:00"))
    answer(store, 1, 1, 12, now=at("2025-03-12 09:00"))
    result = answer(store, 1, 1, 11, now=at("2025-03-11 09:00"))  # arrives late
    assert (result.streak.current, result.streak.longest) == (3, 3)
    assert store.streak_state(1).last_at == at("2025-03-12 09:00")


def test_streak_shows_zero_after_a_missed_day_but_keeps_the_longest(store):
    setup_private(store, messages=(10, 11, 12))
    answer(store, 1, 1, 10, now=at("2025-03-10 09:00"))
    answer(store, 1, 1, 11, now=at("2025-03-11 09:00"))
    assert store.streak(1, at("2025-03-12 20:00"), "UTC") == (2, 2)
    assert store.streak(1, at("2025-03-13 00:30"), "UTC") == (0, 2)
    result = answer(store, 1, 1, 12, now=at("2025-03-13 09:00"))
    assert (result.streak.current, result.streak.longest, result.is_new_day) == (1, 2, True)


def test_streak_uses_the_users_day_start_hour_by_default(store):
    setup_private(store)
    store.set_user_day_start_hour(1, 4)
    answer(store, 1, 1, 10, now=at("2025-03-10 23:00"), day_start_hour=4)
    # 02:00 on the 12th is still the 11th for this user: the streak is alive
    assert store.streak(1, at("2025-03-12 02:00"), "UTC") == (1, 1)
    assert store.streak(1, at("2025-03-12 02:00"), "UTC", day_start_hour=0) == (0, 1)


def test_second_answer_on_the_same_day_is_not_a_new_day(store):
    setup_private(store, messages=(10, 11))
    answer(store, 1, 1, 10, now=at("2025-03-10 09:00"))
    result = answer(store, 1, 1, 11, now=at("2025-03-10 18:00"), verdict="partial")
    assert result.is_new_day is False and result.streak.current == 1


def test_open_question_is_the_latest_question_not_yet_answered_or_revealed(store):
    setup_private(store)
    assert store.open_question(1, 1).message_id == 10
    ask(store, 1, 11, "q-11", now=at("2025-03-10 13:00"))
    assert store.open_question(1, 1).message_id == 11
    answer(store, 1, 1, 11, revealed=True)
    assert store.open_question(1, 1).message_id == 10
    answer(store, 1, 1, 10)
    assert store.open_question(1, 1) is None


def test_get_question_message_maps_an_old_message_back_to_its_question(store):
    setup_private(store)
    message = store.get_question_message(1, 10)
    assert (message.question_id, message.source) == ("q-10", "quiz")
    assert store.get_question_message(1, 999) is None


def test_record_question_message_rejects_unknown_sources(store):
    setup_private(store)
    with pytest.raises(ValueError):
        ask(store, 1, 50, source="spam")


def test_user_stats_counts_verdicts_accuracy_topics_days_and_points(store):
    setup_private(store, messages=range(10, 15))
    answer(store, 1, 1, 10, verdict="correct", topic="cnn", now=at("2025-03-10 09:00"))
    answer(store, 1, 1, 11, verdict="partial", topic="cnn", now=at("2025-03-10 10:00"))
    answer(store, 1, 1, 12, verdict="incorrect", topic="rnn", now=at("2025-03-11 09:00"))
    answer(store, 1, 1, 13, verdict="partial", topic=None, now=at("2025-03-12 09:00"))
    stats = store.user_stats(1)
    assert stats == UserStats(
        answered=4, correct=1, partial=2, incorrect=1, accuracy=(1 + 0.5 * 2) / 4,
        per_topic=(TopicStats("cnn", answered=2, accuracy=0.75),
                   TopicStats("rnn", answered=1, accuracy=0.0),
                   TopicStats("unknown", answered=1, accuracy=0.5)),
        days_practised=3, points_total=5)
    assert store.user_stats(1, chat_id=-42).answered == 0


def test_user_stats_of_someone_without_answers_is_all_zero(store):
    assert store.user_stats(404) == UserStats(
        answered=0, correct=0, partial=0, incorrect=0, accuracy=0.0, per_topic=(),
        days_practised=0, points_total=0)


def test_leaderboard_orders_by_points_and_respects_since(store):
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    for user_id, name in [(1, "Ada"), (2, "Bob"), (3, "Cy")]:
        add_user(store, user_id, name=name)
    for message_id in range(10, 14):
        ask(store, -5, message_id)
    answer(store, 1, -5, 10, verdict="correct", now=at("2025-03-03 09:00"))  # last week
    answer(store, 1, -5, 11, verdict="partial", now=at("2025-03-10 09:00"))
    answer(store, 2, -5, 11, verdict="correct", now=at("2025-03-10 09:00"))
    answer(store, 3, -5, 11, verdict="partial", now=at("2025-03-10 09:00"))
    answer(store, 3, -5, 12, verdict="incorrect", now=at("2025-03-10 10:00"))
    week = store.leaderboard(-5, since=at("2025-03-10 00:00"))
    assert [(r.user_id, r.points, r.answered, r.correct) for r in week] == \
        [(2, 3, 1, 1), (1, 1, 1, 0), (3, 1, 2, 0)]
    assert week[0].first_name == "Bob" and week[0].username == "bob"
    all_time = store.leaderboard(-5, since=None, limit=1)
    assert [(r.user_id, r.points) for r in all_time] == [(1, 4)]


# ---- streak freezes through the Store -----------------------------------------


def answer_days(store, days, user_id=1, hour="09:00", first_message=100, **kw):
    """One correct answer per listed March 2025 day; returns the results."""
    results = []
    for n, day in enumerate(days):
        ask(store, user_id, first_message + n, f"q-{first_message + n}")
        results.append(answer(store, user_id, user_id, first_message + n,
                              now=at(f"2025-03-{day:02d} {hour}"), **kw))
    return results


def test_record_attempt_reports_the_freeze_that_saved_the_streak(store):
    setup_private(store, messages=())
    results = answer_days(store, range(1, 8))
    assert [r.freezes_used for r in results] == [0] * 7
    assert results[-1].streak.freezes == 1
    saved = answer_days(store, [9], first_message=200)[0]  # the 8th was missed
    assert (saved.freezes_used, saved.is_new_day) == (1, True)
    assert (saved.streak.current, saved.streak.freezes) == (8, 0)
    again = answer_days(store, [9], hour="18:00", first_message=300)[0]
    assert again.freezes_used == 0 and again.is_new_day is False
    assert store.streak_state(1) == store.recompute_streak(1, at("2025-03-09 19:00"))


def test_a_late_answer_that_recomputes_reports_no_freeze_used(store):
    setup_private(store, messages=())
    answer_days(store, range(1, 8))
    answer_days(store, [9], first_message=200)  # spends the freeze on the 8th
    late = answer_days(store, [8], first_message=300)[0]  # the 8th, arriving late
    assert late.freezes_used == 0
    assert (late.streak.current, late.streak.freezes) == (9, 1)  # no gap now: freeze back


def test_streak_info_shows_current_longest_freezes_and_last_day(store):
    setup_private(store, messages=())
    assert store.streak_info(1, at("2025-03-01 12:00"), "UTC") == StreakInfo(
        current=0, longest=0, freezes=0, last_day=None)
    answer_days(store, range(1, 8))
    assert store.streak_info(1, at("2025-03-08 12:00"), "UTC") == StreakInfo(
        current=7, longest=7, freezes=1, last_day=date(2025, 3, 7))
    # the 8th missed: one freeze can still save it today, the 9th
    assert store.streak_info(1, at("2025-03-09 23:00"), "UTC").current == 7
    assert store.streak(1, at("2025-03-09 23:00"), "UTC") == (7, 7)
    info = store.streak_info(1, at("2025-03-10 00:00"), "UTC")
    assert (info.current, info.longest, info.freezes) == (0, 7, 1)


def test_streak_info_uses_the_users_stored_day_start_hour(store):
    setup_private(store, messages=())
    store.set_user_day_start_hour(1, 4)
    answer_days(store, [10], hour="23:00", day_start_hour=4)
    # 02:00 on the 12th is still the 11th for this user: nothing missed yet
    assert store.streak_info(1, at("2025-03-12 02:00"), "UTC").current == 1
    store.set_user_day_start_hour(1, 0)
    assert store.streak_info(1, at("2025-03-12 02:00"), "UTC").current == 0


def test_hint_used_reports_a_marked_hint(store):
    setup_private(store, messages=(10, 11))
    store.mark_hint_used(1, 1, 10, T0)
    assert store.hint_used(1, 1, 10) is True
    assert store.hint_used(1, 1, 11) is False
    assert store.hint_used(2, 1, 10) is False


def test_answer_context_reads_everything_grading_needs_in_one_call(store):
    """The bot's answer path makes one storage call before grading, not five."""
    setup_private(store, messages=(10, 11))
    store.mark_hint_used(1, 1, 10, T0)
    answer(store, 1, 1, 11, question_id="q-11")
    replied = store.answer_context(1, 1, 10)  # a reply to the older question
    assert replied.user.first_name == "Ada"
    assert (replied.question.message_id, replied.question.question_id) == (10, "q-10")
    assert replied.attempt is None and replied.used_hint is True and replied.card is None

    repeat = store.answer_context(1, 1, 11)  # answered already: the attempt says so
    assert repeat.attempt.verdict == "correct" and repeat.used_hint is False

    plain = store.answer_context(1, 1)  # not a reply: the open question
    assert plain.question.message_id == 10
    assert store.answer_context(1, 1, 999).question.message_id == 10  # not a question message


def test_answer_context_of_a_stranger_and_of_a_group_member(store):
    assert store.answer_context(7, 7) == AnswerContext(user=None, question=None, attempt=None,
                                                       used_hint=False, card=None)
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    ask(store, -5, 20, "q-20")
    member = store.answer_context(8, -5, 20)  # a group member who never sent /start
    assert member.user is None and member.question.question_id == "q-20"
