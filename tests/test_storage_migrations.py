import sqlite3
import threading

import pytest
import sqlite_utils

from storage import migrations
from storage.db import StorageError, open_db
from storage.migrations import MIGRATIONS, migrate, schema_version
from storage.store import Store

from storage_helpers import T0, at, card, review


def raw_db(path) -> sqlite_utils.Database:
    """A connection with the same transaction mode as open_db, no migration."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


def columns(db, table):
    return [row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")]


def indexes(db):
    return {row[0] for row in db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}


def test_there_are_at_least_three_numbered_steps():
    assert len(MIGRATIONS) >= 3


NOON = "2025-03-10T12:00:00Z"  # test data written in SQL, in the stored form
LEARNING_TABLES = {"cards", "review_log", "reminders_sent", "interviews", "disputes"}


@pytest.mark.parametrize("target", range(1, len(MIGRATIONS) + 1))
def test_each_step_applies_to_an_empty_file(tmp_path, target):
    db = raw_db(tmp_path / "bot.db")
    assert migrate(db, target=target) == target
    assert schema_version(db) == target
    assert "attempts" in db.table_names()
    assert ("day_start_hour" in columns(db, "users")) == (target >= 2)
    assert ("attempts_by_message" in indexes(db)) == (target >= 2)
    assert LEARNING_TABLES & set(db.table_names()) == (LEARNING_TABLES if target >= 3 else set())
    assert ("freezes" in columns(db, "streaks")) == (target >= 3)
    assert ("reminders" in columns(db, "users")) == (target >= 3)
    assert ("interview_id" in columns(db, "question_messages")) == (target >= 3)
    assert ({"cards_due", "streaks_recent", "interviews_active"} <= indexes(db)) == (target >= 3)
    assert ("inbox" in db.table_names()) == (target >= 4)
    assert ("processed_updates" in db.table_names()) == (target < 4)
    assert ("reply_sent_at" in columns(db, "attempts")) == (target >= 7)
    assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_step_2_applies_to_a_version_1_file_and_keeps_its_data(tmp_path):
    path = tmp_path / "bot.db"
    db = raw_db(path)
    migrate(db, target=1)
    db.execute("INSERT INTO users (user_id, first_name, created_at, last_seen_at) "
               f"VALUES (1, 'Ada', '{NOON}', '{NOON}')")
    db.execute("INSERT INTO chats (chat_id, type, tz, push_time, created_at) "
               f"VALUES (1, 'private', 'UTC', '09:00', '{NOON}')")
    db.execute(f"INSERT INTO question_messages VALUES (1, 10, 'q', 'daily', NULL, '{NOON}')")
    db.execute(f"""INSERT INTO attempts (user_id, chat_id, question_id, question_message_id,
                  score, verdict, points, answered_at, local_date, tz)
                  VALUES (1, 1, 'q', 10, 1.0, 'correct', 3, '{NOON}', '2025-03-10', 'UTC')""")
    db.close()
    s = Store.open(path)  # open_db migrates the rest
    assert schema_version(s.db) == len(MIGRATIONS)
    assert s.get_user(1).day_start_hour == 0
    assert s.get_attempt(1, 1, 10).verdict == "correct"
    assert "attempts_by_message" in indexes(s.db)
    s.close()


def test_step_3_applies_to_a_version_2_file_and_keeps_its_data(tmp_path):
    path = tmp_path / "bot.db"
    db = raw_db(path)
    migrate(db, target=2)
    db.execute("INSERT INTO users (user_id, first_name, created_at, last_seen_at, "
               f"day_start_hour, tz) VALUES (1, 'Ada', '{NOON}', '{NOON}', 4, 'Europe/Berlin')")
    db.execute("INSERT INTO chats (chat_id, type, tz, push_time, created_at) "
               f"VALUES (1, 'private', 'UTC', '09:00', '{NOON}')")
    db.execute(f"INSERT INTO question_messages VALUES (1, 10, 'q', 'quiz', 1, '{NOON}')")
    db.execute("""INSERT INTO attempts (user_id, chat_id, question_id, question_message_id,
                  score, verdict, points, answered_at, local_date, tz, day_start_hour)
                  VALUES (1, 1, 'q', 10, 1.0, 'correct', 3, '2025-03-10T12:00:00Z',
                          '2025-03-10', 'UTC', 4)""")
    db.execute("""INSERT INTO streaks VALUES (1, 9, 9, '2025-03-10', '2025-03-10T12:00:00Z',
                  '2025-03-10T12:00:00Z')""")
    db.execute("INSERT INTO hints_used VALUES (1, 1, 10, 'x')")
    db.close()

    s = Store.open(path)  # open_db applies step 3
    assert schema_version(s.db) == len(MIGRATIONS)
    user = s.get_user(1)
    assert (user.day_start_hour, user.tz, user.reminders) == (4, "Europe/Berlin", True)
    # the stored streak is kept as it was; freezes start at 0 (no retroactive award)
    state = s.streak_state(1)
    assert (state.current, state.longest, state.freezes) == (9, 9, 0)
    assert s.get_question_message(1, 10).interview_id is None
    assert s.get_attempt(1, 1, 10).verdict == "correct"
    assert s.hint_used(1, 1, 10) is True
    assert s.get_card(1, "q") is None and s.review_logs() == []
    assert s.db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # and the new features work on the upgraded file
    s.record_question_message(1, 11, "q2", "interview", 1, at("2025-03-11 12:00"),
                              interview_id=s.start_interview(1, 1, ["q2"], "cnn", T0).id)
    s.record_attempt(user_id=1, chat_id=1, question_id="q2", question_message_id=11,
                     topic=None, score=1.0, verdict="correct", matched=[], used_hint=False,
                     revealed=False, now=at("2025-03-11 12:00"), tz_name="UTC",
                     card=card(), review=review())
    assert s.get_card(1, "q2")["card_id"] == 4242
    assert s.streak_state(1).current == 10
    s.close()


def test_migrating_an_up_to_date_file_changes_nothing(tmp_path):
    path = tmp_path / "bot.db"
    Store.open(path).close()
    before = path.read_bytes()
    db = open_db(path)
    assert migrate(db) == len(MIGRATIONS)
    db.close()
    assert path.read_bytes() == before


def test_a_failing_step_rolls_back_entirely_and_keeps_the_old_version(tmp_path, monkeypatch):
    db = raw_db(tmp_path / "bot.db")
    migrate(db, target=1)

    def broken_step(db):
        db.execute("CREATE TABLE half_done (x)")
        db.execute("THIS IS NOT SQL")

    monkeypatch.setattr(migrations, "MIGRATIONS", [MIGRATIONS[0], broken_step])
    with pytest.raises(StorageError, match="migration step 2"):
        migrate(db)
    assert schema_version(db) == 1
    assert "half_done" not in db.table_names()


def test_several_connections_opening_a_new_file_at_once_migrate_it_once(tmp_path):
    path = tmp_path / "bot.db"
    errors, barrier = [], threading.Barrier(4)

    def opener():
        barrier.wait()
        try:
            Store.open(path).close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    s = Store.open(path)
    assert schema_version(s.db) == len(MIGRATIONS)
    s.touch_user(1, "Ada", None, None, T0)
    s.close()


def test_step_4_turns_the_seen_update_ids_into_done_inbox_rows(tmp_path):
    """Dedupe by update id carries on across the upgrade: an id seen before step 4 is still
    refused after it, and no payload is invented for it."""
    path = tmp_path / "bot.db"
    db = raw_db(path)
    migrate(db, target=3)
    db.execute(f"INSERT INTO processed_updates VALUES (500, '{NOON}')")
    db.close()
    s = Store.open(path)
    assert s.db.conn.execute("SELECT update_id, payload, received_at, done_at FROM inbox"
                             ).fetchall() == [(500, None, NOON, NOON)]
    assert s.inbox_add([(500, "{}"), (501, "{}")], at("2025-03-10 12:05")) == 1
    assert s.seen_update(500, at("2025-03-10 12:05")) is False
    assert [item.update_id for item in s.inbox_pending()] == [501]
    s.close()


def test_step_7_counts_the_attempts_before_it_as_replied_to(tmp_path):
    """Only verdicts lost after the upgrade are redelivered: the bot cannot know about older ones,
    and re-sending a year of verdicts to everyone would be the worse mistake."""
    path = tmp_path / "bot.db"
    db = raw_db(path)
    migrate(db, target=6)
    db.execute("INSERT INTO users (user_id, first_name, created_at, last_seen_at) "
               f"VALUES (1, 'Ada', '{NOON}', '{NOON}')")
    db.execute("INSERT INTO chats (chat_id, type, tz, push_time, created_at) "
               f"VALUES (1, 'private', 'UTC', '09:00', '{NOON}')")
    db.execute(f"INSERT INTO question_messages VALUES (1, 10, 'q', 'quiz', 1, '{NOON}', NULL)")
    db.execute(f"""INSERT INTO attempts (user_id, chat_id, question_id, question_message_id,
                  score, verdict, points, answered_at, local_date, tz)
                  VALUES (1, 1, 'q', 10, 1.0, 'correct', 3, '{NOON}', '2025-03-10', 'UTC')""")
    db.close()
    s = Store.open(path)
    assert s.get_attempt(1, 1, 10).reply_sent_at == at("2025-03-10 12:00")
    assert s.unreplied_attempts(1) == []
    s.close()
