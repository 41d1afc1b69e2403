"""Progress storage (issue 20): what /stats, /history and the weekly digest read, the digest's
setting and its once-per-week claim, and the migration that added them. Real SQLite files."""

import sqlite3
import threading
from datetime import date

import pytest
import sqlite_utils

from storage.errors import NotFound
from storage.migrations import MIGRATIONS, migrate, schema_version
from storage.models import DayCount, DigestSettings, StoredCard
from storage.store import Store

from storage_helpers import T0, add_private_chat, add_user, answer, ask, at, card, review

MONDAY = date(2025, 3, 10)


def learner(store, user_id=1, tz="UTC"):
    add_user(store, user_id, name=f"U{user_id}")
    add_private_chat(store, user_id, tz=tz)


def answered(store, user_id, message_id, when, verdict="correct", topic="cnn", **kw):
    ask(store, user_id, message_id, question_id=kw.pop("question_id", f"q-{message_id}"),
        user_id=user_id, now=when)
    return answer(store, user_id, user_id, message_id, now=when, verdict=verdict, topic=topic,
                  question_id=f"q-{message_id}", **kw)


# ---- the /stats picture --------------------------------------------------------------------

def test_progress_counts_answers_per_stored_local_day_with_their_verdicts(store):
    learner(store, tz="Asia/Tokyo")
    store.set_user_tz(1, "Asia/Tokyo")
    answered(store, 1, 10, at("2025-03-10 14:00"), tz="Asia/Tokyo")  # 23:00 Mar 10 in Tokyo
    answered(store, 1, 11, at("2025-03-10 15:30"), "partial", tz="Asia/Tokyo")  # 00:30 Mar 11
    answered(store, 1, 12, at("2025-03-11 02:00"), "incorrect", tz="Asia/Tokyo")  # Mar 11
    progress = store.progress(1)
    assert progress.days == (DayCount(date(2025, 3, 10), 1, 1, 0),
                             DayCount(date(2025, 3, 11), 2, 0, 1))
    assert (progress.stats.answered, progress.stats.correct) == (3, 1)
    assert progress.streak.current == 2


def test_progress_has_every_card_as_fsrs_wrote_it(store):
    learner(store)
    answered(store, 1, 10, T0, card=card(card_id=7), review=review(card_id=7))
    answered(store, 1, 11, T0, card=card(card_id=8, due="2025-03-20T08:00:00+00:00"),
             review=review(card_id=8))
    cards = store.progress(1).cards
    assert [c.question_id for c in cards] == ["q-10", "q-11"]
    assert cards[1] == StoredCard("q-11", {**card(card_id=8), "due": "2025-03-20T08:00:00Z",
                                           "last_review": "2025-03-10T12:00:00Z"}, reps=1)


def test_recent_topic_accuracy_is_over_each_topics_last_20_answers(store):
    learner(store)
    for i in range(20):  # 20 wrong answers on cnn, then 20 right ones
        answered(store, 1, 100 + i, at(f"2025-03-10 10:{i:02d}"), "incorrect")
    for i in range(20):
        answered(store, 1, 200 + i, at(f"2025-03-11 10:{i:02d}"), "correct")
    answered(store, 1, 300, at("2025-03-11 11:00"), "partial", topic=None)
    recent = {t.topic: (t.answered, t.accuracy) for t in store.progress(1).recent_topics}
    assert recent == {"cnn": (20, 1.0), "unknown": (1, 0.5)}
    assert {t.topic: t.answered for t in store.progress(1).stats.per_topic}["cnn"] == 40


def test_progress_of_a_learner_without_answers_is_empty(store):
    learner(store)
    progress = store.progress(1)
    assert (progress.days, progress.cards, progress.recent_topics) == ((), (), ())
    assert progress.stats.answered == 0 and progress.streak.current == 0


# ---- /history --------------------------------------------------------------------------------

def test_recent_attempts_are_the_newest_ten_with_what_was_matched(store):
    learner(store)
    for i in range(12):
        answered(store, 1, 10 + i, at(f"2025-03-10 12:{i:02d}"), matched=[f"term {i}"])
    attempts = store.recent_attempts(1)
    assert len(attempts) == 10
    assert [a.question_message_id for a in attempts] == list(range(21, 11, -1))
    assert attempts[0].matched == ("term 11",)
    assert store.recent_attempts(1, 3)[-1].question_message_id == 19


def test_an_attempt_is_resolved_only_for_its_own_learner(store):
    learner(store, 1)
    learner(store, 2)
    mine = answered(store, 1, 10, T0)
    assert store.attempt_of(1, mine.attempt_id).question_id == "q-10"
    assert store.attempt_of(2, mine.attempt_id) is None
    assert store.attempt_of(1, 999) is None


# ---- the weekly digest -----------------------------------------------------------------------

def test_the_digest_is_on_on_sundays_by_default_and_can_be_changed(store):
    learner(store)
    assert store.digest_settings(1) == DigestSettings(True, 6, None)
    assert store.set_digest(1, on=False) == DigestSettings(False, 6, None)
    assert store.set_digest(1, weekday=2) == DigestSettings(False, 2, None)
    assert store.set_digest(1, on=True, weekday=0) == DigestSettings(True, 0, None)
    assert store.digest_settings(404) is None
    with pytest.raises(NotFound):
        store.set_digest(404, on=False)
    for bad in (dict(weekday=7), dict(weekday=-1), dict(weekday=True), dict(on=1)):
        with pytest.raises(ValueError):
            store.set_digest(1, **bad)
    assert store.digest_settings(1) == DigestSettings(True, 0, None)


