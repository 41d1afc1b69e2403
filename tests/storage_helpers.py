"""Helpers the storage tests share: an exact-instant shorthand and one-line ways to create a
learner, a chat, a question and an answer. Plain functions (the fixtures are in conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from storage.models import AttemptResult, CardDict, Chat, QuestionMessage, ReviewDict, User
from storage.store import Store

UTC = UTC


def at(text: str) -> datetime:
    """An exact UTC instant: at("2025-03-30 01:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


T0 = at("2025-03-10 12:00")


def add_user(s: Store, user_id: int, name: str = "Ada", now: datetime = T0) -> User:
    return s.touch_user(user_id, name, name.lower(), "en", now)


def add_private_chat(s: Store, user_id: int, now: datetime = T0, tz: str = "UTC",
                     push_time: str = "09:00") -> Chat:
    return s.ensure_chat(user_id, "private", None, now, tz, push_time)


def ask(s: Store, chat_id: int, message_id: int, question_id: str = "q-1",
        source: str = "quiz", user_id: int | None = None, now: datetime = T0,
        interview_id: int | None = None) -> QuestionMessage:
    return s.record_question_message(chat_id, message_id, question_id, source, user_id, now,
                                     interview_id=interview_id)


def answer(s: Store, user_id: int, chat_id: int, message_id: int, now: datetime = T0,
           verdict: str = "correct", tz: str = "UTC", question_id: str = "q-1",
           topic: str | None = "cnn", **kw: Any) -> AttemptResult | None:
    args: dict[str, Any] = dict(user_id=user_id, chat_id=chat_id, question_id=question_id,
                question_message_id=message_id, topic=topic,
                score={"correct": 1.0, "partial": 0.5, "incorrect": 0.0}[verdict],
                verdict=verdict, matched=["convolution"], used_hint=False, revealed=False,
                now=now, tz_name=tz)
    args.update(kw)
    return s.record_attempt(**args)


def card(card_id: int = 4242, due: str = "2025-03-12T12:00:00+00:00", state: int = 2,
         step: int | None = None, stability: float | None = 2.3065,
         difficulty: float | None = 2.118, last_review: str | None = "2025-03-10T12:00:00+00:00",
         ) -> CardDict:
    """A dict shaped exactly like fsrs' ``Card.to_dict()``."""
    return dict(card_id=card_id, state=state, step=step, stability=stability,
                difficulty=difficulty, due=due, last_review=last_review)


def review(card_id: int = 4242, rating: int = 3,
           review_datetime: str = "2025-03-10T12:00:00.123456+00:00",
           review_duration: int | None = None) -> ReviewDict:
    """A dict shaped exactly like fsrs' ``ReviewLog.to_dict()``."""
    return dict(card_id=card_id, rating=rating, review_datetime=review_datetime,
                review_duration=review_duration)


GONE = 987654321  # the user who asks to be forgotten
STAYS = 55555
GROUP = -1001234


def populate(store: Store) -> None:
    """Both users have rows in every table; GONE asked a quiz in the group
    that STAYS answered, started a group interview STAYS answered, and announced something to
    every chat."""
    for user_id, name in [(GONE, "Robert"), (STAYS, "Alice")]:
        add_user(store, user_id, name=name)
        add_private_chat(store, user_id)
        store.set_user_tz(user_id, "Europe/Berlin")
        store.set_user_reminders(user_id, user_id == STAYS)
        store.claim_delivery(user_id, date(2025, 3, 10), "q-daily", T0)
        store.complete_delivery(user_id, date(2025, 3, 10), 7, T0)
        store.claim_delivery(user_id, date(2025, 3, 11), "q-pending", at("2025-03-11 09:00"))
        ask(store, user_id, 8, "q-ask", source="ask", user_id=user_id)
        store.mark_hint_used(user_id, user_id, 7, T0)
        answer(store, user_id, user_id, 7, question_id="q-daily",
               card=card(card_id=user_id % 1000 + 1), review=review(card_id=user_id % 1000 + 1))
        answer(store, user_id, user_id, 8, verdict="partial", question_id="q-ask")
        store.record_dispute(user_id=user_id, chat_id=user_id, question_id="q-ask",
                             question_message_id=8, reply=f"my answer, I am {name}",
                             verdict="partial", score=0.5, matched=["a"], missed=["b"], now=T0)
        store.mark_reminded(user_id, date(2025, 3, 11), at("2025-03-11 19:00"))
        interview = store.start_interview(user_id, user_id, ["q-iv-1", "q-iv-2"], "cnn", T0)
        assert interview is not None
        ask(store, user_id, 9, "q-iv-1", source="interview", user_id=user_id,
            interview_id=interview.id)
        answer(store, user_id, user_id, 9, question_id="q-iv-1",
               card=card(card_id=user_id % 1000 + 2), review=review(card_id=user_id % 1000 + 2))
    store.ensure_chat(GROUP, "supergroup", "Study group", T0, "UTC", "09:00")
    ask(store, GROUP, 20, "q-group-quiz", user_id=GONE)
    ask(store, GROUP, 21, "q-group-daily", source="daily")
    group_interview = store.start_interview(GROUP, GONE, ["q-group-iv"], "advanced", T0)
    assert group_interview is not None
    ask(store, GROUP, 22, "q-group-iv", source="interview", user_id=GONE,
        interview_id=group_interview.id)
    for user_id in (GONE, STAYS):
        store.mark_hint_used(user_id, GROUP, 20, T0)
        answer(store, user_id, GROUP, 20, question_id="q-group-quiz")
        answer(store, user_id, GROUP, 21, verdict="incorrect", question_id="q-group-daily")
        answer(store, user_id, GROUP, 22, verdict="partial", question_id="q-group-iv")
        store.record_dispute(user_id=user_id, chat_id=GROUP, question_id="q-group-daily",
                             question_message_id=21, reply="I was right", verdict="incorrect",
                             score=0.0, matched=[], missed=["kernel"], now=T0)
    # GONE is also an owner who announced something to every chat, STAYS's included
    announcement = store.create_announcement("Exam week!", GONE, T0)
    store.confirm_announcement(announcement.id, GONE, 99, T0)
    for chat_id in (GONE, STAYS, GROUP):
        store.mark_announcement_send(announcement.id, chat_id, "sent", T0, message_id=100)
    store.seen_update(31337, T0)
    store.inbox_add([(31338, '{"update_id": 31338}')], T0)
