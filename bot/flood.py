"""Flood control: a user sending more than 20 updates in 10 seconds is ignored for a minute.

Kept in memory on purpose: it protects this process's event loop and Telegram quota, and a
restart that forgets a mute is harmless.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(seconds=10)
LIMIT = 20
MUTE = timedelta(seconds=60)
PRUNE_EVERY = 1000  # hits between sweeps of idle users: memory follows the users active right now


class FloodGuard:
    def __init__(self, limit: int = LIMIT, window: timedelta = WINDOW, mute: timedelta = MUTE):
        self.limit, self.window, self.mute = limit, window, mute
        self.recent: dict[int, deque[datetime]] = {}
        self.muted_until: dict[int, datetime] = {}
        self.hits = 0

    def hit(self, user_id: int, now: datetime) -> str:
        """Count one update: "ok", "notify" (just muted: tell them once) or "ignore"."""
        self.hits += 1
        if self.hits % PRUNE_EVERY == 0:
            self.prune(now)
        until = self.muted_until.get(user_id)
        if until is not None:
            if now < until:
                return "ignore"
            del self.muted_until[user_id]
        times = self.recent.setdefault(user_id, deque())
        times.append(now)
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) > self.limit:
            self.muted_until[user_id] = now + self.mute
            times.clear()
            return "notify"
        return "ok"

    def prune(self, now: datetime) -> None:
        """Forget users idle for longer than the window, and mutes that have run out."""
        for uid in [u for u, t in self.recent.items() if not t or now - t[-1] > self.window]:
            del self.recent[uid]
        for uid in [u for u, until in self.muted_until.items() if until <= now]:
            del self.muted_until[uid]
