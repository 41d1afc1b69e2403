"""FSRS cards and the review log: written with the attempt, read back as the
plain dicts fsrs' Card/ReviewLog.from_dict take."""

from datetime import timedelta

import pytest
from fsrs import Card, Rating, ReviewLog, Scheduler

from storage.errors import StorageError
from storage.models import ReviewRecord

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at, card, review

SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def setup(store, user_id=1, messages=(10,)):
    add_user(store, user_id)
    add_private_chat(store, user_id)
    for message_id in messages:
        ask(store, user_id, message_id, f"q-{message_id}")


def count(store, table):
    return store.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_real_fsrs_card_and_log_round_trip_through_record_attempt(store):
    setup(store, messages=(10, 11))
    now = T0 + timedelta(microseconds=123456)
    new_card, log = SCHEDULER.review_card(Card(card_id=77, due=now), Rating.Good,
                                          review_datetime=now)
    answer(store, 1, 1, 10, question_id="q-10", card=new_card.to_dict(), review=log.to_dict())
    stored = store.get_card(1, "q-10")
    assert set(stored) == set(new_card.to_dict())  # the keys of Card.to_dict, nothing else
    back = Card.from_dict(stored)
    assert (back.card_id, back.state, back.step) == (77, new_card.state, new_card.step)
    assert (back.stability, back.difficulty) == (new_card.stability, new_card.difficulty)
    # instants are kept to the second, in UTC: due at most one second early
    assert back.due == new_card.due.replace(microsecond=0)
    assert back.last_review == new_card.last_review.replace(microsecond=0)
    # the next review starts from the stored card
    again, _ = SCHEDULER.review_card(back, Rating.Good, review_datetime=back.due)
    assert again.due > back.due
    logs = store.review_logs()
    assert [ReviewLog.from_dict(row.review_log()).rating for row in logs] == [Rating.Good]
    assert logs == [ReviewRecord(user_id=1, question_id="q-10", card_id=77, rating=3,
                                 review_datetime=at("2025-03-10 12:00"), review_duration=None)]


def test_card_and_review_are_written_with_the_attempt_and_linked_to_it(store):
    setup(store)
    result = answer(store, 1, 1, 10, question_id="q-10", card=card(), review=review())
    row = store.db.conn.execute("SELECT attempt_id, reviewed_at FROM review_log").fetchone()
    assert row == (result.attempt_id, "2025-03-10T12:00:00Z")
    assert store.get_card(1, "q-10") == {
        "card_id": 4242, "state": 2, "step": None, "stability": 2.3065, "difficulty": 2.118,
        "due": "2025-03-12T12:00:00Z", "last_review": "2025-03-10T12:00:00Z"}


def test_a_second_review_replaces_the_card_counts_reps_and_appends_to_the_log(store):
    setup(store, messages=(10, 11))
    answer(store, 1, 1, 10, question_id="q", card=card(due="2025-03-12T12:00:00+00:00"),
           review=review(rating=3))
    answer(store, 1, 1, 11, question_id="q", now=at("2025-03-12 12:00"),
           card=card(due="2025-03-20T12:00:00+00:00", state=2, stability=9.5),
           review=review(rating=4, review_datetime="2025-03-12T12:00:00+00:00"))
    assert store.get_card(1, "q")["due"] == "2025-03-20T12:00:00Z"
    assert store.get_card(1, "q")["stability"] == 9.5
    assert store.due_cards(1, at("2025-03-25 00:00"))[0].reps == 2
    assert [r.rating for r in store.review_logs()] == [3, 4]


def test_a_duplicate_attempt_moves_no_card_and_logs_no_review(store):
    setup(store)
    answer(store, 1, 1, 10, question_id="q-10", card=card(due="2025-03-12T12:00:00+00:00"),
           review=review())
    assert answer(store, 1, 1, 10, question_id="q-10", verdict="incorrect",
                  card=card(due="2025-03-11T12:00:00+00:00", state=3),
                  review=review(rating=1)) is None
    assert store.get_card(1, "q-10")["due"] == "2025-03-12T12:00:00Z"
    assert count(store, "review_log") == 1 and count(store, "cards") == 1


def test_without_card_or_review_nothing_is_written_to_them(store):
    setup(store)
    answer(store, 1, 1, 10)
    assert count(store, "cards") == count(store, "review_log") == 0
    assert store.get_card(1, "q-1") is None


def test_a_failing_review_insert_rolls_back_the_attempt_streak_and_card(store):
    setup(store)
    store.db.execute("""CREATE TEMP TRIGGER fail_review BEFORE INSERT ON main.review_log
                        BEGIN SELECT RAISE(ABORT, 'injected failure'); END""")
    with pytest.raises(StorageError, match="injected failure"):
        answer(store, 1, 1, 10, card=card(), review=review())
    assert [count(store, t) for t in ("attempts", "streaks", "cards", "review_log")] == [0] * 4
    store.db.execute("DROP TRIGGER temp.fail_review")
    assert answer(store, 1, 1, 10, card=card(), review=review()) is not None
    assert count(store, "review_log") == 1


