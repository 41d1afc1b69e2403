"""The handler's world, typed: PTB's own `ContextTypes` pattern (its `contexttypesbot.py` example).

Every handler receives a `TutorContext`: `context.store`, `context.bank`, `context.config`,
`context.now()` and `context.rng`, each with its real type, so tools and people can follow a
call from a handler into storage or the grader. The clock and the random generator are injected
(tests fix them); nothing in bot/ reads the time or `random` any other way.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from content import Bank
from storage import AsyncStore

from .config import Config
from .group_verdicts import GroupVerdicts

Clock = Callable[[], datetime]
TutorBot = ExtBot[dict[str, Any]]  # rate_limit_args: {"priority": bot.limits.Priority}
SERVICES = "tutor"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """What every handler needs, built once by `build_application` (kept in `bot_data`)."""

    bank: Bank
    config: Config
    clock: Clock = system_clock
    rng: random.Random = field(default_factory=random.Random)
    group_verdicts: GroupVerdicts = field(default_factory=GroupVerdicts)
    admin_cache: dict[tuple[int, int], tuple[bool, datetime]] = field(default_factory=dict)
    store: AsyncStore | None = None  # opened in post_init: its threads belong to the running loop


class TutorContext(CallbackContext[TutorBot, dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with the tutor's services as typed attributes."""

    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES]
        return services

    @property
    def store(self) -> AsyncStore:
        store = self.services.store
        if store is None:
            raise RuntimeError("the store is opened in post_init; no handler runs before it")
        return store

    @property
    def bank(self) -> Bank:
        return self.services.bank

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def rng(self) -> random.Random:
        return self.services.rng

    def now(self) -> datetime:
        return self.services.clock()


TutorApp = Application[TutorBot, TutorContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], JobQueue[TutorContext]]


BACKGROUND = "background"


def run_in_background(application: TutorApp, coroutine: Coroutine[Any, Any, None], name: str) -> None:
    """Long work that outlives its handler (an announcement going out). Not PTB's `create_task`:
    PTB's `stop()` waits for those, and shutdown must not wait for 10,000 sends; `stop_app`
    cancels these, and what they had not done is still recorded as pending."""
    tasks: set[asyncio.Task[None]] = application.bot_data.setdefault(BACKGROUND, set())
    task = asyncio.create_task(coroutine, name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def cancel_background(application: TutorApp) -> None:
    tasks: set[asyncio.Task[None]] = application.bot_data.get(BACKGROUND, set())
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def services_of(application: TutorApp) -> Services:
    """The services outside a handler (post_init, jobs, tests)."""
    services: Services = application.bot_data[SERVICES]
    return services
