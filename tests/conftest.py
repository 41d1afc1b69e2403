"""Shared fixtures: a fake Telegram server, a controllable clock, and the real bot running against them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_application, start_app, stop_app
from bot.config import Config
from content import load_bank
from tests.fake_telegram import FakeTelegram

MINI_BANK = Path(__file__).parent / "data" / "mini_bank"


class Clock:
    """A clock the test moves by hand: the bot reads time only through it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture(scope="session")
def bank():
    """The bot tests run on a two-question bank so every grade they expect is known exactly."""
    return load_bank(MINI_BANK / "questions", MINI_BANK / "topics.toml")


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday, 08:00 UTC


@pytest.fixture
async def tg():
    server = await FakeTelegram().start()
    yield server
    await server.stop()


@pytest.fixture
def make_config(tmp_path, tg):
    def make(**overrides) -> Config:
        values = dict(
            token=tg.token,
            base_url=tg.base_url,
            db_path=str(tmp_path / "tutor.db"),
            tick_seconds=3600.0,  # tests run ticks by hand unless they ask for a fast one
            default_time="09:00",
            default_tz="UTC",
            max_messages_per_second=0.0,
        )
        values.update(overrides)
        return Config(**values)

    return make


@pytest.fixture
async def run_bot(make_config, clock, bank):
    """Start the real application against the fake server; stops everything at teardown."""
    started = []

    async def run(**overrides):
        app = build_application(make_config(**overrides), bank=bank, clock=clock, rng=random.Random(7))
        await start_app(app)
        started.append(app)
        return app

    yield run
    for app in reversed(started):
        await stop_app(app)
