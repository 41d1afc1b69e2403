"""AsyncStore: Store methods from asyncio, writes on one writer thread, reads on a read-only
reader thread (datasette's model). No sleeps: the races below are staged with events."""

import asyncio
import functools
import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from storage._base import writes
from storage.aio import AsyncStore
from storage.errors import StorageError
from storage.models import AttemptResult, User
from storage.store import Store

from storage_helpers import T0, card, review

WAL_LIMIT = 16 * 1024 * 1024  # issue 18: the WAL stays under 16 MB during any push


async def test_read_and_write_run_store_methods_and_return_their_models(astore):
    user = await astore.write(Store.touch_user, 1, "Ada", "ada", "en", T0)
    assert isinstance(user, User) and user.first_name == "Ada"
    assert await astore.read(Store.get_user, 1) == user
    await astore.write(Store.ensure_chat, 1, "private", None, T0, "UTC", "09:00")
    await astore.write(Store.record_question_message, 1, 11, "q2", "review", 1, T0)
    result = await astore.write(
        Store.record_attempt, user_id=1, chat_id=1, question_id="q2", question_message_id=11,
        topic="cnn", score=1.0, verdict="correct", matched=[], used_hint=False, revealed=False,
        now=T0, tz_name="UTC", card=card(), review=review())
    assert isinstance(result, AttemptResult) and result.points == 3
    assert (await astore.read(Store.get_card, 1, "q2"))["card_id"] == 4242
    assert (await astore.read(Store.streak_info, 1, T0, "UTC")).current == 1


def spy_threads(monkeypatch, *names):
    """Record the thread each named Store method runs on (the spy keeps the reads/writes mark,
    which functools.wraps copies)."""
    seen: dict[str, set[str]] = {name: set() for name in names}
    for name in names:
        original = getattr(Store, name)

        @functools.wraps(original)
        def spy(self, *args, _original=original, _name=name, **kwargs):
            seen[_name].add(threading.current_thread().name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Store, name, spy)
    return seen


async def test_reads_run_on_the_reader_thread_and_writes_on_the_writer_thread(db_path, monkeypatch):
    seen = spy_threads(monkeypatch, "get_user", "touch_user")
    astore = await AsyncStore.open(db_path)
    await asyncio.gather(*(astore.write(Store.touch_user, n, "A", None, None, T0) for n in range(5)),
                         *(astore.read(Store.get_user, n) for n in range(5)))
    await astore.close()
    assert [name.split("_")[0] for name in seen["touch_user"]] == ["storage-writer"]
    assert [name.split("_")[0] for name in seen["get_user"]] == ["storage-reader"]


async def test_read_refuses_a_method_that_writes_before_running_it(astore):
    with pytest.raises(TypeError, match=r"touch_user.*use AsyncStore\.write"):
        await astore.read(Store.touch_user, 1, "Ada", None, None, T0)
    assert await astore.read(Store.get_user, 1) is None  # nothing was written


async def test_only_store_api_methods_are_accepted(astore):
    with pytest.raises(TypeError, match="not a Store API method"):
        await astore.write(Store._exec, "DROP TABLE users")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await astore.read(Store.close)


def test_the_reader_connection_cannot_write_even_when_asked_directly(store, db_path):
    reader = Store.open_reader(db_path)
    try:
        with pytest.raises(StorageError, match=r"readonly|read-only"):
            reader.touch_user(1, "Ada", None, None, T0)
    finally:
        reader.close()


async def test_a_read_sees_every_write_awaited_before_it(astore):
    for n in range(20):
        await astore.write(Store.touch_user, n, f"user {n}", None, None, T0)
        assert (await astore.read(Store.get_user, n)).first_name == f"user {n}"


async def test_a_lock_held_by_another_process_delays_writes_but_never_reads(astore, db_path):
    """Issue 18: another process holding the write lock froze every reply, /help included."""
    await astore.write(Store.touch_user, 1, "Ada", None, None, T0)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write lock
    try:
        write = asyncio.create_task(astore.write(Store.set_user_level, 1, "advanced"))
        for _ in range(50):  # reads answer at once, while the write waits for the lock
            assert (await astore.read(Store.get_user, 1)).level == "all"
        assert not write.done()
        other.execute("COMMIT")
        assert (await asyncio.wait_for(write, 10)).level == "advanced"
    finally:
        other.close()
    assert (await astore.read(Store.get_user, 1)).level == "advanced"


