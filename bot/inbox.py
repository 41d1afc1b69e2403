"""The durable inbox: an update is written to SQLite before Telegram is told it arrived.

`getUpdates` is at-least-once, and asking for the next offset confirms everything before it. PTB's
Updater confirms a batch on its next call, before the handlers have run, so a crash loses what it
had fetched. Here, instead of the Updater (`ApplicationBuilder().updater(None)`):

1. **fetch** — `getUpdates` returns a batch as raw JSON;
2. **store** — the batch goes into the inbox in one transaction (`Store.inbox_add`; an id seen
   before is skipped: the dedupe);
3. **confirm** — only then does the next `getUpdates` carry the next offset;
4. **handle** — pending updates are parsed one by one (one PTB cannot read is logged by id and
   skipped, never the whole batch), handed to PTB's `process_update` through the application's
   update processor (one learner's updates in order), and marked done when their handlers return.

While the database is slow to store a batch (another process holds the write lock) or cannot
(a full disk), polling does not stop: after `SLOW_STORE` the batch is handled from memory, and
polling goes on *without* confirming it, until it is stored. So a lock delays only the writes
that need it, never /help. A crash before it is stored means Telegram sends it again (a reply
may be repeated; nothing is lost).

On start, whatever a previous run left pending is handled first. Past `LIMIT` pending updates the
fetching pauses, and the backlog waits at Telegram, unconfirmed. On stop, fetching ends at once,
handlers get `GRACE` seconds, and whatever did not finish stays pending for the next start.

A crash after a handler's effects but before its done mark handles that update again on the next
start; the handlers are idempotent where it matters (an answer is stored once per learner and
question message, a daily question once per chat and day): the learner may see a second reply.
docs/RELIABILITY.md measures that window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from storage import StorageError, Store

from . import observability
from .context import TutorApp, services_of

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
LIMIT = 500  # pending updates before fetching pauses
BATCH = 100  # updates read from the inbox at a time (and Telegram's own getUpdates maximum)
POLL_TIMEOUT = 10  # seconds of long polling
GRACE = 5.0  # seconds handlers get to finish on stop
SLOW_STORE = 0.1  # seconds a fetched batch may take to store before it is handled from memory
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
KEEP_DONE = timedelta(days=2)  # done ids kept for the dedupe (Telegram keeps updates 24 hours)


def parse_update(payload: str, bot: Any, update_id: int) -> Update | None:
    """One update as PTB reads it; None (logged by id, never by content) if it cannot."""
    try:
        return Update.de_json(json.loads(payload), bot)
    except Exception as exc:  # noqa: BLE001 — anything PTB's parser raises
        log.warning("update %s could not be read (%s); skipped", update_id, exc.__class__.__name__)
        return None


# ---------------------------------------------------------------- learner order
# One learner's updates are handled one at a time, in the order Telegram sent them. Updates of
# different people run concurrently (PTB's update processor caps how many at once), so without
# this two updates from one person race: "Next" pressed and, before its send returns, "Yes, erase
# everything" pressed on an older message; or an answer typed while the previous one is still being
# graded. The turn is taken *before* the update goes to PTB's processor, so one person sending 300
# messages waits in one queue and holds no concurrency slot meanwhile.


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


class Inbox:
    """Fetches into SQLite, then dispatches from it. One per running application."""

    def __init__(self, application: TutorApp, *, poll_timeout: int = POLL_TIMEOUT, limit: int = LIMIT) -> None:
        self.application = application
        self.poll_timeout = poll_timeout
        self.limit = limit
        self.offset = 0
        self.in_flight: set[int] = set()
        # Ids finished while the dispatcher's read of the pending rows was under way: that read
        # may predate their done mark, and must not hand them out a second time.
        self._finished_during_read: set[int] = set()
        self._unstored: dict[int, str] = {}  # polled, not yet stored (so not confirmed): id -> JSON
        self._memory: set[int] = set()  # handled from memory, not yet marked done
        self._memory_done: set[int] = set()  # of those, finished before they were stored
        self._storing: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.turns = LearnerTurns()
        self.failed_fetches = 0

    @property
    def store(self) -> Any:
        return services_of(self.application).store

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, poll: bool = True) -> None:
        """Dispatch what is pending, then (with `poll`) fetch from Telegram."""
        self._wake.set()
        self._tasks.append(asyncio.create_task(self._dispatch_forever(), name="inbox-dispatch"))
        if poll:
            self._tasks.append(asyncio.create_task(self._fetch_forever(), name="inbox-fetch"))

    async def stop(self, grace: float = GRACE) -> None:
        """Stop fetching now; let running handlers finish for `grace` seconds; leave the rest pending."""
        self._stopping = True
        for task in [*self._tasks, *([self._storing] if self._storing else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._handlers:
            done, running = await asyncio.wait(set(self._handlers), timeout=grace)
            for task in running:
                task.cancel()
            if running:
                log.info("stopping: %d update(s) left pending for the next start", len(running))
                await asyncio.gather(*running, return_exceptions=True)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until nothing is pending or being handled (tests and benchmarks)."""
        async def idle() -> None:
            while True:
                self._idle.clear()
                if not self.in_flight and not await self.store.read(Store.inbox_size):
                    return
                await self._idle.wait()

        await asyncio.wait_for(idle(), timeout)

    # ------------------------------------------------------------------ intake
    async def accept(self, raw_updates: list[Any]) -> int:
        """Store a batch (from getUpdates or a webhook); the caller confirms it only after this returns."""
        items = [(u["update_id"], json.dumps(u)) for u in raw_updates
                 if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        if not items:
            return 0
        added: int = await self.store.write(Store.inbox_add, items, services_of(self.application).clock())
        self.offset = max(self.offset, max(update_id for update_id, _ in items) + 1)
        self._wake.set()
        return added

    async def _fetch_forever(self) -> None:
        bot = self.application.bot
        failures = 0
        while not self._stopping:
            await self._room.wait()
            try:
                with warnings.catch_warnings():  # PTB suggests get_updates, which parses the batch as one
                    warnings.simplefilter("ignore")
                    batch = await bot.do_api_request(
                        "get_updates",
                        api_kwargs={"offset": self.offset, "timeout": 0 if self._unstored else self.poll_timeout,
                                    "allowed_updates": ALLOWED_UPDATES, "limit": BATCH},
                        read_timeout=self.poll_timeout + 10,
                    )
                failures = 0
                await self._take(batch if isinstance(batch, list) else [])
            except (InvalidToken, Conflict) as exc:
                log.error("getUpdates refused: %s", exc.__class__.__name__)
                failures += 1
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF)) - 1])
            except (NetworkError, TelegramError, StorageError) as exc:
                # Not stored means not confirmed: Telegram keeps the batch, and the next try gets it again.
                failures += 1
                self.failed_fetches += 1
                delay = BACKOFF[min(failures, len(BACKOFF)) - 1]
                log.warning("fetching updates failed (%s); retry in %.0f s", exc.__class__.__name__, delay)
                await asyncio.sleep(delay)

    async def _take(self, raw_updates: list[Any]) -> None:
        """Polled updates: store them, then confirm them (the next offset). If the store takes
        longer than `SLOW_STORE`, handle them from memory and return, to poll again meanwhile."""
        for raw in raw_updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if isinstance(update_id, int) and update_id >= self.offset:
                self._unstored.setdefault(update_id, json.dumps(raw))
        if not self._unstored:
            return
        storing = self._storing
        if storing is None:
            storing = self._storing = asyncio.create_task(self._store_unstored(), name="inbox-store")
        done, _ = await asyncio.wait({storing}, timeout=SLOW_STORE)
        if not done:
            self._handle_from_memory()
            await asyncio.wait({storing}, timeout=SLOW_STORE)  # then poll again, for newer updates

    async def _store_unstored(self) -> None:
        """Store what was polled (retrying with backoff while storage fails); then confirm it, and
        mark done what was handled from memory meanwhile."""
        failures = 0
        try:
            while self._unstored and not self._stopping:
                items = sorted(self._unstored.items())
                try:
                    await self.store.write(Store.inbox_add, items, services_of(self.application).clock())
                except StorageError as exc:
                    failures += 1
                    delay = BACKOFF[min(failures, len(BACKOFF)) - 1]
                    log.warning("storing %d update(s) failed (%s); handling them from memory, retry in %.0f s",
                                len(items), exc, delay)
                    self._handle_from_memory()
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                for update_id, _ in items:
                    self._unstored.pop(update_id, None)
                self.offset = max(self.offset, items[-1][0] + 1)
                for update_id in [i for i, _ in items if i in self._memory_done]:
                    await self._mark_done(update_id)
                    self._memory_done.discard(update_id)
                    self._memory.discard(update_id)
                    self._finished_during_read.add(update_id)
                self._wake.set()
        finally:
            self._storing = None

    def _handle_from_memory(self) -> None:
        for update_id, payload in sorted(self._unstored.items()):
            if update_id not in self._memory and update_id not in self.in_flight:
                self._memory.add(update_id)
                self._start(update_id, payload, stored=False)

    def _start(self, update_id: int, payload: str | None, *, stored: bool = True) -> None:
        self.in_flight.add(update_id)
        task = asyncio.create_task(self._handle(update_id, payload, stored=stored), name=f"update-{update_id}")
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    # ------------------------------------------------------------------ handling
    async def _dispatch_forever(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            self._finished_during_read.clear()
            try:
                pending = await self.store.read(Store.inbox_pending, BATCH + len(self.in_flight))
            except StorageError as exc:
                log.warning("reading the inbox failed (%s); retry in 1 s", exc.__class__.__name__)
                await asyncio.sleep(1.0)
                self._wake.set()
                continue
            new = [item for item in pending if item.update_id not in self.in_flight
                   and item.update_id not in self._finished_during_read and item.update_id not in self._memory]
            backlog = len(pending)
            observability.set_inbox_depth(backlog)
            if backlog >= self.limit:
                self._room.clear()
            else:
                self._room.set()
            for item in new:
                self._start(item.update_id, item.payload)
            if not new and not self.in_flight:
                self._idle.set()

    async def _handle(self, update_id: int, payload: str | None, *, stored: bool = True) -> None:
        app = self.application
        try:
            update = parse_update(payload or "{}", app.bot, update_id)
            if update is not None:
                observability.count_update(observability.update_kind(update))
                async with self.turns.turn(learner_key(update)):
                    await app.update_processor.process_update(update, app.process_update(update))
            if stored or update_id not in self._unstored:
                await self._mark_done(update_id)
                self._memory.discard(update_id)
            else:
                self._memory_done.add(update_id)  # marked done once stored (_store_unstored)
        finally:
            self.in_flight.discard(update_id)
            self._finished_during_read.add(update_id)
            self._wake.set()
            if not self.in_flight:
                self._idle.set()

    async def _mark_done(self, update_id: int) -> None:
        now = services_of(self.application).clock()
        for delay in (*BACKOFF, None):
            try:
                await self.store.write(Store.inbox_done, update_id, now)
                return
            except StorageError as exc:
                if delay is None:
                    raise
                log.warning("marking update %s done failed (%s); retry in %.0f s", update_id, exc.__class__.__name__, delay)
                await asyncio.sleep(delay)

    async def prune(self) -> int:
        """Forget done ids older than the dedupe window (a daily job)."""
        now = services_of(self.application).clock()
        pruned: int = await self.store.write(Store.prune_inbox, now - KEEP_DONE)
        return pruned
