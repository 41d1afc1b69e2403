import asyncio
import threading
import time

import pytest

from storage.aio import AsyncStore
from storage.db import StorageError
from storage.store import Store
from storage_fixtures import T0, card, review


async def test_async_store_runs_store_methods_via_call_and_attribute_proxies(tmp_path):
    astore = await AsyncStore.open(tmp_path / "bot.db")
    user = await astore.call("touch_user", 1, "Ada", "ada", "en", T0)
    assert user["first_name"] == "Ada"
    assert (await astore.get_user(1))["username"] == "ada"
    await astore.ensure_chat(1, "private", None, T0, "UTC", "09:00")
    await astore.record_question_message(1, 10, "q", "quiz", 1, T0)
    result = await astore.record_attempt(
        user_id=1, chat_id=1, question_id="q", question_message_id=10, topic="cnn",
        score=1.0, verdict="correct", matched=[], used_hint=False, revealed=False,
        now=T0, tz_name="UTC")
    assert result.points == 3 and result.freezes_used == 0
    await astore.record_question_message(1, 11, "q2", "review", 1, T0)
    await astore.record_attempt(
        user_id=1, chat_id=1, question_id="q2", question_message_id=11, topic="cnn",
        score=1.0, verdict="correct", matched=[], used_hint=False, revealed=False,
        now=T0, tz_name="UTC", card=card(), review=review())
    assert (await astore.get_card(1, "q2"))["card_id"] == 4242
    assert (await astore.streak_info(1, T0, "UTC"))["current"] == 1
    await astore.close()


async def test_every_call_runs_on_one_dedicated_thread_not_the_event_loop(tmp_path, monkeypatch):
    threads = set()
    original = Store.get_user

    def spy(self, user_id):
        threads.add(threading.get_ident())
        return original(self, user_id)

    monkeypatch.setattr(Store, "get_user", spy)
    astore = await AsyncStore.open(tmp_path / "bot.db")
    await asyncio.gather(*(astore.get_user(n) for n in range(50)))
    assert len(threads) == 1 and threading.get_ident() not in threads
    await astore.close()


async def test_a_slow_store_call_does_not_block_the_event_loop(tmp_path, monkeypatch):
    monkeypatch.setattr(Store, "get_user", lambda self, user_id: time.sleep(0.3))
    astore = await AsyncStore.open(tmp_path / "bot.db")
    ticks = 0

    async def ticker():
        nonlocal ticks
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1

    await asyncio.gather(astore.get_user(1), ticker())
    assert ticks == 10
    await astore.close()


async def test_calls_are_serialised_in_arrival_order(tmp_path):
    astore = await AsyncStore.open(tmp_path / "bot.db")
    results = await asyncio.gather(*(astore.seen_update(7, T0) for _ in range(20)))
    assert results == [True] + [False] * 19
    await astore.close()


async def test_private_and_unknown_names_are_not_proxied(tmp_path):
    astore = await AsyncStore.open(tmp_path / "bot.db")
    with pytest.raises(AttributeError):
        astore.no_such_method
    with pytest.raises(AttributeError):
        await astore.call("_exec", "DROP TABLE users")
    await astore.close()


async def test_calls_after_close_raise_storage_error_and_close_twice_is_fine(tmp_path):
    astore = await AsyncStore.open(tmp_path / "bot.db")
    await astore.close()
    await astore.close()
    with pytest.raises(StorageError, match="closed"):
        await astore.get_user(1)


async def test_open_errors_surface_as_storage_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite" * 20)
    with pytest.raises(StorageError, match="not a SQLite database"):
        await AsyncStore.open(bad)