@writes
def add_two_updates_slowly(self: Store, started: threading.Event,
                           release: threading.Event) -> None:
    """A write method that pauses inside its transaction until the test releases it."""
    with self._tx():
        self._exec("INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', 'x')")
        started.set()
        assert release.wait(10)
        self._exec("INSERT INTO inbox (update_id, payload, received_at) VALUES (2, '{}', 'x')")


async def test_a_cancelled_write_finishes_its_whole_transaction_and_blocks_no_later_write(astore):
    started, release = threading.Event(), threading.Event()
    write = asyncio.create_task(astore.write(add_two_updates_slowly, started, release))
    assert await asyncio.to_thread(started.wait, 10)
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write
    release.set()
    # queued behind it on the writer thread: runs only once the transaction is committed
    assert await astore.write(Store.inbox_size) == 2
    assert await astore.write(Store.touch_user, 1, "Ada", None, None, T0)


async def test_a_write_cancelled_before_it_started_never_runs(astore):
    started, release = threading.Event(), threading.Event()
    blocker = asyncio.create_task(astore.write(add_two_updates_slowly, started, release))
    assert await asyncio.to_thread(started.wait, 10)
    queued = asyncio.create_task(astore.write(Store.touch_user, 9, "Never", None, None, T0))
    await asyncio.sleep(0)  # let it reach the writer's queue
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued  # by now the job on the writer's queue is cancelled too
    release.set()
    await blocker
    assert await astore.read(Store.get_user, 9) is None


async def test_writes_run_one_at_a_time_in_arrival_order(astore):
    results = await asyncio.gather(*(astore.write(Store.seen_update, 7, T0) for _ in range(20)))
    assert results == [True] + [False] * 19


async def test_calls_after_close_raise_storage_error_and_close_twice_is_fine(db_path):
    astore = await AsyncStore.open(db_path)
    await astore.close()
    await astore.close()
    with pytest.raises(StorageError, match="closed"):
        await astore.read(Store.get_user, 1)
    with pytest.raises(StorageError, match="closed"):
        await astore.write(Store.touch_user, 1, "Ada", None, None, T0)


async def test_open_errors_surface_as_storage_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite" * 20)
    with pytest.raises(StorageError, match="not a SQLite database"):
        await AsyncStore.open(bad)


def test_the_writer_checkpoints_by_itself_by_wal_size(store):
    """SQLite's own automatic checkpoint (every 1,000 WAL pages) stays on for the writer."""
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


async def test_the_wal_stays_bounded_during_a_2000_chat_push(db_path):
    """Issue 18: the WAL grew to 90 MB during a 2,000-chat push (pushes did not count towards
    checkpoints). Here every delivery is claimed and completed through AsyncStore while a
    reader keeps reading, as the bot's handlers do during a push."""
    astore = await AsyncStore.open(db_path)
    wal = Path(f"{db_path}-wal")
    chats = range(1, 2001)
    for chat_id in chats:
        await astore.write(Store.ensure_chat, chat_id, "private", None, T0, "UTC", "09:00")
    push_at = T0 + timedelta(days=1)
    day = date(2025, 3, 11)
    pushing = True
    reads = 0

    async def reader() -> None:
        nonlocal reads
        while pushing:
            await astore.read(Store.get_chat, 1 + reads % 2000)
            reads += 1

    reading = asyncio.create_task(reader())
    largest = 0
    for chat_id in chats:
        assert await astore.write(Store.claim_delivery, chat_id, day, f"q-{chat_id % 50}", push_at)
        await astore.write(Store.complete_delivery, chat_id, day, 10_000 + chat_id, push_at)
        largest = max(largest, wal.stat().st_size)
    pushing = False
    await reading
    await astore.close()
    assert reads > 0
    assert 0 < largest < WAL_LIMIT, f"the WAL reached {largest / 2**20:.1f} MB"
