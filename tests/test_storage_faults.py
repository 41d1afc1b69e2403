import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from storage.errors import DatabaseBusy, DiskFull, StorageError
from storage.store import Store

from storage_helpers import T0, add_private_chat, add_user, answer, ask

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO inbox VALUES (424242, NULL, '2025-03-10T12:00:00Z', '2025-03-10T12:00:00Z')")
print("locked", flush=True)
sys.stdin.readline()  # held until the test says so
conn.execute("COMMIT")
"""


class OtherProcessLock:
    """Another process holding the database's write lock until :meth:`release`."""

    def __init__(self, path):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"locked"

    def release(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=10) == 0


def test_a_writer_waits_for_another_processs_write_lock_and_nothing_is_lost(tmp_path):
    path = tmp_path / "bot.db"
    s = Store.open(path)
    add_user(s, 1)
    add_private_chat(s, 1)
    ask(s, 1, 10)
    lock = OtherProcessLock(path)
    done = threading.Event()
    results = []
    writer = threading.Thread(target=lambda: (results.append(answer(s, 1, 1, 10)), done.set()))
    writer.start()
    assert not done.wait(0.3)  # waiting for the lock (busy_timeout), not failing
    lock.release()
    assert done.wait(10)
    writer.join()
    assert results[0] is not None
    assert s.get_attempt(1, 1, 10) is not None
    assert s.seen_update(424242, T0) is False  # the other process's write is there too
    s.close()


def test_a_write_lock_held_longer_than_busy_timeout_fails_cleanly_naming_the_path(tmp_path):
    path = tmp_path / "bot.db"
    s = Store.open(path)
    add_user(s, 1)
    s.db.execute("PRAGMA busy_timeout = 100")  # 5 s in the bot; the test need not wait that long
    lock = OtherProcessLock(path)
    with pytest.raises(DatabaseBusy, match="locked") as info:
        s.set_user_level(1, "advanced")
    lock.release()
    assert str(path) in str(info.value)
    assert s.get_user(1).level == "all"
    assert s.set_user_level(1, "advanced").level == "advanced"
    s.close()


def test_two_store_instances_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "bot.db"
    setup = Store.open(path)
    for user_id in (1, 2):
        add_user(setup, user_id)
        add_private_chat(setup, user_id)
        for message_id in range(200):
            ask(setup, user_id, message_id)
    setup.close()
    errors = []

    def writer(user_id):
        s = Store.open(path)
        try:
            for message_id in range(200):
                answer(s, user_id, user_id, message_id, now=T0 + timedelta(hours=message_id))
                s.seen_update(user_id * 1000 + message_id, T0)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=writer, args=(user_id,)) for user_id in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    s = Store.open(path)
    assert s.user_stats(1).answered == s.user_stats(2).answered == 200
    assert s.db.conn.execute("SELECT count(*) FROM inbox").fetchone()[0] == 400
    assert s.streak_state(1).longest == s.streak_state(2).longest == 9  # 200 h = 9 days
    s.close()


NASTY = [
    "Robert'); DROP TABLE users;--",
    'Say "hi" \\ 100% _done_',
    "🦊🧠 Grüße, naïve café",
    "مرحبا بالعالم",
    "\u202eevil\u202c RTL override",
    "tab\tnew\nline\rbell\x07esc\x1b[31m\x01",
    "",
]


@pytest.mark.parametrize("text", NASTY)
def test_unicode_quotes_and_sql_metacharacters_round_trip_exactly(store, text):
    store.touch_user(1, text, text, text, T0)
    store.ensure_chat(-7, "group", text, T0, "UTC", "09:00")
    store.record_question_message(-7, 1, text, "quiz", 1, T0)
    answer(store, 1, -7, 1, question_id=text, topic=text, matched=[text, "x"])
    user = store.get_user(1)
    assert (user.first_name, user.username, user.language) == (text, text, text)
    assert store.get_chat(-7).title == text
    assert store.get_question_message(-7, 1).question_id == text
    attempt = store.get_attempt(1, -7, 1)
    assert (attempt.question_id, attempt.topic, attempt.matched) == (text, text, (text, "x"))
    assert store.leaderboard(-7, None)[0].first_name == text
    assert store.recent_questions(-7) == [text]
    assert text in [topic.topic for topic in store.user_stats(1).per_topic]
    # the one stored reply text (a dispute), and the interview label
    disputed = store.record_dispute(user_id=1, chat_id=-7, question_id=text,
                                    question_message_id=1, reply=text, verdict="correct",
                                    score=1.0, matched=[text], missed=[text], now=T0)
    assert (disputed.reply, disputed.matched, disputed.missed) == (text, (text,), (text,))
    interview = store.start_interview(-7, 1, [text or "q"], text, T0)  # ids are non-empty
    assert interview is not None
    assert store.get_interview(interview.id).topic_or_level == text
    assert store.get_interview(interview.id).question_ids == (text or "q",)
    assert "users" in store.db.table_names()


def test_seen_update_is_true_once_then_false_for_a_redelivery(store):
    assert store.seen_update(1, T0) is True
    assert store.seen_update(1, T0 + timedelta(seconds=5)) is False
    assert store.seen_update(2, T0) is True


def test_a_full_disk_is_reported_as_such_loses_nothing_stored_and_recovers_by_itself(store):
    """Issue 18: a full disk lost answers behind a generic apology. SQLite reports a file that
    cannot grow as SQLITE_FULL; PRAGMA max_page_count makes this file "full" for the test."""
    add_user(store, 1)
    add_private_chat(store, 1)
    for message_id in range(1, 200):
        ask(store, 1, message_id)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFull, match="full") as info:
        for message_id in range(1, 200):  # answers until a page is needed
            answer(store, 1, 1, message_id, topic="x" * 500)
    answered = store.user_stats(1).answered
    assert isinstance(info.value, StorageError) and store.path in str(info.value)
    store.db.execute(f"PRAGMA max_page_count = {pages * 100}")  # space is back
    assert answer(store, 1, 1, 199) is not None
    assert store.user_stats(1).answered == answered + 1
