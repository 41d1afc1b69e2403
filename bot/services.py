"""What every handler needs, built once at start-up and kept in `application.bot_data`.

The clock and the random generator live here so tests can inject them: nothing in bot/ calls
`datetime.now()` or `random` directly.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telegram.ext import ContextTypes

from content import Bank

from .config import Config

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    bank: Bank
    store: object  # storage.aio.AsyncStore
    config: Config
    clock: Clock = system_clock
    rng: random.Random = field(default_factory=random.Random)
    admin_cache: dict = field(default_factory=dict)  # (chat_id, user_id) -> (is_admin, expires_at)
    flood: object | None = None
    group_verdicts: object | None = None  # bot.group_verdicts.GroupVerdicts

    def now(self) -> datetime:
        return self.clock()


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]
