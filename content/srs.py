"""Spaced repetition with FSRS (the `fsrs` package, the scheduler Anki uses), rated by the grader.

The learner never rates themselves: the grade decides.

| what happened                                      | FSRS rating |
|----------------------------------------------------|-------------|
| incorrect, or "Show answer" pressed                | Again       |
| partial                                            | Hard        |
| correct                                            | Good        |
| correct with every key term and no hint            | Easy        |

A daily-question bot reviews at most a few times a day, so the scheduler runs without
FSRS's minute-scale learning steps (a card answered Good in the morning must not be "due"
again ten minutes later) and without fuzz (intervals must be reproducible in tests).
Cards and logs travel as plain dicts (`Card.to_dict()`), which storage/ keeps in SQLite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from fsrs import Card, Rating, ReviewLog, Scheduler

SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def rating_for(verdict: str, *, revealed: bool = False, used_hint: bool = False, complete: bool = False) -> Rating:
    """The FSRS rating of one graded attempt (see the table above); `complete` = every key term matched."""
    if revealed or verdict == "incorrect":
        return Rating.Again
    if verdict == "partial":
        return Rating.Hard
    if complete and not used_hint:
        return Rating.Easy
    return Rating.Good


def card_id_for(user_id: int, question_id: str) -> int:
    """A stable card id per (learner, question), so exported review logs group by card."""
    digest = hashlib.blake2b(f"{user_id}:{question_id}".encode(), digest_size=6).digest()
    return int.from_bytes(digest, "big")


def review(card: Mapping[str, Any] | None, rating: Rating, now: datetime, *, card_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply one review; returns the new card and the review log entry, both as dicts."""
    current = Card.from_dict(cast(Any, dict(card))) if card else Card(card_id=card_id, due=now)
    new_card, log = SCHEDULER.review_card(current, rating, review_datetime=now)
    return dict(new_card.to_dict()), dict(log.to_dict())


def optimizer_logs(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Review rows from storage, in the exact shape `ReviewLog.from_dict` (and the FSRS optimizer) reads."""
    out = []
    for row in rows:
        log = ReviewLog(
            card_id=int(row["card_id"]),
            rating=Rating(int(row["rating"])),
            review_datetime=datetime.fromisoformat(str(row["review_datetime"]).replace("Z", "+00:00")),
            review_duration=row.get("review_duration"),
        )
        out.append(dict(log.to_dict()))
    return out
