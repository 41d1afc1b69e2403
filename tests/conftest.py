"""Shared fixtures: a storage file, a controllable clock, a fake Telegram server, and the real bot
running against them.

The bot fixtures import bot/ inside the fixture, so the storage and rules tests run without it.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from storage.aio import AsyncStore
from storage.store import Store

# Property tests: Hypothesis's own default of 100 examples each in the suite (CI, the fast subset);
# `HYPOTHESIS_PROFILE=thorough uv run pytest tests/test_grading_properties.py tests/test_streaks.py`
# tries 2,000 when a rule of grading or streaks changes.
settings.register_profile("suite", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

MINI_BANK = Path(__file__).parent / "data" / "mini_bank"


class Clock:
    """A clock the test moves by hand: the bot reads time only through it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


# ---- storage ---------------------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database file goes (created by whoever opens it first)."""
    return tmp_path / "bot.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A fresh, migrated database file and a Store on it."""
    s = Store.open(db_path)
    yield s
    s.close()


@pytest.fixture
async def astore(db_path: Path) -> AsyncIterator[AsyncStore]:
    """The same, through AsyncStore (its writer and reader threads)."""
    s = await AsyncStore.open(db_path)
    yield s
    await s.close()


# ---- the bot ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bank() -> Any:
    """The bot tests run on a two-question bank so every grade they expect is known exactly."""
    from content import load_bank

    return load_bank(MINI_BANK / "questions", MINI_BANK / "topics.toml")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday, 08:00 UTC


@pytest.fixture
async def tg() -> AsyncIterator[Any]:
    from tests.fake_telegram import FakeTelegram

    server = await FakeTelegram().start()
    yield server
    await server.stop()


@pytest.fixture
def make_config(tmp_path: Path, tg: Any) -> Callable[..., Any]:
    from bot.config import Config

    def make(**overrides: Any) -> Config:
        values: dict[str, Any] = dict(
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
async def run_bot(make_config: Callable[..., Any], clock: Clock,
                  bank: Any) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Start the real application against the fake server; stops everything at teardown."""
    from bot.app import build_application, start_app, stop_app

    started = []

    async def run(**overrides: Any) -> Any:
        app = build_application(make_config(**overrides), bank=bank, clock=clock, rng=random.Random(7))
        await start_app(app)
        started.append(app)
        return app

    yield run
    for app in reversed(started):
        await stop_app(app)


# ---- the fast subset ---------------------------------------------------------------------------
# `uv run pytest -m "not slow"` leaves out what runs the bot as a child process or waits out
# faults (kill -9, SIGTERM, outages, slow answers, locks): the rest runs in-process in seconds.

SLOW_FILES = {"test_faults_crash.py", "test_faults_network.py", "test_faults_shutdown.py", "test_faults_db.py",
              "test_reliability.py", "test_daily_push.py", "test_fuzz_input.py", "test_charts.py"}
# Single tests that start a process, render pictures, push thousands of rows, validate or grade
# the whole shipped bank (CI's `content check` does that too), or put a load on the bot.
SLOW_TESTS = ("test_run_", "test_junk_words_do_not_grow", "test_the_wal_stays_bounded", "test_stats_picture",
              "test_interview_on_a_topic_draws_only", "test_an_interview_on_a_small_topic", "test_token_never_appears",
              "test_a_wal_database_another_user_cannot_write",  # a child process as another user
              "test_stats_sends_a_picture", "test_top_in_a_group_is_a_picture",
              "test_members_answer_daily_question_each_graded_once_and_top",  # pictures
              "test_the_shipped_bank_is_valid", "test_loading_and_validating_the_bank_is_fast",
              "test_every_model_answer_of_the_shipped_bank", "test_labelled_reply_files_reference",
              "test_content_check_passes_on_the_shipped_bank", "test_content_list_json",  # the whole bank
              "test_stored_streak_after_record_attempt_equals_recompute",  # a property test over SQLite
              "test_verdict_arrives_quickly_after_a_burst", "test_flood_gets_one_notice")  # load


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.path.name in SLOW_FILES or "bot_processes" in fixtures or item.name.startswith(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
