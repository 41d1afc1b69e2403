"""The database is busy: another process holds SQLite's write lock for 2 s. The bot waits (a
call on the event loop gets SQLITE_BUSY at once and is repeated on the storage worker thread,
whose busy_timeout is 5 s, so the event loop keeps running) and then carries on: nothing is
lost, nothing fails, nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys

from storage.store import Store

LEARNERS = list(range(7101, 7106))
NEWCOMERS = list(range(7201, 7206))
CHATS = list(range(720_000, 720_020))
HOLD_SECONDS = 2.0

HOLDER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")  # SQLite's write lock: every other writer waits
print("locked", time.time(), flush=True)
time.sleep(float(sys.argv[2]))
print("releasing", time.time(), flush=True)  # the lock is held at least until this instant
conn.execute("COMMIT")
"""

RIGHT = {
    "dropout": "Dropout is regularisation: during training it randomly drops neurons so they cannot co-adapt, "
    "it reduces overfitting, the kept activations are rescaled and it is switched off at inference.",
    "rnn": "RNNs read sequences step by step with a hidden state, the same weights at every step; vanishing gradients led to LSTM.",
}


async def read_line(stream, timeout: float = 30.0) -> list[str]:
    line = await asyncio.wait_for(stream.readline(), timeout)
    return line.decode().split()


async def test_write_lock_held_by_another_process_for_2s_bot_waits_and_loses_nothing(tg, run_bot, clock, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    db = tmp_path / "tutor.db"
    store = Store.open(db)
    for chat_id in CHATS:  # due at 08:30; the clock says 08:00
        store.touch_user(chat_id, "Ada", None, "en", clock.now)
        store.ensure_chat(chat_id, "private", "", clock.now, "UTC", "08:30")
    store.close()
    app = await run_bot(tick_seconds=0.2)
    questions = {}
    for user in LEARNERS:
        tg.message(user, "/start")
        await tg.next_to(user)
        tg.message(user, "/quiz")
        questions[user] = await tg.next_to(user, 1)
    await tg.processed(app)
    before = len(tg.sent)

    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLDER, str(db), str(HOLD_SECONDS),
                                                  stdout=asyncio.subprocess.PIPE)
    try:
        word, locked_at = await read_line(holder.stdout)
        assert word == "locked"
        # While the lock is held: learners answer, newcomers register, and the push time comes.
        for user in LEARNERS:
            tg.reply(user, questions[user], RIGHT["dropout"] if "dropout" in questions[user].text.lower() else RIGHT["rnn"])
        for user in NEWCOMERS:
            tg.message(user, "/start")
        clock.advance(minutes=30)
        word, released_at = await read_line(holder.stdout)
        assert word == "releasing"
        assert await asyncio.wait_for(holder.wait(), 30) == 0
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()

    def dailies(chat_id):
        return [m for m in tg.messages_to(chat_id) if "Question of the day" in m.text]

    await tg.wait_for(lambda: all(len(tg.messages_to(u)) >= 3 for u in LEARNERS), timeout=60, what="every verdict")
    await tg.wait_for(lambda: all(tg.messages_to(u) for u in NEWCOMERS), timeout=60, what="every welcome")
    await tg.wait_for(lambda: all(dailies(c) for c in CHATS), timeout=60, what="every daily question")
    await tg.processed(app)

    def delivered() -> set[int]:
        with sqlite3.connect(db) as conn:
            return {r[0] for r in conn.execute("SELECT chat_id FROM deliveries WHERE state = 'sent'")}

    # The push marks a delivery sent just after Telegram accepted it: wait for the last of those.
    await tg.wait_for(lambda: delivered() == set(CHATS), timeout=60, what="every delivery marked sent")

    assert float(released_at) - float(locked_at) >= HOLD_SECONDS
    after_lock = tg.sent[before:]
    assert after_lock and min(s.at for s in after_lock) >= float(released_at)  # it waited, it did not fail
    assert all("Correct" in tg.messages_to(u)[2].text and len(tg.messages_to(u)) == 3 for u in LEARNERS)
    assert all(len(tg.messages_to(u)) == 1 and "interview coach" in tg.messages_to(u)[0].text for u in NEWCOMERS)
    assert all(len(dailies(c)) == 1 for c in CHATS)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == len(LEARNERS)
        assert {r[0] for r in conn.execute("SELECT user_id FROM users")} >= set(LEARNERS + NEWCOMERS)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")] == []
