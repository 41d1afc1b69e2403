import asyncio
import sqlite3
import threading
import time

import pytest

from storage import aio
from storage.aio import ON_LOOP, AsyncStore
from storage.db import StorageError
from storage.store import Store
from storage_fixtures import T0, card, review


async def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


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


async def test_per_update_calls_run_on_the_event_loop_and_the_rest_on_one_worker_thread(tmp_path, monkeypatch):
    """ON_LOOP methods (a few rows by key) skip the hand-off to the thread; scans stay off the loop."""
    threads: dict[str, set[int]] = {"get_user": set(), "leaderboard": set()}
    for name in threads:
        original = getattr(Store, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            threads[_name].add(threading.get_ident())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Store, name, spy)
    astore = await AsyncStore.open(tmp_path / "bot.db")
    await asyncio.gather(*(astore.get_user(n) for n in range(20)), *(astore.leaderboard(-1, T0) for _ in range(20)))
    loop_thread = threading.get_ident()
    assert threads["get_user"] == {loop_thread}
    assert len(threads["leaderboard"]) == 1 and loop_thread not in threads["leaderboard"]
    assert astore.loop_calls == 20 and astore.busy_fallbacks == 0
    await astore.close()


def test_every_on_loop_name_is_a_store_method():
    assert all(callable(getattr(Store, name, None)) for name in ON_LOOP)
    assert "delete_user" not in ON_LOOP and "due_chats" not in ON_LOOP and "leaderboard" not in ON_LOOP


async def test_a_write_that_meets_another_process_lock_waits_on_the_worker_not_the_loop(tmp_path):
    """busy_timeout is 0 on the loop: SQLITE_BUSY at once, and the call is repeated on the worker,
    which waits for the lock (up to 5 s) while the event loop keeps running."""
    db = tmp_path / "bot.db"
    astore = await AsyncStore.open(db)
    other = sqlite3.connect(db, isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")  # another process's write lock
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    write = asyncio.create_task(astore.seen_update(1, T0))
    try:
        await wait_for(lambda: astore.busy_fallbacks == 1, "the write to fall back to the worker")
        await wait_for(lambda: ticks >= 10, "the event loop to keep running while the lock is held")
        assert not write.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 10) is True
    finally:
        ticking.cancel()
        other.close()
    assert await astore.seen_update(1, T0) is False  # stored once, and the loop path is back
    assert astore.loop_calls == 1
    await astore.close()


async def test_a_loop_call_waits_while_the_worker_uses_the_connection(tmp_path, monkeypatch):
    """The connection has one user at a time: a per-update call never runs beside a worker call."""
    busy = []  # (thread, start, end) of each call
    slow_board = Store.leaderboard

    def slow(self, *args, **kwargs):
        start = time.monotonic()
        time.sleep(0.3)
        result = slow_board(self, *args, **kwargs)
        busy.append(("worker", start, time.monotonic()))
        return result

    def quick(self, user_id, _get=Store.get_user):
        start = time.monotonic()
        result = _get(self, user_id)
        busy.append(("loop", start, time.monotonic()))
        return result

    monkeypatch.setattr(Store, "leaderboard", slow)
    monkeypatch.setattr(Store, "get_user", quick)
    astore = await AsyncStore.open(tmp_path / "bot.db")
    board = asyncio.create_task(astore.leaderboard(-1, T0))
    await asyncio.sleep(0.05)  # the worker is inside leaderboard now
    await astore.get_user(1)
    await board
    (first, f_start, f_end), (second, s_start, _) = busy
    assert (first, second) == ("worker", "loop") and s_start >= f_end
    await astore.close()


