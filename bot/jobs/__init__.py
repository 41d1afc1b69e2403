"""Scheduled work: the daily push, reminders, digests, late verdicts, housekeeping (PTB's JobQueue
calls them, every `tick` on its own)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ..context import TutorContext

log = logging.getLogger(__name__)

Tick = Callable[[TutorContext], Awaitable[Any]]


def logged(tick: Tick) -> Callable[[TutorContext], Coroutine[Any, Any, None]]:
    """A job whose failure is one log line, never an unhandled error in the scheduler: while the
    bot stops, a tick cut short (its store closed, its sends refused) is expected and runs again
    after the restart; at any other time the traceback is logged once."""

    @functools.wraps(tick)
    async def run(context: TutorContext) -> None:
        try:
            await tick(context)
        except asyncio.CancelledError:
            if context.application.running:
                raise
            # Stopping: the scheduler cancels a running tick, and would log its cancellation with a
            # traceback. What the tick had not done is still pending in storage for the next start.
            log.info("%s.%s cut short by the shutdown", tick.__module__, tick.__name__)
        except Exception as exc:  # noqa: BLE001 — the scheduler would only log it less clearly
            if context.application.running:
                log.exception("%s.%s failed", tick.__module__, tick.__name__)
            else:
                log.info("%s.%s cut short by the shutdown (%s)", tick.__module__, tick.__name__,
                         exc.__class__.__name__)

    return run
