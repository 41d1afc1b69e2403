"""Users: profile upsert and per-user settings."""

from __future__ import annotations

from datetime import datetime

from content.calendar import parse_tz

from . import _rows
from ._base import StoreBase, reads, writes
from ._sql import iso
from .migrations import LEVELS
from .models import Level, User


def check_level(level: str) -> Level:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    return level  # type: ignore[return-value]  # checked against LEVELS just above


class UsersMixin(StoreBase):
    @writes
    def touch_user(
        self, user_id: int, first_name: str | None, username: str | None,
        language: str | None, now: datetime,
    ) -> User:
        """Create or refresh a user from an incoming update.

        Names are overwritten (a removed @username must disappear), a missing
        language code keeps the previous one, and tz/level are never touched:
        they are the user's own settings.
        """
        at = iso(now)
        row = self._one(
            """INSERT INTO users (user_id, first_name, username, language,
                                  created_at, last_seen_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET
                   first_name = excluded.first_name,
                   username = excluded.username,
                   language = COALESCE(excluded.language, users.language),
                   last_seen_at = excluded.last_seen_at
               RETURNING *""",
            (user_id, first_name, username, language, at, at),
        )
        return _rows.user(self._require(row, f"user {user_id}"))

    @reads
    def get_user(self, user_id: int) -> User | None:
        """The user, or None for someone the bot has never seen."""
        row = self._one("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return _rows.user(row) if row is not None else None

    @writes
    def set_user_tz(self, user_id: int, tz: str | None) -> User:
        """Set the user's time zone (None = fall back to the chat's/default).

        Input goes through :func:`content.calendar.parse_tz`, so "+05:30" or
        "europe/berlin" are stored in canonical, reloadable form; an unknown
        zone raises ValueError before anything is written.
        """
        value = parse_tz(tz) if tz is not None else None
        return self._set_user(user_id, "tz", value)

    @writes
    def set_user_level(self, user_id: int, level: str) -> User:
        """Set the question level ('intermediate' | 'advanced' | 'all')."""
        return self._set_user(user_id, "level", check_level(level))

    @writes
    def set_user_day_start_hour(self, user_id: int, hour: int) -> User:
        """Set the hour (0-23) at which the user's day starts for streaks."""
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise ValueError(f"day start hour must be an integer 0..23; got {hour!r}")
        return self._set_user(user_id, "day_start_hour", hour)

    @writes
    def set_user_reminders(self, user_id: int, on: bool) -> User:
        """Turn the evening streak reminder on or off (new users: on). It is
        a nudge the user did not ask for, so one word must stop it."""
        if not isinstance(on, bool):
            raise ValueError(f"reminders must be True or False; got {on!r}")
        return self._set_user(user_id, "reminders", int(on))

    def _set_user(self, user_id: int, column: str, value: object) -> User:
        # column is one of the literals above, never user input
        row = self._one(f"UPDATE users SET {column} = ? WHERE user_id = ? RETURNING *",
                        (value, user_id))
        return _rows.user(self._require(row, f"user {user_id}"))
