"""What the Store returns: small frozen dataclasses with real Python types.

Instants are aware UTC ``datetime`` (stored as whole seconds, so they compare equal to
``storage.db.whole_second(now)``), local days are ``date``, 0/1 flags are ``bool`` and JSON
lists are tuples. Names match the columns, so a row in a SQLite shell reads the same.

FSRS cards travel as the dict fsrs serialises (``Card.to_dict()``, :data:`CardDict`), which is
what ``Card.from_dict`` takes back; storage validates it but does not own its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from content.streaks import StreakState

__all__ = [
    "AnswerContext",
    "Attempt",
    "AttemptResult",
    "CardDict",
    "Chat",
    "ChatStatus",
    "ChatType",
    "DayCount",
    "Delivery",
    "DeliveryState",
    "DigestCandidate",
    "DigestSettings",
    "Dispute",
    "DisputeStatus",
    "DueChat",
    "InboxItem",
    "Interview",
    "InterviewAnswer",
    "LeaderboardRow",
    "Level",
    "Progress",
    "QuestionMessage",
    "ReminderCandidate",
    "ReviewDict",
    "ReviewRecord",
    "Source",
    "StoredCard",
    "StreakInfo",
    "StreakState",
    "TopicStats",
    "User",
    "UserStats",
    "Verdict",
]

Level = Literal["intermediate", "advanced", "all"]
ChatType = Literal["private", "group", "supergroup"]
ChatStatus = Literal["active", "blocked", "left", "migrated"]
Source = Literal["daily", "quiz", "review", "ask", "interview"]
Verdict = Literal["correct", "partial", "incorrect"]
DeliveryState = Literal["pending", "sent", "failed"]
DisputeStatus = Literal["open", "resolved"]

CardDict = dict[str, Any]
"""fsrs ``Card.to_dict()``: card_id, state, step, stability, difficulty, due, last_review."""
ReviewDict = dict[str, Any]
"""fsrs ``ReviewLog.to_dict()``: card_id, rating, review_datetime, review_duration."""


@dataclass(frozen=True, slots=True)
class User:
    """A learner the bot has seen. ``tz`` None: fall back to the chat's zone."""

    user_id: int
    first_name: str | None
    username: str | None
    language: str | None
    tz: str | None
    level: Level
    created_at: datetime
    last_seen_at: datetime
    day_start_hour: int
    reminders: bool


@dataclass(frozen=True, slots=True)
class Chat:
    """A private chat or group and its daily-push settings. ``next_push_at`` is None when the
    chat gets no push (unsubscribed, blocked, left, migrated); ``migrated_to`` is the
    supergroup's id once a group migrated."""

    chat_id: int
    type: ChatType
    title: str | None
    tz: str
    push_time: str  # "HH:MM"
    level: Level
    subscribed: bool
    status: ChatStatus
    migrated_to: int | None
    next_push_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DueChat:
    """A chat whose daily push is due, and the local date to claim for it."""

    chat: Chat
    local_date: date


@dataclass(frozen=True, slots=True)
class Delivery:
    """One daily push of one chat on one local date (claimed, then sent)."""

    chat_id: int
    local_date: date
    question_id: str
    message_id: int | None
    state: DeliveryState
    claimed_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuestionMessage:
    """A sent message carrying a question: replies to it are graded against ``question_id``.
    ``user_id`` is who asked for it (None for a daily push)."""

    chat_id: int
    message_id: int
    question_id: str
    source: Source
    user_id: int | None
    sent_at: datetime
    interview_id: int | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One graded answer of one learner to one question message."""

    id: int
    user_id: int
    chat_id: int
    question_id: str
    question_message_id: int
    topic: str | None
    score: float
    verdict: Verdict
    matched: tuple[str, ...]
    used_hint: bool
    revealed: bool
    points: int
    answered_at: datetime
    local_date: date
    tz: str
    day_start_hour: int
    reply_sent_at: datetime | None = None  # None: the verdict has not reached the learner (yet)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What the bot needs to reply after grading: the new attempt's id and points, the stored
    streak after it, whether this answer was the first qualifying one of the learner's local day
    (the streak moved), and how many streak freezes it just spent to bridge missed days (0 almost
    always; > 0 is the moment to say "a freeze saved your streak")."""

    attempt_id: int
    points: int
    streak: StreakState
    is_new_day: bool
    freezes_used: int = 0


@dataclass(frozen=True, slots=True)
class AnswerContext:
    """Everything grading one answer reads, in one call: the learner (None if never seen), the
    question answered (None if there is none), the learner's earlier attempt on it (the answer is
    then a repeat), whether a hint was used and the FSRS card (None before the first answer)."""

    user: User | None
    question: QuestionMessage | None
    attempt: Attempt | None = None
    used_hint: bool = False
    card: CardDict | None = None


