from datetime import date

import pytest

from storage.errors import NotFound

from storage_helpers import T0, add_private_chat, ask, at


def test_claim_delivery_succeeds_once_per_chat_and_local_date(store):
    add_private_chat(store, 1, now=at("2025-03-10 08:00"))
    assert store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 09:00")) is True
    assert store.claim_delivery(1, date(2025, 3, 10), "q-2", at("2025-03-10 09:01")) is False
    assert store.claim_delivery(1, "2025-03-11", "q-2", at("2025-03-11 09:00")) is True


def test_a_claimed_chat_is_no_longer_due_while_its_send_is_in_flight(store):
    add_private_chat(store, 1, now=at("2025-03-10 08:00"))
    assert len(store.due_chats(at("2025-03-10 09:00"))) == 1
    store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 09:00"))
    assert store.due_chats(at("2025-03-10 09:00")) == []


def test_complete_delivery_marks_sent_records_the_message_and_schedules_tomorrow(store):
    add_private_chat(store, 1, now=at("2025-03-10 08:00"))
    store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 09:00"))
    delivery = store.complete_delivery(1, date(2025, 3, 10), 77, at("2025-03-10 09:00:02"))
    assert (delivery.state, delivery.message_id) == ("sent", 77)
    assert delivery.sent_at == at("2025-03-10 09:00:02")
    message = store.get_question_message(1, 77)
    assert (message.question_id, message.source, message.user_id) == \
        ("q-1", "daily", None)
    assert store.get_chat(1).next_push_at == at("2025-03-11 09:00")
    assert store.pending_deliveries(at("2025-03-11 00:00")) == []


def test_complete_delivery_is_idempotent_for_the_same_message(store):
    add_private_chat(store, 1)
    store.claim_delivery(1, date(2025, 3, 10), "q-1", T0)
    first = store.complete_delivery(1, date(2025, 3, 10), 77, T0)
    assert store.complete_delivery(1, date(2025, 3, 10), 77, at("2025-03-10 12:01")) == first
    with pytest.raises(ValueError, match="already"):
        store.complete_delivery(1, date(2025, 3, 10), 78, T0)


def test_complete_delivery_without_a_claim_raises_not_found(store):
    add_private_chat(store, 1)
    with pytest.raises(NotFound):
        store.complete_delivery(1, date(2025, 3, 10), 77, T0)


def test_complete_delivery_is_one_transaction(store):
    add_private_chat(store, 1)
    store.claim_delivery(1, date(2025, 3, 10), "q-1", T0)
    store.db.execute("""CREATE TEMP TRIGGER fail_qm BEFORE INSERT ON main.question_messages
                        BEGIN SELECT RAISE(ABORT, 'injected failure'); END""")
    with pytest.raises(Exception, match="injected failure"):
        store.complete_delivery(1, date(2025, 3, 10), 77, T0)
    assert store.pending_deliveries(at("2025-03-11 00:00"))[0].state == "pending"


def test_release_delivery_drops_a_failed_claim_and_keeps_the_chat_off_today(store):
    add_private_chat(store, 1, now=at("2025-03-10 08:00"))
    store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 09:00"))
    assert store.release_delivery(1, date(2025, 3, 10)) is True
    assert store.release_delivery(1, date(2025, 3, 10)) is False
    assert store.pending_deliveries(at("2025-03-11 00:00")) == []
    assert store.due_chats(at("2025-03-10 10:00")) == []
    assert store.claim_delivery(1, date(2025, 3, 10), "q-2", at("2025-03-10 10:00")) is True


def test_release_delivery_never_deletes_a_sent_delivery(store):
    add_private_chat(store, 1)
    store.claim_delivery(1, date(2025, 3, 10), "q-1", T0)
    store.complete_delivery(1, date(2025, 3, 10), 77, T0)
    assert store.release_delivery(1, date(2025, 3, 10)) is False


def test_pending_deliveries_finds_claims_orphaned_by_a_crash(store):
    add_private_chat(store, 1)
    add_private_chat(store, 2)
    store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 09:00"))
    store.claim_delivery(2, date(2025, 3, 10), "q-2", at("2025-03-10 09:10"))
    rows = store.pending_deliveries(at("2025-03-10 09:05"))
    assert [(r.chat_id, r.local_date, r.question_id) for r in rows] == \
        [(1, date(2025, 3, 10), "q-1")]
    assert len(store.pending_deliveries(at("2025-03-10 10:00"))) == 2


