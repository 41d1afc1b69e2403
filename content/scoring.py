"""Points and accuracy: the tutor's scoring rules (pure; storage sums what these define).

Points per attempt: correct 3, partial 1, incorrect 0. Partial answers earn something because
free-text grading is fuzzy and a half-right answer is still practice; correct is worth three
partials so that guessing keywords does not beat knowing the answer. A revealed answer ("Show
answer") counts as incorrect with score 0 and 0 points.

Accuracy is ``(correct + 0.5 * partial) / answered`` (0.0 with no answers): a partial answer
counts half, matching its place between the two verdicts.

A verdict *qualifies* for the daily streak when it is partial or correct.
"""

from __future__ import annotations

from typing import Final, Literal

Verdict = Literal["correct", "partial", "incorrect"]

VERDICTS: Final = ("correct", "partial", "incorrect")
POINTS: Final[dict[str, int]] = {"correct": 3, "partial": 1, "incorrect": 0}
QUALIFYING: Final = frozenset({"correct", "partial"})


def points_for(verdict: str, *, revealed: bool = False) -> int:
    """The points one attempt earns (a revealed answer earns none)."""
    return 0 if revealed else POINTS[verdict]


def qualifies(verdict: str) -> bool:
    """Whether an attempt with this verdict counts for the daily streak."""
    return verdict in QUALIFYING


def accuracy(correct: int, partial: int, answered: int) -> float:
    """``(correct + 0.5 * partial) / answered``; 0.0 when nothing was answered."""
    return (correct + 0.5 * partial) / answered if answered else 0.0
