"""How far ahead of its handlers the bot takes updates from Telegram.

PTB's Updater puts every update it fetches into the application's `update_queue` and fetches
the next batch at once; with `concurrent_updates` the application turns each queued update
into a task straight away. Nothing pushes back, so after a backlog (the bot was down for an
hour, a class of 500 answers at 9:00) the process holds every pending update Telegram has:
thousands of tasks waiting for one of the 16 concurrency slots. That costs twice:

* **A crash loses them.** PTB confirms a batch to Telegram with its next `getUpdates`, before
  the batch is handled, so a kill -9 loses every fetched update not yet finished.
* **Memory and CPU.** Each waiting update is some 30 live objects; Python's full garbage
  collections walk all of them again and again. Feeding 5,000 answers at once
  (bench/answer_cost.py) the bot held up to 150,000 such objects, and each full collection
  took 40 ms (docs/BENCHMARKS.md).

`BoundedUpdateQueue` is the application's update queue with a limit on updates *in hand*:
put but not yet finished (`task_done`, which PTB calls when an update's handlers returned).
`put` waits while the limit is reached, so the Updater stops fetching and Telegram keeps the
rest of the backlog, unconfirmed, until there is room. Taking updates out stays immediate.

`MAX_IN_HAND` is 200: two full getUpdates batches, over ten times the 16 updates handled at
once. A waiting `put` resumes only once half of them are finished (`RESUME_AT`), so the Updater
fetches a full batch of 100 again instead of waking for every finished update.
"""

from __future__ import annotations

import asyncio

MAX_IN_HAND = 200
RESUME_AT = MAX_IN_HAND // 2


class BoundedUpdateQueue(asyncio.Queue):
    """An unbounded `asyncio.Queue` whose `put` waits while `limit` items are in hand, until no
    more than `resume_at` are.

    An item is in hand from `put` until the `task_done` that finishes it. `put_nowait` never
    waits (nor refuses): it is for callers that must not block, and counts like `put`.
    """

    def __init__(self, limit: int = MAX_IN_HAND, resume_at: int = RESUME_AT):
        if limit < 1:
            raise ValueError(f"limit must be at least 1; got {limit}")
        if not 0 <= resume_at < limit:
            raise ValueError(f"resume_at must be at least 0 and below the limit ({limit}); got {resume_at}")
        super().__init__()
        self.limit = limit
        self.resume_at = resume_at
        self.in_hand = 0
        self._room = asyncio.Event()
        self._room.set()
        self.waiting_puts = 0  # puts waiting for room right now (tests and benchmarks read it)

    async def put(self, item) -> None:
        while self.in_hand >= self.limit:
            self._room.clear()
            self.waiting_puts += 1
            try:
                await self._room.wait()
            finally:
                self.waiting_puts -= 1
        self.put_nowait(item)

    def put_nowait(self, item) -> None:
        super().put_nowait(item)
        self.in_hand += 1

    def task_done(self) -> None:
        super().task_done()  # ValueError when called more often than items were put
        self.in_hand -= 1
        if self.in_hand <= self.resume_at:
            self._room.set()
