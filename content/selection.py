"""Which question a chat gets next: the same rule for the daily push and for /quiz.

- respect the level (`intermediate`, `advanced` or `all`);
- never one of the chat's last 10 questions while unseen ones remain;
- not the same main topic twice in a row, when another topic is available.
Randomness is injected (`rng`) so tests can pin the choice.
"""

from __future__ import annotations

import random

from .bank import Bank, Question

RECENT_WINDOW = 10


def eligible(bank: Bank, level: str) -> list[Question]:
    return [q for q in bank.questions if level in ("all", "", None) or q.level == level] or list(bank.questions)


def choose_question(
    bank: Bank, *, level: str, recent: list[str], rng: random.Random, avoid: set[str] | frozenset = frozenset()
) -> Question:
    """Pick a question given the chat's `recent` question ids, newest first.

    `avoid` (questions the learner already has a review card for) is skipped while any other
    question of the level remains: new material first, seen material comes back via FSRS.
    """
    pool = eligible(bank, level)
    unseen = [q for q in pool if q.id not in avoid]
    pool = unseen or pool
    window = min(RECENT_WINDOW, len(recent))
    fresh: list[Question] = []
    # Shrink the "recently seen" window until something is left: with a bank smaller than the
    # window the chat still gets the question it saw longest ago, never an error.
    while window >= 0:
        blocked = set(recent[:window])
        fresh = [q for q in pool if q.id not in blocked]
        if fresh:
            break
        window -= 1
    last = bank.get(recent[0]) if recent else None
    if last is not None:
        other_topic = [q for q in fresh if q.topic != last.topic]
        fresh = other_topic or fresh
    return rng.choice(fresh)
