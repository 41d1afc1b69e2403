"""The tutor's rules (content/tutor.py), tested as plain functions: no bot, no database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Rating

from content.tutor import (
    classify_message,
    give_up,
    grade_answer,
    interview_questions,
    interview_summary,
    next_question,
    reminder_day,
    still_open,
    streak_moments,
)
from tests.learners import DROPOUT_RIGHT

NOW = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # a Monday evening


@pytest.mark.parametrize("text, kind", [
    ("hi", "chitchat"), ("Thanks!", "chitchat"), ("ok", "chitchat"), ("wait", "chitchat"),
    ("Hmm, let me think about this one", "chitchat"), ("🤔🤷", "chitchat"), ("...", "chitchat"),
    ("what does ReLU mean?", "question"), ("how is this graded?", "question"),
    ("idk", "skip"), ("I don't know", "skip"), ("skip", "skip"), ("pass", "skip"), ("🤷", "skip"),
    ("dropout", "borderline"), ("L2 penalty", "borderline"),
    ("lr too big diverges, too small crawls", "answer"),
    ("it randomly zeroes units so neurons cannot co-adapt", "answer"),
    ("what is the point of dropout? it stops co-adaptation by zeroing random units during training", "answer"),
])
def test_classify_message(text, kind):
    assert classify_message(text) == kind


def test_a_daily_question_closes_at_the_end_of_its_local_day():
    sent = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert still_open(sent, "daily", sent + timedelta(hours=12), "UTC")
    assert not still_open(sent, "daily", sent + timedelta(days=1), "UTC")
    assert still_open(sent, "daily", datetime(2026, 3, 3, 2, 0, tzinfo=UTC), "UTC", day_start_hour=4)  # before 04:00
    assert still_open(sent, "review", sent + timedelta(days=3), "UTC")


def test_grading_schedules_the_card_by_the_grade(bank):
    question = bank.get("dropout-basics") or bank.questions[0]
    right = grade_answer(question, DROPOUT_RIGHT, user_id=1, card=None, used_hint=False, now=NOW)
    wrong = grade_answer(question, "it makes the network bigger", user_id=1, card=None, used_hint=False, now=NOW)
    assert right.verdict == "correct" and right.rating in (Rating.Good, Rating.Easy)
    assert wrong.verdict == "incorrect" and wrong.rating == Rating.Again
    assert datetime.fromisoformat(right.card["due"]) > datetime.fromisoformat(wrong.card["due"])
    long = grade_answer(question, DROPOUT_RIGHT + " x" * 5000, user_id=1, card=None, used_hint=False, now=NOW)
    assert long.truncated and long.verdict == "correct"


def test_giving_up_is_rated_again_and_records_no_score(bank):
    outcome = give_up(bank.questions[0], user_id=1, card=None, now=NOW)
    assert outcome.revealed and outcome.rating == Rating.Again and outcome.score == 0.0 and outcome.grade is None


def test_due_cards_come_first_then_unseen_questions(bank):
    rng = random.Random(3)
    first, second = bank.questions[0], bank.questions[1]
    assert next_question(bank, level="all", recent=[], due=[second.id], seen=[first.id], rng=rng) == second
    assert next_question(bank, level="all", recent=[], seen=[first.id], rng=rng) == second
    topic = first.topics[0]
    assert next_question(bank, level="all", recent=[], rng=rng, topic=topic).topics[0] == topic


def test_interview_on_a_topic_says_when_it_had_to_borrow(bank):
    topic = bank.questions[0].topics[0]
    questions, filled = interview_questions(bank, level="all", topic=topic, recent=[], rng=random.Random(1), length=5)
    assert questions and all(topic in q.topics for q in questions) and filled


def test_interview_summary_lists_verdicts_missed_ideas_and_weak_topics(bank):
    a, b = bank.questions[0], bank.questions[1]
    summary = interview_summary(bank, [a.id, b.id], {a.id: ("correct", 0.9)}, {a.id: []})
    assert [line.answered for line in summary.lines] == [True, False]
    assert summary.weakest == (b.topic,) and summary.strongest == (a.topic,)
    assert summary.review_topic == b.topic and summary.average == pytest.approx(0.45)


def test_streak_moments_are_said_once():
    assert streak_moments(current=7, new_day=True, freezes_used=0, freezes_held=1) == ["freeze_earned", "milestone:7"]
    assert streak_moments(current=7, new_day=False, freezes_used=0, freezes_held=1) == []
    assert streak_moments(current=12, new_day=True, freezes_used=1, freezes_held=0) == ["freeze_used"]
    assert streak_moments(current=30, new_day=True, freezes_used=0, freezes_held=2) == ["milestone:30"]


def test_reminder_only_in_the_evening_of_a_day_at_risk():
    yesterday = date(2026, 3, 1)
    assert reminder_day(tz="UTC", day_start_hour=0, last_day=yesterday, current=3, now=NOW) == date(2026, 3, 2)
    assert reminder_day(tz="UTC", day_start_hour=0, last_day=yesterday, current=3, now=NOW - timedelta(hours=4)) is None
    assert reminder_day(tz="UTC", day_start_hour=0, last_day=date(2026, 3, 2), current=3, now=NOW) is None
    assert reminder_day(tz="Asia/Tokyo", day_start_hour=0, last_day=yesterday, current=3, now=NOW) is None  # 05:00 there


def test_freed_memory_is_given_back_where_glibc_is():
    import platform

    from bot.jobs.housekeeping import release_free_memory

    assert release_free_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
