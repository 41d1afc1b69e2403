"""Security: the token stays secret, group settings are for admins, people reach only their own
data, /forget forgets, floods are contained, forged buttons do nothing, and webhook mode refuses
requests without Telegram's secret token.

End to end against the fake Bot API server: the real bot process for the token and the webhook,
the real application in-process for the rest.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import logging
import socket
import sqlite3
import statistics
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from bot import texts
from bot.context import services_of
from storage import Store
from tests.bot_process import bot_processes  # noqa: F401 — fixture
from tests.fake_telegram import Fault

GROUP = -5001
ADMIN, ALICE, BOB = 21, 22, 23
RIGHT = {
    "dropout": "Dropout is regularisation: during training it randomly drops neurons so they cannot co-adapt, "
    "it reduces overfitting, the kept activations are rescaled and it is switched off at inference.",
    "rnn": "RNNs read sequences step by step with a hidden state, the same weights at every step; vanishing gradients led to LSTM.",
}


def right_answer_for(text: str) -> str:
    return RIGHT["dropout"] if "dropout" in text.lower() else RIGHT["rnn"]


ADMINS_ONLY = "Only group admins can"  # ... and then what was refused


def db_file(tmp_path):
    return tmp_path / "tutor.db"


def rows(tmp_path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db_file(tmp_path)) as conn:
        return conn.execute(sql, params).fetchall()


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def registered(tg, user: int, *, first_name: str = "Ada") -> None:
    n = len(tg.messages_to(user))
    tg.message(user, "/start", first_name=first_name)
    await tg.next_to(user, n)


async def quiz(tg, user: int):
    n = len(tg.messages_to(user))
    tg.message(user, "/quiz")
    return await tg.next_to(user, n)


async def join_group(tg, admin: int = ADMIN):
    tg.admins[GROUP] = {admin}
    tg.bot_added(GROUP, admin)
    return await tg.next_to(GROUP)


# ---------------------------------------------------------------- the token


def token_forms(token: str) -> list[str]:
    secret = token.split(":", 1)[1]
    return [token, quote(token, safe=""), secret]


async def test_token_never_appears_in_logs_or_messages(tg, tmp_path, bot_processes):  # noqa: F811
    """DEBUG logging and faults that make the bot log errors with tracebacks, then a token
    Telegram rejects: every line the process writes, and every message it sends, is clean."""
    user = 3131
    bot = bot_processes.start(tg, LOG_LEVEL="DEBUG")
    await bot.started()
    tg.message(user, "/start")
    await tg.next_to(user, timeout=60)
    # The process's push time is 00:00: its daily question goes out at once. Wait for it, so the
    # faults below meet the replies to the commands, not the push.
    await tg.wait_for(lambda: any("Question of the day" in m.text for m in tg.messages_to(user)), timeout=60,
                      what="the daily question")
    tg.faults += [
        Fault("getUpdates", "500"),
        Fault("getUpdates", "drop"),
        Fault("sendMessage", "400-notfound", chat_id=user),  # the handler fails: on_error logs a traceback
        Fault("sendMessage", "500", count=2, chat_id=user),
        Fault("sendMessage", "403", chat_id=user),
    ]
    tg.message(user, "/help")
    tg.message(user, "/streak")
    tg.message(user, "/stats")
    await bot.wait_log("fetching updates failed (NetworkError", timeout=60)
    await bot.wait_log("failed: BadRequest", timeout=15)  # logged within a second once it fails
    await tg.wait_for(lambda: all(f.count == 0 for f in tg.faults), timeout=60, what="every fault used")
    tg.message(user, "/help")
    await tg.wait_for(lambda: sum("/quiz" in m.text for m in tg.messages_to(user)) >= 2, timeout=60, what="the bot working again")
    bot.terminate()
    assert await bot.exited(60) == 0

    rejected = bot_processes.start(tg, TELEGRAM_BOT_TOKEN="654321:REVOKED-token-the-server-rejects_xyz", LOG_LEVEL="DEBUG")
    assert await rejected.exited(60) == 2
    assert "rejected TELEGRAM_BOT_TOKEN" in rejected.log()
    assert "Traceback" not in rejected.log().split("error: Telegram rejected")[-1]

    log = bot.log()
    assert "Traceback" in log and "DEBUG" in log  # tracebacks and debug lines were written, and checked
    for form in token_forms(tg.token):
        assert form not in log
        assert not [m for m in tg.sent if form in m.text]
    for form in token_forms("654321:REVOKED-token-the-server-rejects_xyz"):
        assert form not in rejected.log()


# ---------------------------------------------------------------- group admins


async def test_group_settings_only_by_admins_checked_with_get_chat_member_cached_briefly(tg, run_bot, clock, tmp_path, caplog):
    await run_bot()
    await join_group(tg)
    settings_before = rows(tmp_path, "SELECT push_time, tz, level, subscribed FROM chats WHERE chat_id = ?", GROUP)
    refused = {"/settime 18:00": "change the question time", "/timezone Europe/Paris": "change the time zone",
               "/level advanced": "change the level", "/stop": "pause the daily question",
               "/start": "subscribe the group", "/quiz": "post a question now"}
    for command, what in refused.items():
        n = len(tg.messages_to(GROUP))
        tg.message(ALICE, command, GROUP)
        assert (await tg.next_to(GROUP, n)).text == texts.admins_only(what), command
    assert rows(tmp_path, "SELECT push_time, tz, level, subscribed FROM chats WHERE chat_id = ?", GROUP) == settings_before
    member_checks = [p for m, p in tg.calls if m == "getChatMember"]
    assert len(member_checks) == 1  # six commands, one getChatMember: cached

    tg.message(ADMIN, "/settime 18:00", GROUP)
    assert "18:00" in (await tg.next_to(GROUP, len(tg.messages_to(GROUP)))).text

    tg.admins[GROUP].add(ALICE)  # promoted: takes effect once the cache entry expires (60 s)
    tg.message(ALICE, "/level advanced", GROUP)
    assert ADMINS_ONLY in (await tg.next_to(GROUP, len(tg.messages_to(GROUP)))).text
    clock.advance(seconds=61)
    tg.message(ALICE, "/level advanced", GROUP)
    assert "advanced" in (await tg.next_to(GROUP, len(tg.messages_to(GROUP)))).text

    tg.admins[GROUP].discard(ADMIN)  # demoted
    clock.advance(seconds=61)
    tg.message(ADMIN, "/settime 07:00", GROUP)
    assert ADMINS_ONLY in (await tg.next_to(GROUP, len(tg.messages_to(GROUP)))).text

    tg.faults.append(Fault("getChatMember", "500"))  # cannot check: refused, not crashed
    tg.message(BOB, "/settime 06:00", GROUP)
    assert ADMINS_ONLY in (await tg.next_to(GROUP, len(tg.messages_to(GROUP)))).text
    assert rows(tmp_path, "SELECT push_time, level FROM chats WHERE chat_id = ?", GROUP) == [("18:00", "advanced")]
    assert errors(caplog) == []


# ---------------------------------------------------------------- own data only


async def test_users_change_and_erase_only_their_own_data(tg, run_bot, tmp_path):
    app = await run_bot()
    svc = services_of(app)
    for user in (ALICE, BOB):
        await registered(tg, user)
        question = await quiz(tg, user)
        tg.reply(user, question, right_answer_for(question.text))
        await tg.next_to(user, 2)
    tg.message(ALICE, "/settime 07:00")
    await tg.next_to(ALICE, 3)
    assert rows(tmp_path, "SELECT chat_id, push_time FROM chats ORDER BY chat_id") == [(ALICE, "07:00"), (BOB, "09:00")]
    await tg.processed(app)  # records written after Telegram answers a send are in
    bob_before = await svc.store.read(Store.export_user, BOB)

    tg.message(BOB, "/forget")
    confirm = await tg.next_to(BOB, 3)
    tg.press(ALICE, confirm, "f:yes")  # a forged press on Bob's confirmation
    await tg.processed(app)
    assert await svc.store.read(Store.export_user, BOB) == bob_before
    assert (await svc.store.read(Store.export_user, ALICE))["attempts"]
    assert tg.messages_to(BOB, "editMessageText") == []

    tg.message(ALICE, "/forget", GROUP)  # not in a group
    assert texts.NOT_IN_GROUP in (await tg.next_to(GROUP)).text
    tg.message(ALICE, "/forget")
    tg.press(ALICE, await tg.next_to(ALICE, 4), "f:yes")
    await tg.wait_for(lambda: tg.messages_to(ALICE, "editMessageText"), what="Alice's erasure")
    await tg.processed(app)
    assert (await svc.store.read(Store.export_user, ALICE))["attempts"] == []
    assert await svc.store.read(Store.export_user, BOB) == bob_before


async def test_forget_erases_every_row_about_the_user_end_to_end(tg, run_bot, clock, tmp_path):
    """A learner answers in private and in a group, uses a hint, changes settings; then /forget.
    Every column of every table of the SQLite file is searched for their id afterwards."""
    victim = 987_654_321  # distinctive: no message id, update id or timestamp contains it
    app = await run_bot(tick_seconds=0.1)
    await registered(tg, victim, first_name="Vic")
    await registered(tg, BOB, first_name="Bob")
    for command in ("/settime 07:15", "/timezone Europe/Berlin", "/level intermediate"):
        n = len(tg.messages_to(victim))
        tg.message(victim, command)
        await tg.next_to(victim, n)
    question = await quiz(tg, victim)
    tg.press(victim, question, "q:hint")
    await tg.wait_for(lambda: tg.callback_answers, what="the hint")
    tg.reply(victim, question, right_answer_for(question.text))
    await tg.next_to(victim, len(tg.messages_to(victim)))
    await quiz(tg, victim)  # an open question too

    await join_group(tg)
    clock.advance(hours=1, seconds=1)  # the group's daily question
    daily = await tg.next_to(GROUP, 1)
    tg.reply(victim, daily, right_answer_for(daily.text), first_name="Vic")
    tg.reply(BOB, daily, "no idea", first_name="Bob")
    await tg.wait_for(lambda: len(tg.messages_to(GROUP)) >= 4, what="both group verdicts")
    n = len(tg.messages_to(GROUP))
    tg.message(ADMIN, "/quiz", GROUP)  # a second group question, answered with /answer
    second = await tg.next_to(GROUP, n)
    tg.message(victim, "/answer " + right_answer_for(second.text), GROUP, first_name="Vic")
    await tg.next_to(GROUP, n + 1)
    await tg.processed(app)
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts WHERE user_id = ?", victim) == [(3,)]

    n = len(tg.messages_to(victim))
    tg.message(victim, "/forget")
    tg.press(victim, await tg.next_to(victim, n), "f:yes")
    await tg.wait_for(lambda: tg.messages_to(victim, "editMessageText"), what="the erasure")
    await tg.processed(app)

    found = []
    with sqlite3.connect(db_file(tmp_path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')  # names from sqlite_master, not input
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row):
                    if value == victim or (value is not None and str(victim) in str(value)):
                        found.append((table, column, value))
    assert tables and found == []
    # Bob is untouched, and so is his answer to the group question the victim also answered.
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts WHERE user_id = ?", BOB)[0][0] >= 1
    assert rows(tmp_path, "SELECT COUNT(*) FROM users WHERE user_id = ?", BOB) == [(1,)]


# ---------------------------------------------------------------- flood control


async def test_flood_gets_one_notice_is_ignored_for_a_minute_and_others_are_unaffected(tg, run_bot, clock, caplog):
    app = await run_bot()
    flooders = [4444, 4445, 4446]
    for flooder in flooders:
        await registered(tg, flooder)
    clock.advance(seconds=11)  # /start is out of the 10 s window
    others = itertools.count(50_000)

    async def latency() -> float:
        """A learner who has not written before (well under the flood limit) sends /help."""
        user = next(others)
        start = time.time()
        tg.message(user, "/help")
        return (await tg.next_to(user, timeout=60)).at - start

    async def flood(flooder: int):
        for k in range(300):
            tg.message(flooder, f"spam {k}")
            if k % 10 == 9:
                await asyncio.sleep(0.01)  # ~1,000 messages/s, pacing the load only

    # Latency on a shared 2-core VM is noisy: the claim fails only if every one of three rounds
    # (others alone, then others during a flood) shows more than 2x. Below a 100 ms floor nobody
    # feels the difference (quiet machine: 7 ms alone, 21 ms during; with four test workers and
    # other jobs on 2 cores: 25 ms vs 57-84 ms). Without the flood gate every spam message is
    # graded and answered: 300 replies at Telegram's 30/s put others' /help seconds behind.
    FLOOR = 0.100
    rounds = []
    for flooder in flooders:
        baseline = [await latency() for _ in range(20)]
        flooding = asyncio.create_task(flood(flooder))
        during: list[float] = []
        while not flooding.done() or len(during) < 20:  # sample for as long as the flood lasts
            during.append(await latency())
        await flooding
        await tg.processed(app)
        rounds.append((statistics.median(baseline), statistics.median(during)))
        if rounds[-1][1] <= 2 * max(rounds[-1][0], FLOOR):
            break
    print("\nflood: median latency of others alone vs during 300 messages from one user: "
          + ", ".join(f"{b * 1000:.1f} ms vs {d * 1000:.1f} ms" for b, d in rounds))
    assert rounds[-1][1] <= 2 * max(rounds[-1][0], FLOOR), rounds

    flooder = flooders[0]
    to_flooder = tg.messages_to(flooder)[1:]  # after the welcome
    notices = [m for m in to_flooder if m.text == texts.FLOODED]
    assert len(notices) == 1
    assert len(to_flooder) == 21  # the first 20 messages were handled, then one notice, then silence
    clock.advance(seconds=30)  # still muted
    tg.message(flooder, "/help")
    await tg.processed(app)
    assert len(tg.messages_to(flooder)) == 22
    clock.advance(seconds=31)  # a minute has passed
    tg.message(flooder, "/help")
    assert "/quiz" in (await tg.next_to(flooder, 22)).text
    assert errors(caplog) == []


def test_flood_guard_memory_follows_the_active_users():
    """The guard keeps one entry per user who wrote within the last 10 s (and per running mute),
    not one per user ever seen."""
    from datetime import UTC, datetime, timedelta

    from bot.handlers.common import FloodGuard

    guard, t0 = FloodGuard(), datetime(2026, 3, 2, tzinfo=UTC)
    for user in range(5000):  # a crowd writes once
        guard.hit(user, t0)
    for _ in range(25):  # one user floods and is muted
        guard.hit(99_999, t0)
    for k in range(1000):  # then ten regulars, each once every 10 s, for ~17 minutes
        guard.hit(1_000_000 + k % 10, t0 + timedelta(seconds=61 + k))
    assert len(guard.recent) <= 10 and guard.muted_until == {}


async def test_a_flood_of_button_presses_is_told_by_an_alert_not_a_message_in_the_chat(tg, run_bot, clock):
    app = await run_bot()
    await join_group(tg)
    tg.message(ADMIN, "/quiz", GROUP)
    question = await tg.next_to(GROUP, 1)
    clock.advance(seconds=11)
    for _ in range(25):
        tg.press(ALICE, question, "q:hint")
    await tg.processed(app)
    assert len(tg.messages_to(GROUP)) == 2  # the welcome and the question, nothing about Alice
    assert [a for a in tg.callback_answers if a.get("text") == texts.clip(texts.FLOODED, 190)]


def test_junk_words_do_not_grow_the_graders_memory():
    """A user (or a few) sending long, unique junk words within the flood limit must not make the
    process grow without bound: 2 messages/s of 4,000-letter words would be ~90 MB an hour each."""
    import random
    import tracemalloc

    from content import grade_reply
    from tests.learners import shipped_bank

    questions = shipped_bank().questions
    for q in questions[:20]:  # warm the caches with ordinary words first
        grade_reply(q, "dropout reduces overfitting by randomly dropping units during training")
    rng = random.Random(7)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(600):
            grade_reply(questions[k % len(questions)], "".join(rng.choice("abcdefghij") for _ in range(4000)))
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 2 * 2**20, f"{retained / 2**20:.1f} MiB kept after 600 junk replies"


# ---------------------------------------------------------------- forged callbacks


async def test_forged_button_presses_cannot_answer_for_others_or_touch_other_chats(tg, run_bot, clock, tmp_path, caplog):
    """Telegram attaches the message a button is under; the bot resolves every press from that
    message and the presser, never from the data alone. A modified client can send any data for
    a message it can see, and a forged update can claim anything — neither may do harm."""
    app = await run_bot(tick_seconds=0.1)
    svc = services_of(app)
    await registered(tg, ALICE)
    await registered(tg, BOB)
    bobs_question = await quiz(tg, BOB)
    await tg.processed(app)  # the question's record is written after Telegram answers the send
    bob_before = await svc.store.read(Store.export_user, BOB)
    sent_to_bob = len(tg.messages_to(BOB))

    def to_bob() -> int:  # what the bot sent Bob, apart from his own daily question at 09:00
        return len([m for m in tg.messages_to(BOB) if "Question of the day" not in m.text])

    # Alice's presses on Bob's private question: no hint, no reveal, no next question, no attempt.
    for data in ("q:hint", "q:show", "q:next"):
        tg.press(ALICE, bobs_question, data)
    await tg.processed(app)
    assert to_bob() == sent_to_bob
    assert tg.messages_to(BOB, "editMessageReplyMarkup") == []
    assert await svc.store.read(Store.export_user, BOB) == bob_before
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts WHERE user_id = ?", ALICE) == [(0,)]
    assert rows(tmp_path, "SELECT COUNT(*) FROM question_messages WHERE chat_id = ? AND user_id = ?", BOB, ALICE) == [(0,)]

    # In a group, private buttons forged by a member post nothing (a new question is for admins).
    await join_group(tg)
    clock.advance(hours=1, seconds=1)
    daily = await tg.next_to(GROUP, 1)
    tg.reply(BOB, daily, right_answer_for(daily.text), first_name="Bob")
    verdict = await tg.next_to(GROUP, 2)
    for data in ("q:next", "q:show", "q:hint"):
        tg.press(ALICE, daily, data)
    # The model-answer button exists under Bob's verdict; forged onto other messages, or naming
    # another question, it must not edit anything.
    other_question = next(q.id for q in svc.bank.questions if f"r:{q.id}" not in verdict.buttons)
    tg.press(ALICE, daily, f"r:{other_question}")
    tg.press(ALICE, verdict, f"r:{other_question}")
    # Disputing Bob's grade from Alice's account: refused.
    tg.press(ALICE, verdict, f"d:{daily.message_id}")
    await tg.processed(app)
    assert len(tg.messages_to(GROUP)) == 3
    assert tg.messages_to(GROUP, "editMessageText") == []
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts WHERE user_id = ?", ALICE) == [(0,)]

    # Junk data of every shape: an alert at most, nothing sent, nothing stored, nothing logged.
    junk = ["", "q:", "q:hint ", "f:maybe", "r:", "r:../../etc/passwd", "ask:", "ask:nope", "d:", "d:-1",
            "d:99999999999999999999999", "x" * 64, "\x00\x01", "🙂" * 16, "q:next\nq:show", "f:yes"]
    answered = len(tg.callback_answers)
    for k, data in enumerate(junk):
        if k % 8 == 0:
            await tg.processed(app)
            clock.advance(seconds=11)  # keep Alice under the flood limit: this test is about forgery
        tg.press(ALICE, daily, data)
        tg.press(ALICE, bobs_question, data)
    await tg.processed(app)
    assert len(tg.callback_answers) - answered <= 2 * len(junk)
    assert len(tg.messages_to(GROUP)) == 3 and to_bob() == sent_to_bob
    assert tg.messages_to(GROUP, "editMessageText") == [] and tg.messages_to(BOB, "editMessageText") == []
    assert await svc.store.read(Store.export_user, BOB) != {} and rows(tmp_path, "SELECT COUNT(*) FROM users WHERE user_id = ?", BOB) == [(1,)]
    assert errors(caplog) == []

    # The genuine presses still work.
    tg.press(BOB, verdict, verdict.buttons[0])
    edited = await tg.next_to(GROUP, 0, method="editMessageText")
    assert "Model answer" in edited.text
    tg.press(BOB, bobs_question, "q:hint")
    await tg.wait_for(lambda: len(tg.callback_answers) > answered + 2 * len(junk), what="Bob's hint")


# ---------------------------------------------------------------- webhook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, update: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.skipif(
    importlib.util.find_spec("tornado") is None,
    reason="webhook mode needs python-telegram-bot[webhooks] (tornado), which is not installed",
)
async def test_webhook_rejects_requests_without_the_secret_token(tg, tmp_path, bot_processes):  # noqa: F811
    port, secret, user = free_port(), "s3cret-Webhook_token", 7777
    url = f"http://127.0.0.1:{port}/tutor"
    bot = bot_processes.start(
        tg, args=("--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port)), TUTOR_WEBHOOK_SECRET=secret
    )
    await tg.wait_for(lambda: [p for m, p in tg.calls if m == "setWebhook"], timeout=60, what="setWebhook")
    registered_hook = [p for m, p in tg.calls if m == "setWebhook"][-1]
    assert registered_hook.get("secret_token") == secret
    await bot.started()

    def update(update_id: int, text: str) -> dict:
        return {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(time.time()), "chat": tg.chat_of(user), "from": tg.user(user),
            "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}

    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, post, url, update(1, "/help"), None) == 403
    assert await loop.run_in_executor(None, post, url, update(2, "/help"), "wrong") == 403
    assert await loop.run_in_executor(None, post, url, update(3, "/help"), secret) == 200
    reply = await tg.next_to(user, timeout=60)
    assert reply.reply_to == 3  # only the authentic request was handled
    bot.terminate()
    await bot.exited(60)
    assert len(tg.messages_to(user)) == 1
