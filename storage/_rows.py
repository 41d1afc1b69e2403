"""Stored rows → models: the one place that knows how each column is stored.

Instants are stored as UTC ISO text to the second ('2025-03-30T01:00:00Z'), local days as
'YYYY-MM-DD', flags as 0/1 and lists as JSON text.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from ._base import Row
from .models import (
    Attempt,
    Chat,
    Delivery,
    Dispute,
    InboxItem,
    Interview,
    InterviewAnswer,
    LeaderboardRow,
    QuestionMessage,
    ReminderCandidate,
    ReviewRecord,
    User,
)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def maybe_instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def day(text: str) -> date:
    return date.fromisoformat(text)


def texts(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()


def user(r: Row) -> User:
    return User(r["user_id"], r["first_name"], r["username"], r["language"], r["tz"], r["level"],
                instant(r["created_at"]), instant(r["last_seen_at"]), r["day_start_hour"],
                bool(r["reminders"]))


def chat(r: Row) -> Chat:
    return Chat(r["chat_id"], r["type"], r["title"], r["tz"], r["push_time"], r["level"],
                bool(r["subscribed"]), r["status"], r["migrated_to"],
                maybe_instant(r["next_push_at"]), instant(r["created_at"]))


def delivery(r: Row) -> Delivery:
    return Delivery(r["chat_id"], day(r["local_date"]), r["question_id"], r["message_id"],
                    r["state"], instant(r["claimed_at"]), maybe_instant(r["sent_at"]))


def question_message(r: Row) -> QuestionMessage:
    return QuestionMessage(r["chat_id"], r["message_id"], r["question_id"], r["source"],
                           r["user_id"], instant(r["sent_at"]), r["interview_id"])


def attempt(r: Row) -> Attempt:
    return Attempt(r["id"], r["user_id"], r["chat_id"], r["question_id"],
                   r["question_message_id"], r["topic"], r["score"], r["verdict"],
                   texts(r["matched"]), bool(r["used_hint"]), bool(r["revealed"]), r["points"],
                   instant(r["answered_at"]), day(r["local_date"]), r["tz"], r["day_start_hour"],
                   maybe_instant(r["reply_sent_at"]))


def interview(r: Row) -> Interview:
    return Interview(r["id"], r["chat_id"], r["user_id"], r["topic_or_level"],
                     texts(r["question_ids"]), r["position"], instant(r["started_at"]),
                     maybe_instant(r["finished_at"]))


def interview_answer(r: Row) -> InterviewAnswer:
    return InterviewAnswer(r["question_id"], r["message_id"], r["user_id"], r["first_name"],
                           r["username"], r["verdict"], r["score"], r["topic"],
                           instant(r["answered_at"]))


def dispute(r: Row) -> Dispute:
    return Dispute(r["id"], r["user_id"], r["chat_id"], r["question_id"],
                   r["question_message_id"], r["reply"], r["verdict"], r["score"],
                   texts(r["matched"]), texts(r["missed"]), r["status"],
                   instant(r["created_at"]))


def leaderboard_row(r: Row) -> LeaderboardRow:
    return LeaderboardRow(r["user_id"], r["first_name"], r["username"], r["points"],
                          r["answered"], r["correct"])


def reminder_candidate(r: Row) -> ReminderCandidate:
    return ReminderCandidate(r["user_id"], r["tz"], r["day_start_hour"], r["current"],
                             r["freezes"], day(r["last_day"]), instant(r["last_at"]))


def review_record(r: Row) -> ReviewRecord:
    return ReviewRecord(r["user_id"], r["question_id"], r["card_id"], r["rating"],
                        instant(r["review_datetime"]), r["review_duration"])


def inbox_item(r: Row) -> InboxItem:
    return InboxItem(r["update_id"], r["payload"], instant(r["received_at"]))

