"""Mock interviews: start / active / advance, and the results of their
question messages."""

import sqlite3

import pytest

from storage.errors import NotFound, StorageError
from storage.models import Interview

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at

QUESTIONS = ["q-attention", "q-dropout", "q-rnn"]


def private(store, user_id=1):
    add_user(store, user_id)
    add_private_chat(store, user_id)


def send(store, chat_id, message_id, interview, now=T0):
    """Record the interview's current question as sent."""
    question_id = interview.question_ids[interview.position]
    return ask(store, chat_id, message_id, question_id, source="interview",
               user_id=interview.user_id, now=now, interview_id=interview.id)


def test_start_interview_returns_it_at_the_first_question(store):
    private(store)
    interview = store.start_interview(1, 1, QUESTIONS, "attention", T0)
    assert interview == Interview(
        id=interview.id, chat_id=1, user_id=1, topic_or_level="attention",
        question_ids=tuple(QUESTIONS), position=0, started_at=at("2025-03-10 12:00"),
        finished_at=None)
    assert interview.current_question_id == "q-attention" and not interview.finished
    assert store.active_interview(1, 1) == interview
    assert store.get_interview(interview.id) == interview
    assert store.active_interview(1, 2) is None


def test_a_second_start_is_refused_unless_it_replaces_the_running_one(store):
    private(store)
    first = store.start_interview(1, 1, QUESTIONS, "attention", T0)
    assert store.start_interview(1, 1, ["q-other"], "advanced", at("2025-03-10 13:00")) is None
    assert store.active_interview(1, 1) == first
    second = store.start_interview(1, 1, ["q-other"], "advanced", at("2025-03-10 13:00"),
                                   replace=True)
    assert store.active_interview(1, 1) == second != first
    assert store.get_interview(first.id).finished_at == at("2025-03-10 13:00")
    assert store.get_interview(first.id).position == 0  # finished where it stood


def test_the_schema_itself_allows_one_unfinished_interview_per_chat_and_user(store):
    private(store)
    store.start_interview(1, 1, QUESTIONS, "attention", T0)
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("""INSERT INTO interviews (chat_id, user_id, topic_or_level,
                            question_ids, started_at) VALUES (1, 1, 'x', '["q"]', 'x')""")


def test_start_interview_needs_questions(store):
    private(store)
    with pytest.raises(ValueError):
        store.start_interview(1, 1, [], "attention", T0)
    assert store.active_interview(1, 1) is None


def test_advance_moves_on_and_finishes_after_the_last_question(store):
    private(store)
    interview = store.start_interview(1, 1, QUESTIONS, "attention", T0)
    assert store.advance_interview(interview.id, at("2025-03-10 12:05")).position == 1
    assert store.advance_interview(interview.id, at("2025-03-10 12:10")).position == 2
    done = store.advance_interview(interview.id, at("2025-03-10 12:15"))
    assert (done.position, done.finished_at) == (3, at("2025-03-10 12:15"))
    assert store.active_interview(1, 1) is None
    # a repeated "next" cannot overrun a finished interview
    assert store.advance_interview(interview.id, at("2025-03-10 12:20")) == done
    # and a new one may start
    assert store.start_interview(1, 1, QUESTIONS, "rnn", at("2025-03-10 12:30")) is not None
    with pytest.raises(NotFound):
        store.advance_interview(999, T0)


def test_results_of_a_private_interview_are_per_question_in_order(store):
    private(store)
    interview = store.start_interview(1, 1, QUESTIONS, "attention", T0)
    send(store, 1, 20, interview)
    answer(store, 1, 1, 20, question_id="q-attention", topic="attention",
           now=at("2025-03-10 12:01"))
    interview = store.advance_interview(interview.id, at("2025-03-10 12:01"))
    send(store, 1, 21, interview, now=at("2025-03-10 12:01"))
    answer(store, 1, 1, 21, question_id="q-dropout", topic="regularization",
           verdict="partial", now=at("2025-03-10 12:02"))
    interview = store.advance_interview(interview.id, at("2025-03-10 12:02"))
    send(store, 1, 22, interview, now=at("2025-03-10 12:02"))  # never answered
    ask(store, 1, 23, "q-attention", now=at("2025-03-10 12:03"))  # a quiz: not part of it
    answer(store, 1, 1, 23, question_id="q-attention")
    results = store.interview_results(interview.id)
    assert [(r.question_id, r.verdict, r.score, r.topic) for r in results] == [
        ("q-attention", "correct", 1.0, "attention"),
        ("q-dropout", "partial", 0.5, "regularization")]
    assert results[0].user_id == 1 and results[0].first_name == "Ada"
    assert store.get_question_message(1, 22).interview_id == interview.id
    assert store.get_question_message(1, 23).interview_id is None


def test_results_of_a_group_interview_list_every_members_answer(store):
    for user_id, name in [(1, "Ada"), (2, "Bob")]:
        add_user(store, user_id, name=name)
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    interview = store.start_interview(-5, 1, QUESTIONS[:2], "mixed", T0)
    assert store.active_interview(-5, 2) is None  # it is the admin's who started it
    send(store, -5, 30, interview)
    answer(store, 2, -5, 30, question_id="q-attention", now=at("2025-03-10 12:01"))
    answer(store, 1, -5, 30, question_id="q-attention", verdict="incorrect",
           now=at("2025-03-10 12:02"))
    interview = store.advance_interview(interview.id, at("2025-03-10 12:05"))
    send(store, -5, 31, interview, now=at("2025-03-10 12:05"))
    answer(store, 2, -5, 31, question_id="q-dropout", verdict="partial",
           now=at("2025-03-10 12:06"))
    results = store.interview_results(interview.id)
    assert [(r.question_id, r.first_name, r.score) for r in results] == [
        ("q-attention", "Bob", 1.0), ("q-attention", "Ada", 0.0), ("q-dropout", "Bob", 0.5)]


def test_a_question_message_cannot_point_to_an_unknown_interview(store):
    private(store)
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        ask(store, 1, 20, source="interview", interview_id=12345)


def test_a_group_interview_follows_the_group_into_its_supergroup(store):
    add_user(store, 1)
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    interview = store.start_interview(-5, 1, QUESTIONS, "mixed", T0)
    send(store, -5, 30, interview)
    answer(store, 1, -5, 30, question_id="q-attention")
    store.migrate_chat(-5, -1005, at("2025-03-10 12:10"))
    moved = store.active_interview(-1005, 1)
    assert moved.id == interview.id and store.active_interview(-5, 1) is None
    assert [r.question_id for r in store.interview_results(moved.id)] == ["q-attention"]