async def test_a_cancelled_worker_call_keeps_the_connection_until_it_ends(tmp_path, monkeypatch):
    """Cancelling the await does not stop the thread: the loop must still wait for it."""
    ended = []
    slow_board = Store.leaderboard

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        result = slow_board(self, *args, **kwargs)
        ended.append(time.monotonic())
        return result

    monkeypatch.setattr(Store, "leaderboard", slow)
    astore = await AsyncStore.open(tmp_path / "bot.db")
    board = asyncio.create_task(astore.leaderboard(-1, T0))
    await asyncio.sleep(0.05)
    board.cancel()
    with pytest.raises(asyncio.CancelledError):
        await board
    await astore.get_user(1)
    assert ended and time.monotonic() >= ended[0]  # get_user ran only after leaderboard had ended
    await astore.close()


async def test_checkpoints_run_on_the_worker_not_inside_a_commit_on_the_loop(tmp_path, monkeypatch):
    monkeypatch.setattr(aio, "CHECKPOINT_EVERY", 10)
    monkeypatch.setattr(aio, "CHECKPOINT_MIN_INTERVAL", 0.0)
    threads = []
    original = Store.checkpoint

    def spy(self):
        threads.append(threading.get_ident())
        return original(self)

    monkeypatch.setattr(Store, "checkpoint", spy)
    astore = await AsyncStore.open(tmp_path / "bot.db")
    for n in range(35):
        await astore.seen_update(n, T0)
    assert len(threads) == 3 and threading.get_ident() not in threads
    probe = sqlite3.connect(tmp_path / "bot.db")
    assert probe.execute("SELECT count(*) FROM processed_updates").fetchone()[0] == 35
    probe.close()
    await astore.close()


async def test_under_heavy_load_checkpoints_wait_for_the_minimum_interval(tmp_path, monkeypatch):
    """Every CHECKPOINT_EVERY calls, but not more often than CHECKPOINT_MIN_INTERVAL: at hundreds
    of answers a second each checkpoint would copy the same hot pages again."""
    monkeypatch.setattr(aio, "CHECKPOINT_EVERY", 10)
    checkpoints = []
    original = Store.checkpoint
    monkeypatch.setattr(Store, "checkpoint", lambda self: checkpoints.append(now[0]) or original(self))
    now = [100.0]
    astore = await AsyncStore.open(tmp_path / "bot.db", clock=lambda: now[0])
    for n in range(35):  # 35 calls within one instant: due three times, but too soon
        await astore.seen_update(n, T0)
    assert checkpoints == []
    now[0] += aio.CHECKPOINT_MIN_INTERVAL
    await astore.seen_update(35, T0)
    assert checkpoints == [now[0]]  # the interval passed, and the calls were overdue
    for n in range(36, 45):  # fewer than CHECKPOINT_EVERY calls since: time alone is not enough
        now[0] += 10
        await astore.seen_update(n, T0)
    assert len(checkpoints) == 1
    await astore.seen_update(45, T0)
    await astore.seen_update(46, T0)
    assert len(checkpoints) == 2
    await astore.close()


async def test_the_event_loop_connection_never_checkpoints_by_itself(tmp_path):
    store = Store.open(tmp_path / "bot.db")
    store.prepare_for_event_loop()
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    busy, wal_pages, copied = store.checkpoint()
    assert busy == 0 and wal_pages == copied
    store.close()


async def test_on_loop_empty_sends_every_call_to_the_worker(tmp_path):
    astore = await AsyncStore.open(tmp_path / "bot.db", on_loop=frozenset())
    await astore.get_user(1)
    assert astore.loop_calls == 0 and astore.worker_calls == 1
    await astore.close()


async def test_a_call_waiting_for_the_worker_when_the_store_closes_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(Store, "leaderboard", lambda self, *a, **k: time.sleep(0.2) or [])
    astore = await AsyncStore.open(tmp_path / "bot.db")
    board = asyncio.create_task(astore.leaderboard(-1, T0))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(astore.get_user(1))
    await asyncio.sleep(0.01)
    await astore.close()
    await board
    with pytest.raises(StorageError, match="closed"):
        await waiting


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
