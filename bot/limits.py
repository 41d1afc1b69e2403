"""Telegram's flood limits, kept below with a margin, replies to waiting learners first.

Telegram allows about 30 messages a second per bot and 20 a minute into one group; past that it
answers 429 with `retry_after`, and every send of the bot should pause for that long. PTB's
`AIORateLimiter` uses aiolimiter's leaky bucket, which lets a burst of 30 through and another 30
right after it: against a server that counts 30 in *any* second that means 429s. So this is a
limiter of our own, through PTB's documented extension point (`BaseRateLimiter`):

* **Sliding windows, counted from Telegram's answer**: at most `rate` messages in any `period`
  seconds, where a message holds its slot from the moment it leaves until one `period` after
  Telegram *answered* it. Telegram counted it on arrival, which is before its answer came back, and
  the next message arrives after it leaves us: so no 31 messages can ever meet in Telegram's
  second, however the network jitters, with no guessed margin. The cost is one round trip per slot
  (a few ms locally: 29.5 messages a second; with a 100 ms round trip to Telegram, 27).
* **Even pacing for bulk**: `BULK` and `LOW` sends go one per `spacing` (1 s / 30) on a
  fixed schedule, never in a burst, so a slot frees every 36 ms and a waiting reply takes the
  next one: it never waits a whole window (a burst of 30 pushes would fill the window at one
  instant and free it at one instant a period later). While replies are flowing, bulk also
  leaves free as many slots as replies went out in the last window (up to half), so a burst of
  them goes at once: the push slows to a crawl while 20 learners a second are answering.
* **Priorities**, passed per call as `rate_limit_args` (see `Priority`): a `REPLY` (a verdict, an
  answer to a command: someone is waiting) takes the next free slot before any `BULK` send (the
  daily push, reminders, digests); `LOW` group chatter (help, confirmations, refusals) is dropped
  with `BudgetExhausted` when it would leave a group fewer than `GROUP_RESERVE` of its 20 slots a
  minute, so questions and verdicts in that group are never queued behind it.
* **429**: every send pauses for `retry_after`, and the error goes back to the caller, whose one
  retry policy (`bot/sending.py`) decides whether to try again. This limiter retries nothing.

Only message-creating methods count (Telegram's limit is on messages). `answerCallbackQuery`,
`getChatMember` and friends go straight through, except while a 429 pause is on.
"""

from __future__ import annotations

import asyncio
import enum
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from .observability import count_rate_limited

OVERALL_RATE, OVERALL_PERIOD = 30, 1.0  # Telegram: about 30 messages a second per bot
GROUP_RATE, GROUP_PERIOD = 20, 60.0  # Telegram: about 20 messages a minute into one group
GROUP_RESERVE = 5  # a group's slots per minute that LOW messages may never use
REPLY_TRICKLE = 3  # replies in the last window that need no slots kept for them
MAX_REPLY_RESERVE = 15  # at most half the slots kept for replies
MIN_BULK, MIN_BULK_RESERVE = 1, 8  # with no bulk send in the last window the reserve shrinks to 8: the push never stops
# (bench/limiter.py, 6 seeds: MIN_BULK 2 -> 1 took the median reply p99 from 84 to 73 ms, the push from 3.0 to 2.5/s)
MAX_IDLE_GROUPS = 512  # group windows kept before idle ones are forgotten (memory stays flat)

MESSAGE_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup",
    "editMessageCaption", "copyMessage", "forwardMessage", "sendMediaGroup",
})


def retry_after_seconds(exc: RetryAfter) -> float:
    """`retry_after` is an int in PTB 22 and a timedelta later: accept both."""
    with warnings.catch_warnings():  # PTB 22 warns that the int form is deprecated
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Priority(enum.IntEnum):
    """How urgent a send is; pass as `rate_limit_args={"priority": Priority.BULK}`."""

    REPLY = 0  # a learner is waiting for it (the default)
    BULK = 1  # scheduled sends: the daily push, reminders, digests
    LOW = 2  # group chatter that may be dropped when the group's budget runs short


class BudgetExhausted(Exception):
    """A LOW message was dropped to keep a group's budget for questions and verdicts."""


class SlidingWindow:
    """When the next of at most `rate` entries in any `period` seconds may go.

    An entry is either in flight (`start` … `finish`) or done at a time; a done entry holds its slot
    for `period` seconds after that time. `take` records one that is done at once.
    """

    def __init__(self, rate: int, period: float) -> None:
        self.rate, self.period = rate, period
        self.times: deque[float] = deque()  # when entries were done, oldest first
        self.in_flight = 0

    def _expire(self, now: float) -> None:
        # `t + period <= now`, the same sum as `wait` computes: `t <= now - period` rounds
        # differently, and a waiter woken by `wait`'s delay could find its slot not yet expired.
        while self.times and self.times[0] + self.period <= now:
            self.times.popleft()

    def free(self, now: float) -> int:
        self._expire(now)
        return self.rate - self.in_flight - len(self.times)

    def wait(self, now: float) -> float:
        """Seconds until one more entry fits (0 if it fits now; a whole period if all are in flight,
        but the end of a flight wakes every waiter)."""
        if self.free(now) > 0:
            return 0.0
        return self.times[0] + self.period - now if self.times else self.period

    def take(self, now: float) -> None:
        self.times.append(now)

    def start(self) -> None:
        self.in_flight += 1

    def finish(self, now: float) -> None:
        self.in_flight -= 1
        self.times.append(now)


