"""Telegram's flood limits, as sliding windows, on top of PTB's AIORateLimiter.

Telegram allows about 30 messages per second per bot and 20 per minute into one group. PTB's
`AIORateLimiter` enforces them with aiolimiter's leaky bucket, which with its defaults lets a
burst of 30 out at once and another 30 right after (60 in a second). Configured as a bucket of
one (one message every 1/30 s) it never bursts, but then it *paces*: replies that arrive
together queue behind each other even when far fewer than 30 went out in the last second,
and at a Poisson 20 answers/s that queueing dominated reply latency (p99 244 ms,
docs/BENCHMARKS.md).

A sliding window says what Telegram says: at most `rate` messages in any `period`. A reply goes
out at once unless the window is full, so latency stays at the round trip until the bot really
is at the limit, and never more than `rate` go out in any window (as our clock sees it).

`MARGIN` stretches each window. It is 1.0: Telegram's "about 30 per second" is not exact, and a
5 % margin (1.05 s windows) more than doubled the reply p99 at 20 answers/s (118 ms against
46 ms, bench/latency.py) for no 429 seen. If Telegram ever answers 429 at your rate, lower
`TUTOR_MAX_MESSAGES_PER_SECOND` (e.g. to 28): that is the slack, in one place.

We keep the rest of AIORateLimiter: its retry on 429 (`retry_after`, `max_retries`), its
pause of all sends while a 429 is being waited out, and its separate limiter for paid
broadcasts (`allow_paid_broadcast`, 1,000/s).
"""

from __future__ import annotations

import asyncio
from collections import deque

from telegram.ext import AIORateLimiter

MARGIN = 1.0
OVERALL_PERIOD = 1.0  # Telegram: about `rate` messages a second overall
GROUP_RATE, GROUP_PERIOD = 20, 60.0  # Telegram: about 20 messages a minute into one group
MAX_IDLE_GROUP_WINDOWS = 512


class SlidingWindow:
    """An async context manager admitting at most `rate` entries in any `period` seconds, in
    arrival order (first come, first served: a waiting entry holds the lock while it sleeps)."""

    def __init__(self, rate: float, period: float):
        self.rate = max(1, int(rate))
        self.period = period
        self.times: deque[float] = deque()
        self._lock = asyncio.Lock()

    def _expire(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()

    def idle(self) -> bool:
        """True if nothing went through within the last period (the window can be dropped)."""
        self._expire(asyncio.get_running_loop().time())
        return not self.times and not self._lock.locked()

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                now = loop.time()
                self._expire(now)
                if len(self.times) < self.rate:
                    self.times.append(now)
                    return
                await asyncio.sleep(self.times[0] + self.period - now)

    async def __aexit__(self, *exc: object) -> None:
        return None


class SlidingWindowRateLimiter(AIORateLimiter):
    """AIORateLimiter with its overall and per-group leaky buckets replaced by sliding windows.

    AIORateLimiter only ever enters its limiters with `async with`, so a SlidingWindow stands in
    for aiolimiter's AsyncLimiter; 429 handling and paid broadcasts are PTB's own.
    """

    def __init__(self, messages_per_second: float, *, max_retries: int = 5):
        super().__init__(
            overall_max_rate=messages_per_second, overall_time_period=1,
            group_max_rate=GROUP_RATE, group_time_period=GROUP_PERIOD, max_retries=max_retries,
        )
        self._base_limiter = SlidingWindow(messages_per_second, MARGIN * OVERALL_PERIOD)  # type: ignore[assignment]
        self._group_windows: dict[str | int | bool, SlidingWindow] = {}

    def _get_group_limiter(self, group_id: str | int | bool) -> SlidingWindow:  # type: ignore[override]
        windows = self._group_windows
        if len(windows) > MAX_IDLE_GROUP_WINDOWS:  # forget groups quiet for a minute: memory stays flat
            for key in [k for k, w in windows.items() if k != group_id and w.idle()]:
                del windows[key]
        window = windows.get(group_id)
        if window is None:
            window = windows[group_id] = SlidingWindow(GROUP_RATE, MARGIN * GROUP_PERIOD)
        return window