@dataclass(frozen=True, slots=True)
class StreakInfo:
    """The /streak screen: ``current`` as displayed now (0 once more days were missed than the
    freezes held can bridge), ``longest``, freezes held, and the local date of the last
    qualifying answer."""

    current: int
    longest: int
    freezes: int
    last_day: date | None


@dataclass(frozen=True, slots=True)
class TopicStats:
    topic: str  # "unknown" for attempts without a topic
    answered: int
    accuracy: float


@dataclass(frozen=True, slots=True)
class UserStats:
    """Totals for one learner, overall or in one chat. ``per_topic`` is sorted by topic."""

    answered: int
    correct: int
    partial: int
    incorrect: int
    accuracy: float
    per_topic: tuple[TopicStats, ...]
    days_practised: int
    points_total: int


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    user_id: int
    first_name: str | None
    username: str | None
    points: int
    answered: int
    correct: int


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One row of the review log, in the fields of fsrs ``ReviewLog.to_dict()`` plus who and
    what (the FSRS optimizer's input)."""

    user_id: int
    question_id: str
    card_id: int
    rating: int
    review_datetime: datetime
    review_duration: int | None

    def review_log(self) -> ReviewDict:
        """The fsrs ``ReviewLog.to_dict()`` form, which ``ReviewLog.from_dict`` reads."""
        return {"card_id": self.card_id, "rating": self.rating,
                "review_datetime": self.review_datetime.isoformat(),
                "review_duration": self.review_duration}


@dataclass(frozen=True, slots=True)
class ReminderCandidate:
    """A learner who may need an evening reminder: ``tz`` is theirs, else their private chat's;
    ``current`` and ``freezes`` as stored (not as displayed)."""

    user_id: int
    tz: str
    day_start_hour: int
    current: int
    freezes: int
    last_day: date
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Interview:
    """A mock interview: ``position`` indexes the question being asked; it equals
    ``len(question_ids)`` once finished."""

    id: int
    chat_id: int
    user_id: int
    topic_or_level: str
    question_ids: tuple[str, ...]
    position: int
    started_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def current_question_id(self) -> str | None:
        """The question being asked, None once finished."""
        if self.finished_at is not None or self.position >= len(self.question_ids):
            return None
        return self.question_ids[self.position]


@dataclass(frozen=True, slots=True)
class InterviewAnswer:
    """One graded answer to an interview question (a revealed one counts as incorrect, 0)."""

    question_id: str
    message_id: int
    user_id: int
    first_name: str | None
    username: str | None
    verdict: Verdict
    score: float
    topic: str | None
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class Dispute:
    """A learner's "I think I was right" on a graded answer, with the reply they sent."""

    id: int
    user_id: int
    chat_id: int
    question_id: str
    question_message_id: int
    reply: str
    verdict: Verdict
    score: float
    matched: tuple[str, ...]
    missed: tuple[str, ...]
    status: DisputeStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A Telegram update written down before it was confirmed to Telegram (issue 18):
    ``payload`` is the update's JSON text, exactly as received."""

    update_id: int
    payload: str
    received_at: datetime


# ---- progress: /stats picture, /history, weekly digest (issue 20) --------------------------


@dataclass(frozen=True, slots=True)
class DayCount:
    """A learner's graded answers on one local day (the ``local_date`` stored with each
    attempt, i.e. in the zone and day start the learner had when answering)."""

    local_date: date
    answered: int
    correct: int
    partial: int


@dataclass(frozen=True, slots=True)
class StoredCard:
    """One of a learner's FSRS cards, as fsrs ``Card.to_dict()``, with how many reviews it had."""

    question_id: str
    card: CardDict
    reps: int


@dataclass(frozen=True, slots=True)
class Progress:
    """What /stats and the weekly digest read about one learner, in one snapshot: every local
    day with answers (oldest first), every FSRS card, the accuracy of each topic's most recent
    answers, the overall totals and the stored streak."""

    days: tuple[DayCount, ...]
    cards: tuple[StoredCard, ...]
    recent_topics: tuple[TopicStats, ...]
    stats: UserStats
    streak: StreakState


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """A learner's weekly digest: on or off, the weekday (0 = Monday .. 6 = Sunday), and the
    Monday of the last week one was claimed for (None: never)."""

    on: bool
    weekday: int
    last_week: date | None


@dataclass(frozen=True, slots=True)
class DigestCandidate:
    """A learner whose weekly digest may be due: digest on, an active private chat, practice
    recently. ``tz`` is theirs, else their private chat's."""

    user_id: int
    tz: str
    day_start_hour: int
    weekday: int
    last_week: date | None
