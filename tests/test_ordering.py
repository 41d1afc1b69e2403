"""One learner's updates are handled one at a time, in order; different learners concurrently.

The inbox (bot/inbox.py) takes a learner's turn (`LearnerTurns`) before it hands an update to
PTB's update processor. Unit tests drive `LearnerTurns` with real PTB `Update` objects and
asyncio events, never timing: a "not started" is checked after the event loop has run every
task that could run (`settle`). The end-to-end test is the race the fuzzer found: "Next" pressed
and, while its question is still being sent, "Yes, erase everything" pressed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime

from telegram import CallbackQuery, Chat, Message, Update, User
from telegram.ext import SimpleUpdateProcessor

from bot.inbox import LearnerTurns, learner_key
from tests.fake_telegram import Fault

WHEN = datetime(2026, 3, 2, tzinfo=UTC)


def message_update(update_id: int, user_id: int, chat_id: int | None = None) -> Update:
    chat = Chat(chat_id or user_id, "private" if chat_id is None else "group")
    user = User(user_id, "Ada", False)
    return Update(update_id, message=Message(update_id, WHEN, chat, from_user=user, text="hi"))


def button_update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "Ada", False)
    return Update(update_id, callback_query=CallbackQuery(str(update_id), user, "instance", data="q:next"))


async def settle() -> None:
    """Let every task that can make progress do so (pure yields to the event loop, no timing)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def wait_until(condition, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)


def test_the_learner_is_the_sender_else_the_chat():
    assert learner_key(message_update(1, 7)) == 7
    assert learner_key(message_update(2, 7, chat_id=-100)) == 7  # a group member: the member, not the group
    assert learner_key(button_update(3, 8)) == 8
    assert learner_key(Update(4)) is None
    assert learner_key("not an update") is None


async def test_one_learners_updates_run_in_order_and_others_run_alongside():
    turns = LearnerTurns()
    started: list[int] = []
    release = {n: asyncio.Event() for n in range(1, 5)}

    async def handle(update: Update) -> None:
        async with turns.turn(learner_key(update)):
            started.append(update.update_id)
            await release[update.update_id].wait()

    tasks = [asyncio.create_task(handle(u)) for u in (
        message_update(1, 7), message_update(2, 7), message_update(3, 8), message_update(4, 7, chat_id=-100))]
    await wait_until(lambda: set(started) == {1, 3})  # learner 8 does not wait for learner 7
    await settle()
    assert sorted(started) == [1, 3]  # 7's second update waits for its first
    assert turns.active_learners == 2
    release[1].set()
    await wait_until(lambda: 2 in started)
    await settle()
    assert 4 not in started  # ... and 7's group message for the second
    release[2].set()
    await wait_until(lambda: 4 in started)
    release[3].set()
    release[4].set()
    await asyncio.gather(*tasks)
    assert started == [1, 3, 2, 4]
    assert turns.active_learners == 0  # no lock outlives its learner's last update


async def test_updates_without_a_learner_never_wait():
    turns = LearnerTurns()
    gate = asyncio.Event()
    ran: list[str] = []

    async def hold() -> None:
        async with turns.turn(None):
            ran.append("first")
            await gate.wait()

    first = asyncio.create_task(hold())
    await wait_until(lambda: ran == ["first"])
    async with turns.turn(None):  # a second keyless update is not queued behind the first
        ran.append("second")
    assert turns.active_learners == 0
    gate.set()
    await first


async def test_a_learners_waiting_updates_do_not_use_up_the_concurrency_slots():
    """As the inbox composes them: the turn first, then PTB's processor (here 2 slots). One
    learner's 50 queued updates hold no slot, so another learner is served at once."""
    turns, processor = LearnerTurns(), SimpleUpdateProcessor(2)
    await processor.initialize()
    gate = asyncio.Event()
    done: list[int] = []

    async def handle(n: int) -> None:
        if n < 100:
            await gate.wait()
        done.append(n)

    async def dispatch(update: Update) -> None:
        async with turns.turn(learner_key(update)):
            await processor.process_update(update, handle(update.update_id))

    flood = [asyncio.create_task(dispatch(message_update(n, 7))) for n in range(1, 51)]
    other = asyncio.create_task(dispatch(message_update(100, 8)))
    await asyncio.wait_for(other, 30)  # learner 8 is served while 7 has 50 updates queued
    assert done == [100] and processor.current_concurrent_updates == 1
    gate.set()
    await asyncio.gather(*flood)
    assert done[1:] == list(range(1, 51))
    assert turns.active_learners == 0
    await processor.shutdown()


async def test_an_update_cancelled_while_waiting_its_turn_is_never_started():
    turns = LearnerTurns()
    gate = asyncio.Event()
    ran: list[int] = []

    async def handle(n: int) -> None:
        async with turns.turn(7):
            ran.append(n)
            await gate.wait()

    first = asyncio.create_task(handle(1))
    second = asyncio.create_task(handle(2))
    await wait_until(lambda: ran == [1])
    await settle()
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    gate.set()
    await first
    assert ran == [1] and turns.active_learners == 0


async def test_a_handler_that_raises_frees_its_learners_turn():
    turns = LearnerTurns()
    try:
        async with turns.turn(7):
            raise RuntimeError("handler failed")
    except RuntimeError:
        pass
    assert turns.active_learners == 0
    async with turns.turn(7):  # the next update of that learner is not stuck
        pass
    assert turns.active_learners == 0


async def test_next_pressed_then_erase_while_the_next_question_is_still_sending(tg, run_bot, tmp_path, caplog):
    """The race the fuzzer found. The new question's send is held for 0.3 s; the erase is
    pressed meanwhile. It used to run at once, delete the learner, and make the Next's
    `record_question_message` fail on the foreign key (an ERROR and an apology). Now the erase
    waits for the Next: the learner gets the question, then everything is erased."""
    user = 31_337
    app = await run_bot()
    tg.message(user, "/start")
    await tg.next_to(user)
    tg.message(user, "/quiz")
    question = await tg.next_to(user, 1)
    tg.message(user, "/forget")
    confirm = await tg.next_to(user, 2)
    assert confirm.buttons == ["f:yes", "f:no"]
    await tg.processed(app)

    tg.faults.append(Fault("sendMessage", "slow", chat_id=user, delay=0.3))
    tg.press(user, question, "q:next")
    tg.press(user, confirm, "f:yes")
    await tg.wait_for(lambda: tg.messages_to(user, "editMessageText"), what="the erasure")
    await tg.processed(app)

    assert len(tg.messages_to(user)) == 4  # the next question went out (before the erasure)
    assert "erased" in tg.messages_to(user, "editMessageText")[-1].text
    assert not any("sorry" in m.text.lower() for m in tg.messages_to(user))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    with sqlite3.connect(tmp_path / "tutor.db") as conn:
        for table in ("users", "chats", "question_messages", "attempts", "hints_used"):
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
            key = "user_id" if "user_id" in columns else "chat_id"
            assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {key} = ?", (user,)).fetchone() == (0,), table