def group_key(data: dict[str, Any]) -> int | str | None:
    """The group a request writes into (negative chat ids and @usernames), else None."""
    chat_id = data.get("chat_id")
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        return chat_id
    try:
        number = int(chat_id) if chat_id is not None else 0
    except (TypeError, ValueError):
        return None
    return number if number < 0 else None


class TelegramLimits(BaseRateLimiter[dict[str, Any]]):
    """Sliding windows per bot and per group, priorities, and one shared pause on 429."""

    def __init__(self, messages_per_second: int = OVERALL_RATE, *, clock: Callable[[], float] | None = None) -> None:
        self.pacing = messages_per_second > 0  # 0: only 429 pauses (a self-hosted Bot API server, benchmarks)
        self.overall = SlidingWindow(max(1, messages_per_second), OVERALL_PERIOD)
        self.groups: dict[int | str, SlidingWindow] = {}
        self.paused_until = 0.0
        # BULK and LOW: one per `spacing` seconds (measured without it: verdict p99 0.96 s during a push).
        self.spacing = OVERALL_PERIOD / max(1, messages_per_second)
        self.next_slot = -1e9  # when the next BULK send may go: a schedule, so a late wake-up is not lost pace
        self.replies = SlidingWindow(max(1, messages_per_second), OVERALL_PERIOD)  # replies lately
        self.bulk = SlidingWindow(max(1, messages_per_second), OVERALL_PERIOD)  # bulk sends lately
        self._clock = clock
        self._waiting = [0, 0, 0]  # per Priority: sends waiting for a slot
        self._changed = asyncio.Condition()
        self.rate_limited = 0  # 429s seen (logged and exported as a metric by the sender)

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    async def initialize(self) -> None:
        """Nothing to open: windows are made on demand."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _group(self, key: int | str) -> SlidingWindow:
        window = self.groups.get(key)
        if window is None:
            if len(self.groups) > MAX_IDLE_GROUPS:
                now = self.now()
                for old in [k for k, w in self.groups.items() if w.free(now) == w.rate]:
                    del self.groups[old]
            window = self.groups[key] = SlidingWindow(GROUP_RATE, GROUP_PERIOD)
        return window

    def _delay(self, priority: Priority, group: SlidingWindow | None, now: float) -> float:
        """Seconds this send must still wait, or 0 to go now; raises BudgetExhausted for LOW."""
        if priority is Priority.LOW and group is not None and group.free(now) <= GROUP_RESERVE:
            raise BudgetExhausted
        waits = [self.paused_until - now, self.overall.wait(now)]
        if group is not None:
            waits.append(group.wait(now))
        if priority is not Priority.REPLY:
            waits.append(self.next_slot - now)
            # Learners are waiting for replies: keep free as many slots as replies went out in the
            # last window, so a burst of them goes at once. Arrivals are random: at 20 a second,
            # 30 in one second is a 1-in-100 event, and each slot the push holds then delays a
            # reply by up to a second (bench/latency.py: a reserve of half the replies gave p99
            # 113-143 ms). A trickle of replies needs no reserve (the next bulk slot is at most
            # `spacing` away), and a slot kept for a reply that never comes is pace the push loses.
            replies = self.replies.rate - self.replies.free(now)
            reserve = min(MAX_REPLY_RESERVE, replies) if replies > REPLY_TRICKLE else 0
            if self.bulk.rate - self.bulk.free(now) < MIN_BULK:
                # Even while 20 learners a second are answering, the push trickles on. Letting it
                # ignore the reserve cost replies dearly (a bulk send then takes one of the last
                # free slots, right in a burst); a smaller reserve costs them little.
                reserve = min(reserve, MIN_BULK_RESERVE)
            if reserve and self.overall.free(now) <= reserve:
                waits.append(self.spacing)
        delay = max(waits)
        if delay <= 0 and any(self._waiting[p] for p in range(priority)):
            return OVERALL_PERIOD / self.overall.rate  # a more urgent send is waiting: let it go first
        return delay

    async def _admit(self, priority: Priority, group: SlidingWindow | None) -> None:
        self._waiting[priority] += 1
        try:
            async with self._changed:
                # A wait under a microsecond is no wait: `t + period` and `now + delay` round by
                # about 1e-16 s, and waiting that out could wake to the same rounding again.
                while (delay := self._delay(priority, group, self.now())) > 1e-6:
                    try:
                        await asyncio.wait_for(self._changed.wait(), delay)
                    except TimeoutError:
                        pass
                now = self.now()
                self.next_slot = max(self.next_slot, now - self.spacing) + self.spacing
                (self.replies if priority is Priority.REPLY else self.bulk).take(now)
                self.overall.start()
                if group is not None:
                    group.start()
        finally:
            self._waiting[priority] -= 1
        async with self._changed:
            self._changed.notify_all()  # a less urgent waiter may go now

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        priority = Priority((rate_limit_args or {}).get("priority", Priority.REPLY))
        if not (self.pacing and endpoint in MESSAGE_METHODS):
            if (pause := self.paused_until - self.now()) > 0:
                await asyncio.sleep(pause)
            return await self._call(callback, args, kwargs)
        key = group_key(data)
        group = self._group(key) if key is not None else None
        await self._admit(priority, group)
        try:
            return await self._call(callback, args, kwargs)
        finally:
            # The slot is held until one period after Telegram answered (or we stopped waiting).
            now = self.now()
            self.overall.finish(now)
            if group is not None:
                group.finish(now)
            async with self._changed:
                self._changed.notify_all()

    async def _call(
        self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any, kwargs: dict[str, Any]
    ) -> Any:
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            self.rate_limited += 1
            count_rate_limited()
            self.paused_until = max(self.paused_until, self.now() + retry_after_seconds(exc))
            raise
