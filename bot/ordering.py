"""One learner's updates are handled one at a time, in the order Telegram sent them.

Updates of different people run concurrently (PTB's update processor caps how many at once),
so without this two updates from one person race: "Next" pressed and, before its send returns,
"Yes, erase everything" pressed on an older message; or an answer typed while the previous one
is still being graded. The second must see the first one's effects, as with a human tutor.

The inbox (bot/inbox.py) takes a learner's turn *before* handing the update to PTB's processor,
so one person sending 300 messages waits in one queue and holds no concurrency slot meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update


def learner_key(update: object) -> int | None:
    """Whose turn an update belongs to: its sender, else its chat; None for neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class LearnerTurns:
    """A FIFO lock per learner, kept only while that learner has updates in hand."""

    def __init__(self) -> None:
        self._turns: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    @property
    def active_learners(self) -> int:
        return len(self._turns)

    @asynccontextmanager
    async def turn(self, key: int | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock, holders = self._turns.setdefault(key, (asyncio.Lock(), [0]))
        holders[0] += 1
        try:
            async with lock:
                yield
        finally:
            holders[0] -= 1
            if holders[0] == 0:
                del self._turns[key]
