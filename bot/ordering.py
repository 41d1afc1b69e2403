"""One learner's updates are handled one at a time, in the order Telegram sent them.

PTB's `concurrent_updates` runs every update as soon as it arrives, so two updates from one
person race: "Next" pressed and, before its send returns, "Yes, erase everything" pressed on an
older message; or an answer typed while the previous one is still being graded. The second
must see the first one's effects, as it would if a person were talking to a tutor.

`PerLearnerUpdateProcessor` keeps one lock per learner (the sender; the chat when there is no
sender). Different learners still run concurrently, up to `max_concurrent_updates` at once. A
learner's waiting updates do not hold one of those slots: the lock is taken *before* the
concurrency slot, so one person sending 300 messages occupies one slot, not all of them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def learner_key(update: object) -> int | None:
    """Whose turn an update belongs to: its sender, else its chat; None for neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerLearnerUpdateProcessor(BaseUpdateProcessor):
    """Concurrency across learners, order within one learner."""

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        # key -> [lock, number of updates holding or waiting for it]; an entry lives only while
        # that learner has an update in hand, so memory follows the learners active right now.
        self._turns: dict[int, list[Any]] = {}

    @property
    def active_learners(self) -> int:
        return len(self._turns)

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = learner_key(update)
        if key is None:
            await super().process_update(update, coroutine)
            return
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = [asyncio.Lock(), 0]
        turn[1] += 1
        try:
            async with turn[0]:
                await super().process_update(update, coroutine)
        finally:
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()  # cancelled while waiting its turn (shutdown): never started, no warning
            turn[1] -= 1
            if turn[1] == 0:
                del self._turns[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up: locks are made on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: every lock goes with the last update that used it."""
