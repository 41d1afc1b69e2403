"""Spaced-repetition cards and the review log (FSRS, computed by the bot).

Storage does not import fsrs: cards and review logs arrive and leave as the
plain dicts of ``Card.to_dict()`` / ``ReviewLog.to_dict()``, so the
scheduler can be upgraded or re-tuned without touching SQL. Each dict is
checked here before anything is written, because a malformed card stored
today would only fail weeks later when it comes due.

Instants are normalised to our UTC ISO text to the second: ``due`` must
compare as text in SQL ("due cards of a user" is an index range), and the
dropped microseconds make a card due at most one second early.
``Card.from_dict`` reads the stored form back unchanged.

Written only by :meth:`Store.record_attempt`, in the attempt's transaction:
a card moves exactly when an answer is recorded, never otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import _rows
from ._base import StoreBase, reads
from ._sql import iso
from .models import CardDict, ReviewDict, ReviewRecord, StoredCard

CARD_KEYS = ("card_id", "state", "step", "stability", "difficulty", "due", "last_review")
CARD_STATES = (1, 2, 3)  # fsrs.State: Learning, Review, Relearning
RATINGS = (1, 2, 3, 4)  # fsrs.Rating: Again, Hard, Good, Easy


def _instant(value: object, what: str) -> str:
    """ISO text or datetime (aware) → stored UTC text; ValueError otherwise."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{what} is not an ISO 8601 instant: {value!r}") from exc
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be an ISO 8601 instant; got {value!r}")
    return iso(value)  # ValueError for a naive datetime


def _int(value: object, what: str, allowed: tuple[int, ...] | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer; got {value!r}")
    if allowed is not None and value not in allowed:
        raise ValueError(f"{what} must be one of {allowed}; got {value!r}")
    return value


def _optional_float(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number or None; got {value!r}")
    return float(value)


def card_row(card: CardDict) -> tuple[Any, ...]:
    """Validated column values (card_id, state, step, stability, difficulty,
    due, last_review) of a ``Card.to_dict()`` dict."""
    missing = [key for key in CARD_KEYS if key not in card]
    if missing:
        raise ValueError(f"card is missing {', '.join(missing)}: {card!r}")
    step = card["step"]
    return (
        _int(card["card_id"], "card_id"),
        _int(card["state"], "card state", CARD_STATES),
        None if step is None else _int(step, "card step"),
        _optional_float(card["stability"], "card stability"),
        _optional_float(card["difficulty"], "card difficulty"),
        _instant(card["due"], "card due"),
        None if card["last_review"] is None else _instant(card["last_review"], "last_review"),
    )


def review_row(review: ReviewDict) -> tuple[Any, ...]:
    """Validated (card_id, rating, reviewed_at, duration) of a
    ``ReviewLog.to_dict()`` dict."""
    missing = [key for key in ("card_id", "rating", "review_datetime") if key not in review]
    if missing:
        raise ValueError(f"review is missing {', '.join(missing)}: {review!r}")
    duration = review.get("review_duration")
    return (
        _int(review["card_id"], "review card_id"),
        _int(review["rating"], "review rating", RATINGS),
        _instant(review["review_datetime"], "review_datetime"),
        None if duration is None else _int(duration, "review_duration"),
    )


class CardsMixin(StoreBase):
    @reads
    def get_card(self, user_id: int, question_id: str) -> CardDict | None:
        """The user's card for a question with exactly the keys of
        ``Card.to_dict()`` (so ``Card.from_dict`` takes it), or None for a
        question the user has never answered."""
        return self._one(
            f"SELECT {', '.join(CARD_KEYS)} FROM cards WHERE user_id = ? AND question_id = ?",
            (user_id, question_id),
        )

    @reads
    def due_cards(self, user_id: int, now: datetime, limit: int = 10) -> list[StoredCard]:
        """Cards due at ``now`` (``due <= now``), most overdue first, then by
        question id so the order is deterministic, each with its
        ``Card.to_dict()`` and ``reps`` (reviews so far). One range scan of
        ``cards_due``."""
        rows = self._all(
            f"""SELECT question_id, {', '.join(CARD_KEYS)}, reps FROM cards
                WHERE user_id = ? AND due <= ?
                ORDER BY due, question_id LIMIT ?""",
            (user_id, iso(now), limit),
        )
        return [StoredCard(row["question_id"], {key: row[key] for key in CARD_KEYS}, row["reps"])
                for row in rows]

    @reads
    def card_question_ids(self, user_id: int) -> set[str]:
        """Questions the user has a card for, i.e. has already been asked and
        answered (or revealed): the picker avoids them for new questions."""
        rows = self._exec("SELECT question_id FROM cards WHERE user_id = ?", (user_id,))
        return {row[0] for row in rows.fetchall()}

    @reads
    def review_logs(self) -> list[ReviewRecord]:
        """Every review of every user, oldest first (``reviewed_at``, then
        insertion order), with the fields of ``ReviewLog.to_dict()``
        (``card_id, rating, review_datetime, review_duration``): the input of
        the FSRS optimizer (``tutor-bot export-reviews``). Reads the whole
        table by design."""
        return [_rows.review_record(row) for row in self._all(
            """SELECT user_id, question_id, card_id, rating,
                      reviewed_at AS review_datetime, duration AS review_duration
               FROM review_log ORDER BY reviewed_at, id""",
        )]

    # ---- written by record_attempt, inside its transaction -----------------

    def _save_card(self, user_id: int, question_id: str, values: tuple[Any, ...]) -> None:
        self._exec(
            """INSERT INTO cards (user_id, question_id, card_id, state, step, stability,
                                  difficulty, due, last_review, reps)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
               ON CONFLICT (user_id, question_id) DO UPDATE SET
                   card_id = excluded.card_id, state = excluded.state,
                   step = excluded.step, stability = excluded.stability,
                   difficulty = excluded.difficulty, due = excluded.due,
                   last_review = excluded.last_review, reps = cards.reps + 1""",
            (user_id, question_id, *values),
        )

    def _log_review(self, user_id: int, question_id: str, values: tuple[Any, ...],
                    attempt_id: int) -> None:
        self._exec(
            """INSERT INTO review_log (user_id, question_id, card_id, rating, reviewed_at,
                                       duration, attempt_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (user_id, question_id, *values, attempt_id),
        )
