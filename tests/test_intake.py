"""The bot takes at most MAX_IN_HAND updates from Telegram ahead of its handlers (bot/intake.py).

Unit tests drive `BoundedUpdateQueue` with plain asyncio (no timing); the end-to-end test holds
every reply of the running bot at the fake server while 450 learners write, and checks that the
backlog stays with Telegram, unconfirmed, until there is room, then is answered in full.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.intake import MAX_IN_HAND, BoundedUpdateQueue


async def wait_until(condition, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


async def test_put_waits_while_the_limit_is_in_hand_until_an_item_is_finished():
    queue = BoundedUpdateQueue(limit=2, resume_at=1)
    await queue.put("a")
    await queue.put("b")
    third = asyncio.create_task(queue.put("c"))
    await wait_until(lambda: queue.waiting_puts == 1)
    assert queue.qsize() == 2

    assert await queue.get() == "a"  # taken out, but in hand until its handlers finished
    await asyncio.sleep(0)
    assert not third.done() and queue.in_hand == 2

    queue.task_done()
    await asyncio.wait_for(third, 10)
    assert (queue.in_hand, queue.waiting_puts) == (2, 0)
    assert [await queue.get(), await queue.get()] == ["b", "c"]  # order kept
    queue.task_done()
    queue.task_done()
    await asyncio.wait_for(queue.join(), 10)  # join still means "everything finished"
    assert queue.in_hand == 0


async def test_put_nowait_never_waits_and_counts_like_put():
    queue = BoundedUpdateQueue(limit=1, resume_at=0)
    queue.put_nowait(1)
    queue.put_nowait(2)  # over the limit: for callers that must not block
    assert queue.in_hand == 2
    waiting = asyncio.create_task(queue.put(3))
    await wait_until(lambda: queue.waiting_puts == 1)
    await queue.get()
    queue.task_done()
    await asyncio.sleep(0)
    assert not waiting.done()  # still one in hand: the limit
    await queue.get()
    queue.task_done()
    await asyncio.wait_for(waiting, 10)


async def test_a_waiting_put_resumes_only_at_the_low_mark_then_fills_up_without_waiting():
    """The Updater wakes once per getUpdates batch, not once per finished update."""
    queue = BoundedUpdateQueue(limit=4, resume_at=2)
    for n in range(4):
        await queue.put(n)
    fifth = asyncio.create_task(queue.put(4))
    await wait_until(lambda: queue.waiting_puts == 1)
    await queue.get()
    queue.task_done()  # 3 in hand: below the limit, above the low mark
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not fifth.done()
    await queue.get()
    queue.task_done()  # 2 in hand: the low mark
    await asyncio.wait_for(fifth, 10)
    await queue.put(5)  # up to the limit again without waiting
    assert (queue.in_hand, queue.waiting_puts) == (4, 0)


def test_a_limit_below_one_a_bad_low_mark_and_an_extra_task_done_are_errors():
    with pytest.raises(ValueError, match="at least 1"):
        BoundedUpdateQueue(limit=0)
    with pytest.raises(ValueError, match="resume_at"):
        BoundedUpdateQueue(limit=2, resume_at=2)
    with pytest.raises(ValueError):
        BoundedUpdateQueue().task_done()


async def test_a_backlog_stays_with_telegram_until_there_is_room_then_is_answered_in_full(tg, run_bot):
    """While every reply is held at the server, the bot fetches MAX_IN_HAND updates (and the rest
    of the batch it was putting) and stops polling; the rest stays queued at Telegram,
    unconfirmed, so a crash now could lose at most what is in hand. Released, every learner
    gets exactly one answer."""
    app = await run_bot()
    assert isinstance(app.update_queue, BoundedUpdateQueue) and app.update_queue.limit == MAX_IN_HAND
    release = asyncio.Event()
    send = tg.api_sendMessage

    async def held_send(params):
        await release.wait()
        return await send(params)

    tg.api_sendMessage = held_send
    learners = range(70_001, 70_451)
    for user in learners:
        tg.message(user, "/help")

    queue = app.update_queue
    try:
        await wait_until(lambda: queue.waiting_puts == 1, 60)  # the Updater waits for room
        assert queue.in_hand == MAX_IN_HAND
        batch = 100  # PTB's getUpdates limit
        assert MAX_IN_HAND <= len(tg.handed_out) <= MAX_IN_HAND + batch
        assert len(tg.updates) >= len(learners) - len(tg.handed_out)  # not confirmed: still Telegram's
        assert tg.confirmed_offset <= MAX_IN_HAND + 1  # confirmed: only what was put in hand
    finally:
        release.set()  # else the bot cannot stop: its replies would hang
    await tg.processed(app, timeout=120)
    assert sorted(m.chat_id for m in tg.sent) == list(learners)
    assert queue.in_hand == 0