@pytest.mark.parametrize("bad_card, bad_review", [
    ({**card(), "due": "next tuesday"}, None),
    ({**card(), "due": "2025-03-12T12:00:00"}, None),  # naive
    ({**card(), "state": 7}, None),
    ({k: v for k, v in card().items() if k != "stability"}, None),
    ({**card(), "card_id": "4242"}, None),
    (None, {**review(), "rating": 5}),
    (None, {**review(), "review_datetime": None}),
    (card(card_id=1), review(card_id=2)),  # not the same card
])
def test_malformed_cards_and_reviews_are_rejected_before_anything_is_written(
        store, bad_card, bad_review):
    setup(store)
    with pytest.raises(ValueError):
        answer(store, 1, 1, 10, card=bad_card, review=bad_review)
    assert [count(store, t) for t in ("attempts", "streaks", "cards", "review_log")] == [0] * 4


def test_due_cards_are_the_due_ones_most_overdue_first_then_by_question(store):
    setup(store, messages=range(10, 15))
    dues = {"q-b": "2025-03-11T08:00:00+00:00", "q-a": "2025-03-11T08:00:00+00:00",
            "q-c": "2025-03-09T08:00:00+00:00", "q-d": "2025-03-20T08:00:00+00:00",
            "q-e": "2025-03-12T12:00:00+00:00"}
    for message_id, (question_id, due) in zip(range(10, 15), dues.items(), strict=True):
        answer(store, 1, 1, message_id, question_id=question_id, card=card(due=due))
    now = at("2025-03-12 12:00")
    due = store.due_cards(1, now)
    assert [c.question_id for c in due] == ["q-c", "q-a", "q-b", "q-e"]  # due <= now
    assert [c.question_id for c in store.due_cards(1, now, limit=2)] == ["q-c", "q-a"]
    assert set(due[0].card) == set(card())
    assert Card.from_dict(due[0].card).card_id == 4242
    assert store.due_cards(2, now) == []


def test_card_question_ids_are_the_questions_the_user_has_seen(store):
    setup(store, messages=(10, 11))
    setup(store, user_id=2, messages=(10,))
    answer(store, 1, 1, 10, question_id="q-x", card=card())
    answer(store, 1, 1, 11, question_id="q-y", card=card(card_id=5))
    answer(store, 2, 2, 10, question_id="q-z", card=card(card_id=6))
    assert store.card_question_ids(1) == {"q-x", "q-y"}
    assert store.card_question_ids(3) == set()


def test_review_logs_are_every_users_reviews_oldest_first(store):
    setup(store, messages=(10, 11))
    setup(store, user_id=2, messages=(10,))
    answer(store, 1, 1, 11, question_id="q-late", now=at("2025-03-11 09:00"),
           review=review(card_id=1, rating=2, review_datetime=at("2025-03-11 09:00"),
                         review_duration=3200))
    answer(store, 2, 2, 10, question_id="q-early", now=at("2025-03-10 09:00"),
           review=review(card_id=2, rating=1, review_datetime=at("2025-03-10 09:00")))
    answer(store, 1, 1, 10, question_id="q-same", now=at("2025-03-11 09:00"),
           review=review(card_id=3, rating=4, review_datetime=at("2025-03-11 09:00")))
    logs = store.review_logs()
    assert [(r.user_id, r.card_id, r.rating) for r in logs] == \
        [(2, 2, 1), (1, 1, 2), (1, 3, 4)]  # by time, then in insertion order
    assert logs[1].review_duration == 3200
    assert [ReviewLog.from_dict(r.review_log()).card_id for r in logs] == [2, 1, 3]


def test_a_review_outlives_its_attempt_only_as_unlinked(store):
    """Deleting an attempt (e.g. its chat) keeps the learner's review history
    but drops the link (ON DELETE SET NULL)."""
    add_user(store, 1)
    store.ensure_chat(-5, "group", "G", T0, "UTC", "09:00")
    ask(store, -5, 10)
    answer(store, 1, -5, 10, review=review())
    store.db.execute("DELETE FROM chats WHERE chat_id = -5")
    assert store.db.conn.execute("SELECT attempt_id FROM review_log").fetchall() == [(None,)]


def test_answer_context_carries_the_card_of_the_question_answered(store):
    setup(store, messages=(10, 11))
    answer(store, 1, 1, 10, question_id="q-10", card=card(due="2025-03-12T12:00:00+00:00"), review=review())
    ask(store, 1, 12, "q-10")  # the same question again, days later
    context = store.answer_context(1, 1, 12)
    assert context.card == store.get_card(1, "q-10") and context.card["card_id"] == 4242
    assert store.answer_context(1, 1, 11).card is None  # q-11 never answered
