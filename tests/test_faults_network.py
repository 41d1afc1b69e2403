"""Telegram misbehaving on the wire: 429 storms, 5xx answers, timeouts, dropped connections, and
updates delivered twice. The real application in-process, over HTTP, against the fake Bot API.

Timings the tests rely on (the waits themselves are all condition polls with generous timeouts):
the bot retries a send that Telegram provably did not take after 0.5, 1, 2 and 4 s
(bot/sending.py); the inbox retries a failed getUpdates after 1, 2, 4, 8 … s (bot/inbox.py);
PTB's read timeout is 5 s (getUpdates: the long-poll timeout + 10 s).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import sqlite3
import time

from bot import sending
from bot.app import stop_app
from storage.store import Store
from tests.fake_telegram import Fault

USER = 6161
FIRST_CHAT = 610_000
STORM_SECONDS = 10  # the storm is 30 s; 10 s keeps CI fast and is still ~10 pauses long

RIGHT = {
    "dropout": "Dropout is regularisation: during training it randomly drops neurons so they cannot co-adapt, "
    "it reduces overfitting, the kept activations are rescaled and it is switched off at inference.",
    "rnn": "RNNs read sequences step by step with a hidden state, the same weights at every step; vanishing gradients led to LSTM.",
}


def right_answer_for(text: str) -> str:
    return RIGHT["dropout"] if "dropout" in text.lower() else RIGHT["rnn"]


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def attempts_of(db_path, user_id: int) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT chat_id, question_message_id, verdict FROM attempts WHERE user_id = ?", (user_id,)).fetchall()


def record_times(tg, method: str) -> list[float]:
    """Timestamps of every call of `method` the fake server receives (faults included)."""
    times: list[float] = []
    tg.fault_policy = lambda m, params: times.append(time.monotonic()) if m == method else None
    return times


async def answered_in_stats(tg, user=USER) -> str:
    """The "Answered" line of the learner's /stats (a picture whose caption has the numbers)."""
    n = len(tg.messages_to(user, "sendPhoto"))
    tg.message(user, "/stats")
    caption = (await tg.next_to(user, n, method="sendPhoto")).text
    return next(line for line in caption.splitlines() if "Answered" in line)


async def quiz_question(tg, user=USER):
    n = len(tg.messages_to(user))
    tg.message(user, "/start")
    await tg.next_to(user, n)
    tg.message(user, "/quiz")
    return await tg.next_to(user, n + 1)


# ---------------------------------------------------------------- 429 storm


async def test_429_storm_every_message_delivered_once(tg, run_bot, clock, tmp_path, caplog):
    """20% of sends answered 429 (retry after 1 s) for 10 s, while a daily push to 60 chats goes
    out and learners keep writing (one new learner every 0.1 s), all through the production rate
    limiter (30 messages/s, which pauses every send for the retry_after it is told; the one retry
    policy in bot/sending.py then sends again, since a 429 proves Telegram did not take it)."""
    caplog.set_level(logging.INFO)
    store = Store.open(tmp_path / "tutor.db")
    chats = list(range(FIRST_CHAT, FIRST_CHAT + 60))
    for chat_id in chats:
        store.touch_user(chat_id, "Ada", None, "en", clock.now)
        store.ensure_chat(chat_id, "private", "", clock.now, "UTC", "08:00")  # due now
    store.close()

    rng = random.Random(429)
    storm = {"until": time.monotonic() + STORM_SECONDS, "hits": 0}

    def storm_policy(method, params):
        if method == "sendMessage" and time.monotonic() < storm["until"] and rng.random() < 0.2:
            storm["hits"] += 1
            return {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1}}
        return None

    tg.fault_policy = storm_policy
    app = await run_bot(tick_seconds=0.2, max_messages_per_second=30)
    learners = []
    while time.monotonic() < storm["until"]:  # traffic through the whole storm
        learners.append(USER + len(learners))
        tg.message(learners[-1], "/help")
        await asyncio.sleep(0.1)  # pacing the load, not waiting for the bot

    def dailies(chat_id):
        return [m for m in tg.messages_to(chat_id) if "Question of the day" in m.text]

    await tg.wait_for(lambda: all(dailies(c) for c in chats) and all(tg.messages_to(u) for u in learners),
                      timeout=120, what="every push and every reply")
    await tg.processed(app)
    print(f"\n429 storm: {storm['hits']} answers were 429 over {STORM_SECONDS} s; {len(chats)} pushes and "
          f"{len(learners)} replies sent")
    assert storm["hits"] >= 5, "the storm did not happen"
    assert app.bot.rate_limiter.rate_limited == storm["hits"]  # every 429 paused the sends
    assert all(len(dailies(c)) == 1 for c in chats)  # delivered once each, none lost
    assert all(len(tg.messages_to(u)) == 1 for u in learners), [[m.text[:60] for m in tg.messages_to(u)] for u in learners if len(tg.messages_to(u)) != 1]
    assert errors(caplog) == []


# ---------------------------------------------------------------- 5xx, timeouts, dropped connections


