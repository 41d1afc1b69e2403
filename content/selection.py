"""Which question a chat gets next: the same rule for the daily push and for /quiz.

- respect the level (`intermediate`, `advanced` or `all`);
- never one of the chat's last 10 questions while unseen ones remain;
- never a subject the chat met in the last 7 days (`this_week`): the seed asks some subjects
  twice, at two levels (`subject` in the question files), and those twins count as one subject,
  so a learner does not get "What is dropout?" on Monday and "How does dropout work?" on Thursday;
- not the same main topic twice in a row, when another topic is available.
Randomness is injected (`rng`) and so is what "the last 7 days" holds (the caller reads its
clock and its store), so the choice is a pure function that tests can pin.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from .bank import Bank, Question

RECENT_WINDOW = 10
SUBJECT_DAYS = 7  # a subject is not asked again within this many days (the caller's window for `this_week`)


def eligible(bank: Bank, level: str) -> list[Question]:
    return [q for q in bank.questions if level in ("all", "", None) or q.level == level] or list(bank.questions)


def subjects_of(bank: Bank, question_ids: Iterable[str]) -> set[str]:
    """The subjects of some question ids (a question without `subject` is its own subject)."""
    out = set()
    for qid in question_ids:
        q = bank.get(qid)
        out.add(q.subject_key if q is not None else qid)
    return out


def choose_question(
    bank: Bank,
    *,
    level: str,
    recent: list[str],
    rng: random.Random,
    avoid: set[str] | frozenset[str] = frozenset(),
    this_week: Iterable[str] = (),
) -> Question:
    """Pick a question given the chat's `recent` question ids, newest first.

    `this_week`: ids of the questions the chat got in the last SUBJECT_DAYS days (any order);
    their subjects, and those of `recent`, are not asked again while another subject remains.
    `avoid` (questions the learner already has a review card for) is skipped while any other
    question of the level remains: new material first, seen material comes back via FSRS.
    """
    pool = eligible(bank, level)
    unseen = [q for q in pool if q.id not in avoid]
    pool = unseen or pool
    week = subjects_of(bank, this_week)
    window = min(RECENT_WINDOW, len(recent))
    fresh: list[Question] = []
    # Shrink the "recently seen" window until something is left: with a bank smaller than the
    # window the chat still gets the question it saw longest ago, never an error.
    while window >= 0:
        blocked = subjects_of(bank, recent[:window]) | week
        fresh = [q for q in pool if q.subject_key not in blocked]
        if fresh:
            break
        if week:  # the week's subjects give way first, then the recent window shrinks
            week = set()
            continue
        window -= 1
    last = bank.get(recent[0]) if recent else None
    if last is not None:
        other_topic = [q for q in fresh if q.topic != last.topic]
        fresh = other_topic or fresh
    return rng.choice(fresh)
