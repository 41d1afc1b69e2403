"""The durable inbox: Telegram updates written down before they are confirmed (issue 18).

The bot writes each fetched batch with :meth:`inbox_add` (one transaction) before it asks
Telegram for the next offset (or, with a webhook, before it answers 200), handles what
:meth:`inbox_pending` returns, and marks each update :meth:`inbox_done`. A crash in between
leaves the update pending, and the next start handles it. An id already in the inbox, pending
or done, is not added again: that is the dedupe by update id (Telegram delivers at least
once). Done rows keep only the id (the payload may hold a learner's reply) until
:meth:`prune_inbox` deletes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from . import _rows
from ._base import StoreBase, reads, writes
from ._sql import iso
from .models import InboxItem


class InboxMixin(StoreBase):
    @writes
    def inbox_add(self, updates: Sequence[tuple[int, str]], now: datetime) -> int:
        """Write ``(update_id, JSON text)`` pairs as pending, in one transaction; ids already
        in the inbox (pending or done) are skipped. Returns how many were added."""
        at = iso(now)
        with self._tx():
            added = 0
            for update_id, payload in updates:
                added += self._exec(
                    """INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)
                       ON CONFLICT (update_id) DO NOTHING""",
                    (int(update_id), str(payload), at),
                ).rowcount
            return added

    @reads
    def inbox_pending(self, limit: int = 100) -> list[InboxItem]:
        """Updates not yet handled, oldest (lowest update id) first."""
        return [_rows.inbox_item(row) for row in self._all(
            """SELECT update_id, payload, received_at FROM inbox
               WHERE done_at IS NULL ORDER BY update_id LIMIT ?""",
            (limit,),
        )]

    @writes
    def inbox_done(self, update_id: int, now: datetime) -> bool:
        """Mark an update handled (and forget its payload); True if it was pending."""
        return self._mark_done(update_id, now)

    @reads
    def inbox_size(self) -> int:
        """How many updates wait to be handled (the bound the bot fetches against)."""
        return int(self._scalar("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL"))

    @writes
    def prune_inbox(self, older_than: datetime) -> int:
        """Delete done rows handled before ``older_than``; how many went. Pending rows stay."""
        return self._exec("DELETE FROM inbox WHERE done_at < ?", (iso(older_than),)).rowcount

    @writes
    def seen_update(self, update_id: int, now: datetime) -> bool:
        """True the first time an update id is seen, False for a re-delivery: the dedupe for
        an update that does not go through the inbox (it is recorded as done at once)."""
        return self._exec(
            """INSERT INTO inbox (update_id, payload, received_at, done_at) VALUES (?, NULL, ?, ?)
               ON CONFLICT (update_id) DO NOTHING""",
            (update_id, iso(now), iso(now)),
        ).rowcount > 0