async def test_failed_send_of_a_graded_reply_is_retried_with_backoff_and_recorded_once(tg, run_bot, tmp_path, caplog):
    """5xx answers prove Telegram did not take the message: the verdict is sent again, after
    0.5, 1, 2 and 4 s (bot/sending.py), and the answer is recorded once."""
    app = await run_bot()
    question = await quiz_question(tg)
    times = record_times(tg, "sendMessage")
    tg.faults += [Fault("sendMessage", kind, chat_id=USER) for kind in ("500", "502", "503", "504")]
    tg.reply(USER, question, right_answer_for(question.text))
    verdict = await tg.next_to(USER, 2, timeout=60)
    assert "Correct" in verdict.text
    await tg.processed(app)
    assert len(tg.messages_to(USER)) == 3  # welcome, question, one verdict
    assert len(attempts_of(tmp_path / "tutor.db", USER)) == 1
    assert len(times) == 5  # four failures, then the send that got through
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert [g >= d * 0.9 for g, d in zip(gaps, sending.BACKOFF)] == [True] * 4, gaps  # 0.5, 1, 2, 4 s
    assert "Answered: <b>1</b>" in await answered_in_stats(tg)
    assert errors(caplog) == []


async def test_send_whose_fate_is_unknown_is_not_repeated(tg, run_bot, tmp_path, caplog):
    """A connection dropped after the request was written, and a request held past PTB's 5 s
    read timeout: Telegram may have shown the message, so the bot does not send it again
    (FateUnknown, one warning); the answer is recorded once and the learner's next message works."""
    app = await run_bot()
    question = await quiz_question(tg)
    times = record_times(tg, "sendMessage")
    tg.faults.append(Fault("sendMessage", "drop", chat_id=USER))
    tg.reply(USER, question, right_answer_for(question.text))
    await tg.processed(app)
    assert len(times) == 1 and len(tg.messages_to(USER)) == 2  # the verdict was tried once
    assert len(attempts_of(tmp_path / "tutor.db", USER)) == 1

    question = await quiz_question(tg)  # welcome again, then a new question
    n = len(tg.messages_to(USER))
    times.clear()
    tg.faults.append(Fault("sendMessage", "hang", chat_id=USER, delay=6.0))
    tg.reply(USER, question, right_answer_for(question.text))
    await tg.processed(app, timeout=60)
    assert len(times) == 1 and len(tg.messages_to(USER)) == n
    assert len(attempts_of(tmp_path / "tutor.db", USER)) == 2
    unknown = [r.getMessage() for r in caplog.records if "fate unknown" in r.getMessage()]
    assert len(unknown) == 2, unknown
    assert "Answered: <b>2</b>" in await answered_in_stats(tg)
    assert errors(caplog) == []


async def test_get_updates_failures_are_retried_with_backoff_and_polling_never_dies(tg, run_bot, caplog):
    await run_bot()
    tg.message(USER, "/help")
    await tg.next_to(USER)
    faults = [Fault("getUpdates", kind) for kind in ("500", "drop", "502")] + [Fault("getUpdates", "hang", delay=3)]
    failed_at: list[float] = []

    def note_failures(method, params):  # runs just before the server picks the fault for this call
        if method == "getUpdates" and any(f.count for f in faults):
            failed_at.append(time.monotonic())

    tg.fault_policy = note_failures
    tg.faults += faults
    await tg.wait_for(lambda: faults[0].count == 0, timeout=30, what="the first failed getUpdates")
    tg.message(USER, "/streak")  # arrives while polling is failing
    reply = await tg.next_to(USER, 1, timeout=90)
    assert "streak" in reply.text.lower()
    assert all(f.count == 0 for f in faults) and len(failed_at) == 4
    gaps = [b - a for a, b in zip(failed_at, failed_at[1:])]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[2] >= 3.9, gaps  # the inbox backs off 1, 2, 4 s
    for k in range(3):  # the loop is alive and well
        tg.message(USER, "/help")
        await tg.next_to(USER, 2 + k, timeout=30)
    failed = [r.getMessage() for r in caplog.records if "fetching updates failed" in r.getMessage()]
    assert len(failed) == 4, failed  # one warning per failed poll, no traceback
    assert errors(caplog) == []


# ---------------------------------------------------------------- the same update twice


async def test_same_update_delivered_twice_is_graded_and_counted_once(tg, run_bot, tmp_path, caplog):
    app = await run_bot()
    question = await quiz_question(tg)
    update_id = tg.reply(USER, question, right_answer_for(question.text))
    payload = copy.deepcopy(tg.updates[-1])
    tg.push_raw({k: v for k, v in payload.items() if k != "update_id"}, update_id=update_id)  # same batch
    await tg.processed(app)
    assert len(tg.messages_to(USER)) == 3  # one verdict
    # Telegram re-sends it after a restart (its confirmation was lost): still nothing new.
    await stop_app(app)
    app = await run_bot()
    tg.push_raw({k: v for k, v in copy.deepcopy(payload).items() if k != "update_id"}, update_id=update_id)
    await tg.processed(app)
    assert len(tg.messages_to(USER)) == 3
    assert len(attempts_of(tmp_path / "tutor.db", USER)) == 1
    assert "Answered: <b>1</b>" in await answered_in_stats(tg)
    assert errors(caplog) == []
