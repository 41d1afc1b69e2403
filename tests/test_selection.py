"""The daily choice (content/selection.py): pure, and never the same subject twice in a week."""

from __future__ import annotations

import random

from content import Bank, Question
from content.bank import make_term
from content.selection import choose_question


def question(qid: str, level: str = "intermediate", topic: str = "dropout", subject: str | None = None) -> Question:
    terms = (make_term("a", core=True), make_term("b", core=True), make_term("c"), make_term("d"))
    return Question(qid, level, (topic,), f"{qid}?", "a b c d", terms, subject=subject)


BANK = Bank(
    (
        question("dropout-what", subject="dropout"),
        question("dropout-how", "advanced", subject="dropout"),
        question("bn", topic="normalization"),
        question("lstm", topic="lstm-gru"),
    ),
    (),
)


def picks(**kwargs) -> set[str]:
    return {choose_question(BANK, rng=random.Random(seed), **kwargs).id for seed in range(200)}


def test_twins_are_one_subject_within_a_week():
    got = picks(level="all", recent=[], this_week=["dropout-what"])
    assert got == {"bn", "lstm"}  # dropout-how is the same subject, asked this week


def test_twins_count_in_the_recent_window_too():
    assert "dropout-how" not in picks(level="all", recent=["lstm", "dropout-what"])


def test_a_subject_comes_back_when_nothing_else_is_left():
    got = picks(level="all", recent=[], this_week=["dropout-what", "bn", "lstm"])
    assert got == {"dropout-what", "dropout-how", "bn", "lstm"}  # the week gives way rather than fail


def test_without_history_every_question_can_come():
    assert picks(level="all", recent=[]) == {"dropout-what", "dropout-how", "bn", "lstm"}


def test_the_choice_is_pure_and_reproducible():
    a = [choose_question(BANK, level="all", recent=["bn"], rng=random.Random(7), this_week=["bn"]).id for _ in range(3)]
    assert len(set(a)) == 1
