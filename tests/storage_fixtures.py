"""Shared helpers for the storage tests (imported, not a conftest)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage.store import Store

UTC = timezone.utc


def at(text: str) -> datetime:
    """An exact UTC instant: at("2025-03-30 01:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


T0 = at("2025-03-10 12:00")


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "bot.db")
    yield s
    s.close()


def add_user(s: Store, user_id: int, name: str = "Ada", now: datetime = T0) -> dict:
    return s.touch_user(user_id, name, name.lower(), "en", now)


def add_private_chat(s: Store, user_id: int, now: datetime = T0, tz: str = "UTC",
                     push_time: str = "09:00") -> dict:
    return s.ensure_chat(user_id, "private", None, now, tz, push_time)


def ask(s: Store, chat_id: int, message_id: int, question_id: str = "q-1",
        source: str = "quiz", user_id: int | None = None, now: datetime = T0) -> dict:
    return s.record_question_message(chat_id, message_id, question_id, source, user_id, now)


def answer(s: Store, user_id: int, chat_id: int, message_id: int, now: datetime = T0,
           verdict: str = "correct", tz: str = "UTC", question_id: str = "q-1",
           topic: str | None = "cnn", **kw):
    args = dict(user_id=user_id, chat_id=chat_id, question_id=question_id,
                question_message_id=message_id, topic=topic,
                score={"correct": 1.0, "partial": 0.5, "incorrect": 0.0}[verdict],
                verdict=verdict, matched=["convolution"], used_hint=False, revealed=False,
                now=now, tz_name=tz)
    args.update(kw)
    return s.record_attempt(**args)