def test_a_week_is_claimed_once_and_a_later_week_again(store):
    learner(store)
    assert store.claim_digest(1, MONDAY) is True
    assert store.claim_digest(1, MONDAY) is False
    assert store.claim_digest(1, date(2025, 3, 3)) is False  # an earlier week: never
    assert store.digest_settings(1).last_week == MONDAY
    assert store.claim_digest(1, date(2025, 3, 17)) is True
    with pytest.raises(ValueError, match="Monday"):
        store.claim_digest(1, date(2025, 3, 18))


def test_a_released_claim_can_be_claimed_again(store):
    learner(store)
    store.claim_digest(1, MONDAY)
    assert store.claim_digest(1, date(2025, 3, 17)) is True
    assert store.release_digest(1, date(2025, 3, 17), MONDAY) is True
    assert store.digest_settings(1).last_week == MONDAY
    assert store.release_digest(1, date(2025, 3, 17), MONDAY) is False  # nothing to give back
    assert store.claim_digest(1, date(2025, 3, 17)) is True


def test_two_connections_claiming_the_same_week_get_one_true(db_path):
    setup = Store.open(db_path)
    learner(setup)
    setup.close()
    stores = [Store.open(db_path) for _ in range(4)]
    results, barrier = [], threading.Barrier(4)

    def claim(s):
        barrier.wait()
        results.append(s.claim_digest(1, MONDAY))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results) == [False, False, False, True]


WINDOW = dict(weekdays=(5, 6, 0), before_week=date(2025, 3, 17), active_since=at("2025-02-20 00:00"))


def candidate_ids(store, **overrides):
    return [c.user_id for c in store.digest_candidates(**{**WINDOW, **overrides})]


def test_digest_candidates_are_active_learners_with_the_digest_on(store):
    learner(store, 1, tz="Asia/Tokyo")
    answered(store, 1, 10, T0)
    [c] = store.digest_candidates(**WINDOW)
    assert (c.user_id, c.tz, c.day_start_hour, c.weekday, c.last_week) == (1, "Asia/Tokyo", 0, 6, None)
    store.set_user_tz(1, "Europe/Berlin")  # the learner's own zone wins over the chat's
    assert store.digest_candidates(**WINDOW)[0].tz == "Europe/Berlin"


@pytest.mark.parametrize("change", [
    "digest off", "other weekday", "claimed this week", "blocked", "unsubscribed", "inactive",
    "no answers", "no private chat"])
def test_digest_candidates_leave_out(store, change):
    learner(store, 1)
    if change != "no answers":
        answered(store, 1, 10, at("2025-02-10 12:00") if change == "inactive" else T0)
    if change == "digest off":
        store.set_digest(1, on=False)
    elif change == "other weekday":
        store.set_digest(1, weekday=3)
    elif change == "claimed this week":
        store.claim_digest(1, date(2025, 3, 17))
    elif change == "blocked":
        store.set_chat_status(1, "blocked", T0)
    elif change == "unsubscribed":
        store.update_chat_settings(1, T0, subscribed=False)
    elif change == "no private chat":
        store.db.execute("DELETE FROM chats WHERE chat_id = 1")
    assert candidate_ids(store) == []


def test_digest_candidates_come_in_pages_by_user_id(store):
    for user_id in (5, 3, 9):
        learner(store, user_id)
        answered(store, user_id, 10, T0)
    store.claim_digest(3, MONDAY)  # an earlier week: still a candidate
    assert candidate_ids(store) == [3, 5, 9]
    assert candidate_ids(store, limit=2) == [3, 5]
    assert candidate_ids(store, after_user_id=5) == [9]
    assert candidate_ids(store, weekdays=()) == []


def test_erasing_a_learner_erases_the_digest_setting(store):
    learner(store)
    store.set_digest(1, weekday=2)
    store.claim_digest(1, MONDAY)
    assert store.export_user(1)["user"]["digest_weekday"] == 2
    store.delete_user(1)
    assert store.digest_settings(1) is None


# ---- the migration ---------------------------------------------------------------------------

def test_the_progress_step_applies_to_the_previous_version_and_keeps_the_data(tmp_path):
    path = tmp_path / "bot.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    migrate(db, target=len(MIGRATIONS) - 1)
    db.execute("INSERT INTO users (user_id, first_name, created_at, last_seen_at) "
               "VALUES (1, 'Ada', '2025-03-10T12:00:00Z', '2025-03-10T12:00:00Z')")
    db.close()
    s = Store.open(path)
    assert schema_version(s.db) == len(MIGRATIONS)
    assert s.get_user(1).first_name == "Ada"
    assert s.digest_settings(1) == DigestSettings(True, 6, None)  # on, Sundays, never sent
    plan = " ".join(str(r) for r in s.db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM attempts WHERE user_id = 1 ORDER BY answered_at DESC"))
    assert "attempts_by_user" in plan
    s.close()
