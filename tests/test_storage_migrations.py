import sqlite3
import threading

import pytest
import sqlite_utils

from storage import migrations
from storage.db import StorageError, open_db
from storage.migrations import MIGRATIONS, migrate, schema_version
from storage.store import Store
from storage_fixtures import T0


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


def test_there_are_at_least_two_numbered_steps():
    assert len(MIGRATIONS) >= 2


@pytest.mark.parametrize("target", range(1, len(MIGRATIONS) + 1))
def test_each_step_applies_to_an_empty_file(tmp_path, target):
    db = raw_db(tmp_path / "bot.db")
    assert migrate(db, target=target) == target
    assert schema_version(db) == target
    assert "attempts" in db.table_names()
    assert ("day_start_hour" in columns(db, "users")) == (target >= 2)
    assert ("attempts_by_message" in indexes(db)) == (target >= 2)
    assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_step_2_applies_to_a_version_1_file_and_keeps_its_data(tmp_path):
    path = tmp_path / "bot.db"
    db = raw_db(path)
    migrate(db, target=1)
    db.execute("INSERT INTO users (user_id, first_name, created_at, last_seen_at) "
               "VALUES (1, 'Ada', 'x', 'x')")
    db.execute("INSERT INTO chats (chat_id, type, tz, push_time, created_at) "
               "VALUES (1, 'private', 'UTC', '09:00', 'x')")
    db.execute("INSERT INTO question_messages VALUES (1, 10, 'q', 'daily', NULL, 'x')")
    db.execute("""INSERT INTO attempts (user_id, chat_id, question_id, question_message_id,
                  score, verdict, points, answered_at, local_date, tz)
                  VALUES (1, 1, 'q', 10, 1.0, 'correct', 3, 'x', '2025-03-10', 'UTC')""")
    db.close()
    s = Store.open(path)  # open_db migrates the rest
    assert schema_version(s.db) == len(MIGRATIONS)
    assert s.get_user(1)["day_start_hour"] == 0
    assert s.get_attempt(1, 1, 10)["verdict"] == "correct"
    assert "attempts_by_message" in indexes(s.db)
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
