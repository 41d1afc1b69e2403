"""Grading disputes: one per user per graded answer, listed for authors."""

import pytest

from storage.errors import StorageError
from storage.models import Dispute

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at


def graded(store, user_id=1, chat_id=None, message_id=10, verdict="incorrect"):
    chat_id = user_id if chat_id is None else chat_id
    ask(store, chat_id, message_id, "q-dropout")
    answer(store, user_id, chat_id, message_id, question_id="q-dropout", verdict=verdict)


def dispute(store, user_id=1, chat_id=None, message_id=10, reply="it drops neurons",
            now=T0, **kw):
    args = dict(user_id=user_id, chat_id=user_id if chat_id is None else chat_id,
                question_id="q-dropout", question_message_id=message_id, reply=reply,
                verdict="incorrect", score=0.1, matched=["neurons"],
                missed=["co-adaptation", "inference"], now=now)
    args.update(kw)
    return store.record_dispute(**args)


def setup(store, user_id=1):
    add_user(store, user_id)
    add_private_chat(store, user_id)


def test_record_dispute_stores_the_reply_and_the_grade(store):
    setup(store)
    graded(store)
    row = dispute(store)
    assert row == Dispute(
        id=row.id, user_id=1, chat_id=1, question_id="q-dropout", question_message_id=10,
        reply="it drops neurons", verdict="incorrect", score=0.1, matched=("neurons",),
        missed=("co-adaptation", "inference"), status="open", created_at=at("2025-03-10 12:00"))
    assert store.open_disputes() == [row]


def test_a_second_press_returns_the_first_dispute_unchanged(store):
    setup(store)
    graded(store)
    first = dispute(store)
    assert dispute(store, reply="something else", now=at("2025-03-10 13:00")) == first
    assert len(store.open_disputes()) == 1


def test_only_a_recorded_answer_can_be_disputed(store):
    setup(store)
    ask(store, 1, 10, "q-dropout")
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        dispute(store)
    with pytest.raises(ValueError):
        dispute(store, verdict="wrong")
    assert store.open_disputes() == []


def test_open_disputes_are_oldest_first_and_resolving_closes_them(store):
    for user_id in (1, 2):
        setup(store, user_id)
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    graded(store, 1)
    graded(store, 1, chat_id=-5, message_id=20)
    graded(store, 2, chat_id=-5, message_id=20)
    late = dispute(store, 1, now=at("2025-03-11 09:00"))
    early = dispute(store, 2, chat_id=-5, message_id=20, now=at("2025-03-10 09:00"))
    same_message = dispute(store, 1, chat_id=-5, message_id=20, now=at("2025-03-10 10:00"))
    assert [d.id for d in store.open_disputes()] == [early.id, same_message.id,
                                                       late.id]
    assert store.resolve_dispute(early.id) is True
    assert store.resolve_dispute(early.id) is False
    assert [d.id for d in store.open_disputes()] == [same_message.id, late.id]


def test_a_dispute_follows_its_answer_into_the_supergroup(store):
    setup(store)
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    graded(store, 1, chat_id=-5, message_id=20)
    dispute(store, 1, chat_id=-5, message_id=20)
    store.migrate_chat(-5, -1005, at("2025-03-10 13:00"))
    [moved] = store.open_disputes()
    assert (moved.chat_id, moved.question_message_id) == (-1005, -20)
    assert store.get_attempt(1, -1005, -20) is not None
    assert store.db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