def test_recent_questions_lists_deliveries_and_quizzes_newest_first(store):
    add_private_chat(store, 1)
    for day in range(1, 13):
        moment = at(f"2025-03-{day:02d} 09:00")
        store.claim_delivery(1, date(2025, 3, day), f"daily-{day}", moment)
        store.complete_delivery(1, date(2025, 3, day), day * 10, moment)
    ask(store, 1, 125, "quiz-x", now=at("2025-03-12 10:00"))
    ask(store, 1, 115, "quiz-y", now=at("2025-03-11 10:00"))
    ask(store, 1, 116, "review-z", source="review", now=at("2025-03-11 11:00"))
    assert store.recent_questions(1, n=4) == ["quiz-x", "daily-12", "quiz-y", "daily-11"]
    assert len(store.recent_questions(1)) == 10
    assert "review-z" not in store.recent_questions(1, n=50)


def test_recent_questions_includes_a_pending_claim(store):
    add_private_chat(store, 1)
    store.claim_delivery(1, date(2025, 3, 10), "q-pending", T0)
    assert store.recent_questions(1) == ["q-pending"]


def test_claim_for_a_missing_chat_raises_not_found(store):
    with pytest.raises(NotFound):
        store.claim_delivery(404, date(2025, 3, 10), "q", T0)


def test_a_push_that_failed_for_now_is_retried_the_same_local_day(store):
    """Issue 18: a push that failed for more than about 15 s was never retried that day."""
    add_private_chat(store, 1, tz="Europe/Berlin", now=at("2025-03-10 07:00"))
    day = date(2025, 3, 10)
    assert [due.chat.chat_id for due in store.due_chats(at("2025-03-10 08:00"))] == [1]
    assert store.claim_delivery(1, day, "q-1", at("2025-03-10 08:00"))
    assert store.due_chats(at("2025-03-10 08:00")) == []  # in flight
    assert store.retry_delivery(1, day, retry_at=at("2025-03-10 08:01")) is True
    assert store.due_chats(at("2025-03-10 08:00:30")) == []  # not before retry_at
    due = store.due_chats(at("2025-03-10 08:01"))
    assert [(d.chat.chat_id, d.local_date) for d in due] == [(1, day)]
    assert store.claim_delivery(1, day, "q-1", at("2025-03-10 08:01"))
    store.complete_delivery(1, day, 70, at("2025-03-10 08:01"))
    assert store.get_chat(1).next_push_at == at("2025-03-11 08:00")


def test_no_retry_once_the_chats_local_day_is_over(store):
    add_private_chat(store, 1, tz="Europe/Berlin", now=at("2025-03-10 07:00"))
    day = date(2025, 3, 10)
    store.claim_delivery(1, day, "q-1", at("2025-03-10 22:50"))  # 23:50 in Berlin
    assert store.retry_delivery(1, day, retry_at=at("2025-03-10 23:05")) is False  # 00:05 there
    assert store.pending_deliveries(at("2025-03-12 00:00")) == []  # the claim is gone
    assert store.get_chat(1).next_push_at == at("2025-03-11 08:00")


def test_no_retry_for_a_chat_that_is_gone_or_a_claim_that_is_not_pending(store):
    add_private_chat(store, 1)
    day = date(2025, 3, 10)
    store.claim_delivery(1, day, "q-1", at("2025-03-10 09:00"))
    store.set_chat_status(1, "blocked", at("2025-03-10 09:00"))
    assert store.retry_delivery(1, day, retry_at=at("2025-03-10 09:05")) is False
    assert store.get_chat(1).next_push_at is None
    assert store.retry_delivery(1, day, retry_at=at("2025-03-10 09:05")) is False  # nothing pending


def test_moving_the_zone_east_after_the_push_brings_no_second_question_within_12_hours(store):
    """Issue 19: a 23:00 push in Berlin, then /timezone Asia/Tokyo (already 07:00 tomorrow there):
    the next question waits 12 hours instead of coming two hours later at 09:00 Tokyo time."""
    add_private_chat(store, 1, now=at("2025-03-10 08:00"), tz="Europe/Berlin", push_time="23:00")
    store.claim_delivery(1, date(2025, 3, 10), "q-1", at("2025-03-10 22:00"))
    store.complete_delivery(1, date(2025, 3, 10), 77, at("2025-03-10 22:00"))
    chat = store.update_chat_settings(1, at("2025-03-10 22:05"), tz="Asia/Tokyo")
    assert chat.next_push_at is not None and chat.next_push_at >= at("2025-03-11 10:00")
    assert store.due_chats(at("2025-03-11 00:00")) == []  # 09:00 in Tokyo: not yet
