"""The limiter's rules, one at a time (bot/limits.py). The end-to-end figures (0 x 429 against a
server that counts 30 in any second, reply p99 during a push) are in test_reliability.py and
bench/latency.py."""

from __future__ import annotations

import asyncio

import pytest

from bot.limits import MIN_BULK, BudgetExhausted, Priority, SlidingWindow, TelegramLimits


def test_a_window_holds_a_slot_while_in_flight_and_for_a_period_after_the_answer() -> None:
    window = SlidingWindow(2, 1.0)
    window.start()
    window.start()
    assert window.free(0.0) == 0
    window.finish(0.3)  # Telegram answered the first at 0.3 s
    assert window.free(1.2) == 0 and window.wait(1.2) == pytest.approx(0.1)
    assert window.free(1.3) == 1


def test_a_window_agrees_with_itself_at_the_instant_a_slot_expires() -> None:
    """`wait` says 0 exactly when `free` says a slot is open, even where float sums round: a waiter
    woken by `wait`'s own delay must find its slot (bench/limiter.py found 31 in one second when
    `0.005 + 1.0` and `1.005 - 1.0` disagreed)."""
    for answered in (0.005, 0.1, 1 / 3, 15.456141386642566):
        window = SlidingWindow(1, 1.0)
        window.start()
        window.finish(answered)
        assert window.free(answered + 0.999) == 0
        woken = answered + window.wait(answered + 0.999) + 0.999
        assert window.wait(woken) == 0 and window.free(woken) == 1


async def test_the_next_send_waits_one_second_after_telegrams_answer_not_after_it_left() -> None:
    """Telegram counted a message on arrival, before its answer came back: a slot reused one second
    after the answer can never make 31 in Telegram's second, whatever the network's jitter."""
    limits = TelegramLimits(3)
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    async def telegram(**_: object) -> bool:
        sent.append(loop.time())
        await asyncio.sleep(0.2)  # the round trip
        return True

    async def send() -> None:
        await limits.process_request(telegram, (), {}, "sendMessage", {"chat_id": 1}, None)

    await asyncio.gather(*(send() for _ in range(4)))
    assert sent[3] - sent[0] >= 1.2 - 0.01  # answered at +0.2 s, so free again at +1.2 s


def busy(limits: TelegramLimits, *, replies: int, bulk: int, now: float) -> None:
    """`replies` and `bulk` sends went out (and were answered) just now."""
    for _ in range(replies):
        limits.replies.take(now)
        limits.overall.take(now)
    for _ in range(bulk):
        limits.bulk.take(now)
        limits.overall.take(now)


def test_while_learners_answer_fast_the_push_keeps_slots_free_for_them_and_never_stops() -> None:
    now = 100.0
    limits = TelegramLimits(30, clock=lambda: now)
    busy(limits, replies=20, bulk=MIN_BULK, now=now)  # 8 slots free, 15 kept for replies
    assert limits._delay(Priority.BULK, None, now) > 0
    assert limits._delay(Priority.REPLY, None, now) == 0

    starving = TelegramLimits(30, clock=lambda: now)
    busy(starving, replies=20, bulk=0, now=now)  # no push this second: the reserve shrinks to 8
    assert starving._delay(Priority.BULK, None, now) == 0


def test_a_trickle_of_replies_costs_the_push_nothing() -> None:
    now = 100.0
    limits = TelegramLimits(30, clock=lambda: now)
    busy(limits, replies=3, bulk=25, now=now)
    assert limits._delay(Priority.BULK, None, now) == 0


def test_group_chatter_is_dropped_before_it_eats_the_groups_last_slots() -> None:
    now = 100.0
    limits = TelegramLimits(30, clock=lambda: now)
    group = limits._group(-100)
    for _ in range(15):
        group.take(now)
    with pytest.raises(BudgetExhausted):
        limits._delay(Priority.LOW, group, now)
    assert limits._delay(Priority.REPLY, group, now) == 0
