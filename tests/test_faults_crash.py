"""kill -9 in the middle of a daily push to 500 chats, then a restart: every chat ends with exactly
one question for the day, except — at most — the chats whose send was in flight at the kill.

The real bot process (`tutor-bot run`) against the fake Bot API server. The only window for a
duplicate is between Telegram accepting a message and the delivery row being marked sent: a
claim still pending at restart is re-sent, because the bot cannot know whether Telegram got it.
The test measures that window at the kill (chats the server accepted a question for whose
delivery row is still pending) and proves the duplicates are exactly those, at most the 16
sends the push keeps in flight, and that no chat is missed.
"""

from __future__ import annotations

import sqlite3

from tests.bot_process import bot_processes, create_due_chats, daily_counts, deliveries  # noqa: F401 — fixture
from tests.fake_telegram import Fault

CHATS = 500
IN_FLIGHT = 16  # bot/daily.py: concurrent sends of the fan-out when a rate is set


async def test_kill_9_mid_push_restart_sends_each_chat_exactly_one_question(tg, tmp_path, bot_processes):  # noqa: F811
    db = tmp_path / "tutor.db"
    chats = create_due_chats(db, CHATS)
    # Every send takes 50 ms at the server and the bot paces itself at 100/s, 16 sends in flight:
    # the push takes ~5 s, long enough to kill it in the middle.
    tg.faults.append(Fault("sendMessage", "slow", count=10**9, delay=0.05))
    env = {"TUTOR_MAX_MESSAGES_PER_SECOND": "100", "TUTOR_TICK_SECONDS": "0.2"}

    first = bot_processes.start(tg, db_path=db, **env)
    await tg.wait_for(lambda: sum(daily_counts(tg, chats).values()) >= 150, timeout=90, what="150 pushes out of 500")
    first.kill()
    assert await first.exited(30) == -9
    sent_at_kill = sum(daily_counts(tg, chats).values())
    assert sent_at_kill < CHATS, "the push finished before the kill; the test must kill it in the middle"
    # Requests that reached the server before the kill still complete there (Telegram would
    # deliver them too): let them land, then measure the window.
    await tg.wait_for(lambda: tg.in_flight["sendMessage"] == 0, timeout=30, what="in-flight sends to land")
    accepted = daily_counts(tg, chats)
    rows = deliveries(db)
    assert all(n == 1 for n in accepted.values()), "a duplicate before any restart"
    window = {chat for chat in accepted if rows.get(chat, ("?", None))[0] != "sent"}
    pending = {chat for chat, (state, _) in rows.items() if state == "pending"}
    assert window <= pending, "an accepted send without its claim"
    assert len(pending) <= IN_FLIGHT  # claims are made inside the in-flight semaphore

    second = bot_processes.start(tg, db_path=db, **env)
    await tg.wait_for(lambda: len(daily_counts(tg, chats)) == CHATS, timeout=120, what="every chat's question")
    await second.wait_log("daily push:", timeout=60)  # the restarted run's fan-out is over
    await tg.wait_for(
        lambda: sum(1 for state, _ in deliveries(db).values() if state == "sent") == CHATS,
        timeout=60,
        what="every delivery marked sent",
    )
    second.terminate()
    assert await second.exited(60) == 0

    counts = daily_counts(tg, chats)
    duplicated = {chat for chat, n in counts.items() if n > 1}
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nkill -9 after {sent_at_kill} of {CHATS} sends; in the window at the kill: {len(window)} chats; "
          f"claims pending at the kill: {len(pending)}; duplicates after restart: {duplicates}; misses: {CHATS - len(counts)}")
    assert len(counts) == CHATS  # zero misses
    assert max(counts.values()) <= 2
    assert duplicated <= window  # only chats whose send was in flight at the kill
    assert duplicates <= len(window) <= IN_FLIGHT
    # The database agrees with what Telegram has: one sent delivery per chat, pointing at a real message.
    final = deliveries(db)
    by_message = {(s.chat_id, s.message_id) for s in tg.sent if s.method == "sendMessage"}
    assert all(state == "sent" and (chat, msg) in by_message for chat, (state, msg) in final.items())
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
