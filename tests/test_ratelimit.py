"""The sliding-window rate limiter: never more than Telegram allows in any window, and no
waiting at all below that (a reply goes out at once).

Timing-robust by construction: a loaded machine can only make entries *later*, which never
breaks "at most N in any window"; the no-wait claims use windows of 10 s or more, so any wait
at all would show as seconds.
"""

from __future__ import annotations

import asyncio

from bot import ratelimit
from bot.ratelimit import SlidingWindow, SlidingWindowRateLimiter


async def enter_all(window: SlidingWindow, n: int) -> list[float]:
    """Enter `n` times concurrently; return the admission times in admission order."""
    admitted: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        async with window:
            admitted.append((i, window.times[-1]))

    await asyncio.gather(*(one(i) for i in range(n)))
    assert [i for i, _ in admitted] == list(range(n))  # first come, first served
    return [t for _, t in admitted]


async def test_at_most_rate_entries_in_any_period():
    window = SlidingWindow(5, 0.2)
    times = await enter_all(window, 17)
    for first, sixth in zip(times, times[5:]):
        assert sixth - first >= 0.2
    assert times[4] - times[0] < 0.2  # the first five went together: a window is not a pace


async def test_below_the_rate_nothing_waits():
    window = SlidingWindow(30, 10.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await enter_all(window, 30)
    assert loop.time() - start < 5.0  # any wait would be ~10 s


async def test_an_idle_window_can_be_forgotten():
    window = SlidingWindow(2, 0.05)
    assert window.idle()
    async with window:
        pass
    assert not window.idle()
    await asyncio.sleep(0.06)  # the period itself: what is being tested, not a wait for a condition
    assert window.idle()


async def sends(limiter: SlidingWindowRateLimiter, chat_ids: list[int]) -> list[tuple[int, float]]:
    loop = asyncio.get_running_loop()
    done: list[tuple[int, float]] = []

    async def send(chat_id: int) -> bool:
        done.append((chat_id, loop.time()))
        return True

    await asyncio.gather(*(
        limiter.process_request(send, (chat_id,), {}, "sendMessage", {"chat_id": chat_id}, None)
        for chat_id in chat_ids
    ))
    return done


async def test_a_group_gets_twenty_a_minute_and_does_not_hold_up_private_chats(monkeypatch):
    monkeypatch.setattr(ratelimit, "GROUP_PERIOD", 0.5)  # Telegram's minute, shortened
    limiter = SlidingWindowRateLimiter(1000)
    loop = asyncio.get_running_loop()
    start = loop.time()
    done = await sends(limiter, [-100] * 25 + [7, 8, 9])
    group = [t - start for chat, t in done if chat == -100]
    private = [t - start for chat, t in done if chat > 0]
    assert len(group) == 25 and sorted(group)[20] >= 0.5 * ratelimit.MARGIN
    assert max(private) < sorted(group)[20]  # the private replies did not queue behind the group


async def test_the_overall_limit_applies_across_chats():
    limiter = SlidingWindowRateLimiter(10)
    done = await sends(limiter, list(range(1, 26)))
    times = sorted(t for _, t in done)
    for first, eleventh in zip(times, times[10:]):
        assert eleventh - first >= 1.0


async def test_quiet_groups_windows_are_dropped_so_memory_stays_flat(monkeypatch):
    monkeypatch.setattr(ratelimit, "GROUP_PERIOD", 0.01)
    monkeypatch.setattr(ratelimit, "MAX_IDLE_GROUP_WINDOWS", 10)
    limiter = SlidingWindowRateLimiter(10_000)
    for batch in range(5):
        await sends(limiter, [-1000 * batch - k for k in range(1, 11)])
        await asyncio.sleep(0.02)  # let them go quiet (the shortened minute)
    assert len(limiter._group_windows) <= 11
