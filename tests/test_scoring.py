"""Points, accuracy and what counts for a streak (content/scoring.py), pure."""

import pytest

from content.scoring import accuracy, points_for, qualifies


@pytest.mark.parametrize("verdict, points", [("correct", 3), ("partial", 1), ("incorrect", 0)])
def test_points_per_verdict(verdict, points):
    assert points_for(verdict) == points


def test_a_revealed_answer_earns_nothing():
    assert points_for("correct", revealed=True) == 0


def test_accuracy_counts_a_partial_answer_half_and_is_zero_without_answers():
    assert accuracy(correct=2, partial=1, answered=4) == pytest.approx(0.625)
    assert accuracy(0, 0, 0) == 0.0


def test_partial_and_correct_answers_qualify_for_the_streak():
    assert [qualifies(v) for v in ("correct", "partial", "incorrect")] == [True, True, False]
