"""Stopping the real bot process under load: SIGTERM half-writes nothing; kill -9 does not hurt
the next start.

Load = learners answering questions (each answer: dedupe, grade, one transaction for the attempt
and streak, one reply) while a daily push fans out to 300 chats. SIGTERM gives running handlers
a few seconds (bot/inbox.py GRACE); what did not finish stays in the inbox (or, not yet
confirmed, at Telegram), so after the next start every answer is stored once and answered once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime

from content import load_bank
from storage.store import Store
from tests.bot_process import bot_processes, create_due_chats, daily_counts, deliveries  # noqa: F401 — fixture
from tests.fake_telegram import BOT_ID, BOT_USERNAME, Fault

LEARNERS = 40
QUESTIONS_EACH = 12  # enough for ~14 s of answers; the stream stops a second after SIGTERM
FIRST_LEARNER = 810_000
FIRST_QUESTION_MESSAGE = 900_000


def create_learners(db_path) -> dict[int, list[tuple[int, str]]]:
    """Registered learners (not subscribed to the push), each with open quiz questions."""
    bank = load_bank()
    questions = [q.id for q in bank.questions]
    now = datetime.now(UTC)
    store = Store.open(db_path)
    open_questions: dict[int, list[tuple[int, str]]] = {}
    try:
        for i in range(LEARNERS):
            user = FIRST_LEARNER + i
            store.touch_user(user, f"learner {i}", None, "en", now)
            store.ensure_chat(user, "private", "", now, "UTC", "09:00")
            store.update_chat_settings(user, now, subscribed=False)
            open_questions[user] = []
            for k in range(QUESTIONS_EACH):
                message_id = FIRST_QUESTION_MESSAGE + i * QUESTIONS_EACH + k
                qid = questions[(i + k) % len(questions)]
                store.record_question_message(user, message_id, qid, "quiz", user, now)
                open_questions[user].append((message_id, qid))
    finally:
        store.close()
    return open_questions


def answer(tg, user: int, question_message_id: int) -> tuple[int, int]:
    """The learner replies to one of their question messages; returns (update id, message id)."""
    question = {
        "message_id": question_message_id,
        "date": int(time.time()),
        "chat": tg.chat_of(user),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME},
        "text": "❓ Question",
    }
    update_id = tg.message(user, "it regularises the network and reduces overfitting by averaging", reply_to=question)
    return update_id, tg.updates[-1]["message"]["message_id"]


def attempts(db_path) -> Counter:
    with sqlite3.connect(db_path) as conn:
        return Counter(conn.execute("SELECT user_id, question_message_id FROM attempts").fetchall())


def verdicts(tg) -> Counter:
    """Replies the bot sent, by the message they reply to."""
    return Counter(s.reply_to for s in tg.sent if s.method == "sendMessage" and s.reply_to is not None)


def integrity(db_path) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


async def test_sigterm_under_load_finishes_in_flight_work_and_half_writes_nothing(tg, tmp_path, bot_processes):  # noqa: F811
    db = tmp_path / "tutor.db"
    chats = create_due_chats(db, 300)
    learners = create_learners(db)
    tg.faults.append(Fault("sendMessage", "slow", count=10**9, delay=0.02))
    env = {"TUTOR_MAX_MESSAGES_PER_SECOND": "60"}
    bot = bot_processes.start(tg, db_path=db, **env)
    await bot.started()

    sent_answers: dict[int, tuple[int, int, int]] = {}  # update id -> (user, message id, question message id)

    terminated_at: list[float] = []

    async def learners_keep_answering():
        # A steady stream, so that SIGTERM lands with answers queued in the bot *and* still arriving:
        # it goes on until a second after SIGTERM, however long a loaded machine takes to get there.
        for k in range(QUESTIONS_EACH):
            for user, questions in learners.items():
                if terminated_at and time.monotonic() > terminated_at[0] + 1:
                    return
                update_id, message_id = answer(tg, user, questions[k][0])
                sent_answers[update_id] = (user, message_id, questions[k][0])
                await asyncio.sleep(0.03)  # pacing the load (~33 answers a second), not synchronisation

    stream = asyncio.create_task(learners_keep_answering())
    try:
        await tg.wait_for(lambda: len(verdicts(tg)) >= 20 and sum(daily_counts(tg, chats).values()) >= 30, timeout=90,
                          what="load under way")
        bot.terminate()
        terminated_at.append(time.monotonic())
        handled_at_sigterm = len(verdicts(tg))
        assert await bot.exited(90) == 0, bot.log()[-3000:]
        await stream
    finally:
        stream.cancel()
    assert "Traceback" not in bot.log()

    confirmed = {u for u in sent_answers if u < tg.confirmed_offset}
    assert len(confirmed) < len(sent_answers), "SIGTERM must land while answers are still arriving"
    assert handled_at_sigterm > 0
    done_attempts, done_verdicts = attempts(db), verdicts(tg)
    for update_id, (user, message_id, qmsg) in sent_answers.items():
        handled = (done_attempts[(user, qmsg)], done_verdicts[message_id])
        # Each answer: handled completely, or stored with its verdict still to come (held back),
        # or untouched (pending in the inbox, or not yet confirmed: Telegram sends it again).
        assert handled in ((1, 1), (1, 0), (0, 0)), (update_id, handled)
        assert update_id in confirmed or handled == (0, 0), (update_id, handled)
    rows = deliveries(db)
    assert all(state == "sent" for state, _ in rows.values()), "a daily push left half-done"
    pushed = daily_counts(tg, chats)
    assert set(pushed) == set(rows) and max(pushed.values()) == 1
    assert integrity(db) == "ok"

    again = bot_processes.start(tg, db_path=db, **env)
    await tg.wait_for(lambda: len(daily_counts(tg, chats)) == len(chats), timeout=90, what="every chat's question")
    await tg.wait_for(lambda: sum(attempts(db).values()) == len(sent_answers), timeout=90, what="every answer graded")
    await tg.wait_for(lambda: not tg.updates, timeout=60, what="every update fetched")
    # A verdict held back by the stop (its answer stored, its send cut short) comes with the
    # learner's next message (bot/jobs/late_verdicts.py).
    held = {user for user, m, _ in sent_answers.values() if not verdicts(tg)[m]}
    for user in held:
        tg.message(user, "thanks")

    def late(user):
        return sum("was graded" in s.text for s in tg.messages_to(user))

    await tg.wait_for(lambda: all(late(u) for u in held), timeout=60, what="every held-back verdict")
    again.terminate()
    assert await again.exited(90) == 0
    assert set(attempts(db).values()) == {1}
    # each answer graded once and answered once: by a reply, or (held back) with the next message
    assert all(verdicts(tg)[m] == 1 or (verdicts(tg)[m] == 0 and u in held) for u, m, _ in sent_answers.values())
    assert set(daily_counts(tg, chats).values()) == {1}


async def test_start_after_kill_9_under_load_works(tg, tmp_path, bot_processes):  # noqa: F811
    db = tmp_path / "tutor.db"
    learners = create_learners(db)
    bot = bot_processes.start(tg, db_path=db)
    await bot.started()
    for k in range(5):  # a backlog of 200 answers; the learner's last question is kept for after
        for user, questions in learners.items():
            answer(tg, user, questions[k][0])
    await tg.wait_for(lambda: len(verdicts(tg)) >= 20, timeout=90, what="load under way")
    bot.kill()
    assert await bot.exited(30) == -9
    before = attempts(db)
    assert max(before.values()) == 1

    again = bot_processes.start(tg, db_path=db)
    await again.started()
    assert integrity(db) == "ok"
    # The restarted bot works: a learner's next answer is graded and answered.
    user, questions = next(iter(learners.items()))
    _, message_id = answer(tg, user, questions[-1][0])
    await tg.wait_for(lambda: verdicts(tg)[message_id] == 1, timeout=60, what="an answer after the restart")
    await tg.wait_for(lambda: not tg.updates, timeout=60, what="the backlog drained")
    again.terminate()
    assert await again.exited(90) == 0
    after = attempts(db)
    assert max(after.values()) == 1  # nothing graded twice across the crash
    assert (user, questions[-1][0]) in after
    assert "Traceback" not in again.log()
