"""The tutor's calendar: local days, push instants, time zones, and parsing what learners type.

Pure functions: no SQL and no clock. Every function that needs "now" takes
it as an argument (an aware datetime, converted to UTC here), so the
scheduler, the streak rules and their tests all agree on one injected time.

Time zones are stored as text. Two kinds of names are accepted:

* IANA names ("Europe/Berlin", "America/New_York", "UTC"), loaded with
  :mod:`zoneinfo` (the ``tzdata`` package supplies the database).
* Fixed offsets written "UTC+05:30" / "UTC-03:00", produced by
  :func:`parse_tz` from user input such as "+05:30", "-3" or "UTC+2", and
  loaded by :func:`zone` itself as a :class:`datetime.timezone`.

Why not ``Etc/GMT-5`` for offsets: the ``Etc/GMT`` zones use the POSIX sign
convention, which is inverted (``Etc/GMT-5`` is UTC+05:00), so storing them
invites sign bugs in every log line and settings screen; they also only
exist for whole hours, which would leave India (+05:30) or Nepal (+05:45)
out. ``Etc/GMT±N`` typed by a user is still accepted as the IANA name it is.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = UTC

# re.ASCII: \d would also match other scripts' digits (Arabic-Indic "12:00"), which the stored form must not hold.
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$", re.ASCII)
_OFFSET = re.compile(r"^(?:(?:UTC|GMT)\s*)?([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE | re.ASCII)
_STORED_OFFSET = re.compile(r"^UTC([+-])(\d{2}):(\d{2})$", re.ASCII)

_TZ_HELP = (
    "use an IANA name like 'Europe/Berlin' or 'Asia/Kolkata', "
    "or a UTC offset like '+05:30', '-3' or 'UTC+2'"
)


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; refuse naive datetimes.

    A naive datetime has no defined instant, and silently reading it as
    local or UTC time is how streak and schedule bugs start.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)


@lru_cache(maxsize=1024)
def zone(tz_name: str) -> tzinfo:
    """Load a stored zone name (IANA or our "UTC±HH:MM") into a tzinfo.

    Cached: the scheduler resolves the same few hundred names over and over.
    Raises ValueError for unknown names, so a bad stored value fails loudly.
    """
    match = _STORED_OFFSET.match(tz_name)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta, tz_name)
    # The canonical spelling first: ZoneInfo reads a file, and file names are case-sensitive here
    # but not on every system, so "europe/berlin" must not depend on the disk.
    name = _iana_by_lower().get(tz_name.lower(), tz_name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz_name!r}: {_TZ_HELP}") from exc


def local_date(now_utc: datetime, tz_name: str, day_start_hour: int = 0) -> date:
    """The user's calendar day for an instant.

    ``day_start_hour`` lets a day start at, say, 04:00: an answer given at
    01:00 local time still belongs to the previous day, which is what a
    night owl expects from a daily streak.
    """
    if not 0 <= day_start_hour <= 23:
        raise ValueError(f"day_start_hour must be 0..23, got {day_start_hour}")
    local = as_utc(now_utc).astimezone(zone(tz_name))
    day = local.date()
    return day - timedelta(days=1) if local.hour < day_start_hour else day


def parse_small_int(text: str, low: int, high: int) -> int | None:
    """A whole number typed by a learner (``/daystart 4``) in ``low..high``, or None for anything
    else. ``str.isdigit`` is true for "①" and "²", on which ``int()`` raises, so only ASCII
    digits count; None lets the caller answer with the usage line."""
    raw = (text or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_push_time(text: str) -> time:
    """Parse "HH:MM" (24-hour clock) into a :class:`datetime.time`."""
    match = _HHMM.match(text or "")
    if not match:
        raise ValueError(f"push time {text!r} is not in HH:MM form, e.g. '09:00' or '18:30'")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"push time {text!r} is out of range: hours 00-23, minutes 00-59")
    return time(hour, minute)


def format_push_time(text: str) -> str:
    """Canonical "HH:MM" form of a push time (so "9:05" is stored as "09:05")."""
    return parse_push_time(text).strftime("%H:%M")


@lru_cache(maxsize=1)
def _iana_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def parse_tz(text: str) -> str:
    """Turn user input into a storable zone name, or raise a helpful ValueError.

    Accepts IANA names (case-insensitively: "europe/berlin" → "Europe/Berlin")
    and UTC offsets ("+05:30", "-3", "UTC+2", "GMT-0330") which become
    "UTC+05:30"-style names that :func:`zone` reloads. A zero offset becomes
    "UTC". Offsets must lie within -12:00..+14:00, the range in civil use.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValueError(f"empty time zone: {_TZ_HELP}")
    if raw.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    match = _OFFSET.match(raw)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if minutes > 59:
            raise ValueError(f"offset {text!r} has {minutes} minutes: {_TZ_HELP}")
        total = (hours * 60 + minutes) * (-1 if sign == "-" else 1)
        if not -12 * 60 <= total <= 14 * 60:
            raise ValueError(f"offset {text!r} is outside -12:00..+14:00: {_TZ_HELP}")
        if total == 0:
            return "UTC"
        return f"UTC{'-' if total < 0 else '+'}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    name = _iana_by_lower().get(raw.lower())
    if name is None:
        raise ValueError(f"unknown time zone {text!r}: {_TZ_HELP}")
    return name


def push_instant(local_day: date, push_time: str, tz_name: str) -> datetime:
    """The UTC instant at which a chat's push for ``local_day`` fires.

    DST-safe: a wall time that falls in a spring-forward gap (02:30 on the
    night Berlin jumps from 02:00 to 03:00) fires at the first valid instant
    after the gap (03:00 local); a wall time that occurs twice in a fall-back
    fold fires at its first occurrence.
    """
    tz = zone(tz_name)
    wall = datetime.combine(local_day, parse_push_time(push_time))
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)  # exists (first occurrence if folded)
    return _end_of_gap(wall, tz)


def _end_of_gap(wall: datetime, tz: tzinfo) -> datetime:
    """First instant whose local wall time is at or after ``wall`` (a gap time).

    fold=0 and fold=1 map a gap time to instants on either side of the
    transition; bisect over whole seconds (transitions fall on whole
    seconds) to find the transition itself.
    """
    ends = [int(wall.replace(tzinfo=tz, fold=f).timestamp()) for f in (0, 1)]
    low, high = min(ends), max(ends)  # local(low) < wall <= local(high)
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


MIN_PUSH_GAP = timedelta(hours=12)  # two daily questions are never closer than this


def next_push_at(
    now_utc: datetime,
    tz_name: str,
    push_time: str,
    last_delivered_local_date: date | None,
    last_sent_at: datetime | None = None,
) -> datetime:
    """The earliest instant at which a chat becomes due for its daily push.

    Today's push instant if today (in the chat's zone) has no delivery yet,
    even if that instant has already passed: a bot that was down at push
    time catches up as soon as it is back, but only for the same local day,
    so a chat that missed yesterday entirely gets today's push, never
    yesterday's. Otherwise the day after the last delivered one, because
    deliveries are unique per (chat, local date) and that day is taken.

    Never within MIN_PUSH_GAP of the last push (``last_sent_at``): a learner who moves their zone
    east past midnight must not get "tomorrow's" question an hour after today's. The push waits
    until the gap is over, later that local day, or moves to the next day if that day ends first.
    """
    today = local_date(now_utc, tz_name)
    day = today
    if last_delivered_local_date is not None and last_delivered_local_date >= today:
        day = last_delivered_local_date + timedelta(days=1)
    instant = push_instant(day, push_time, tz_name)
    if last_sent_at is None:
        return instant
    earliest = as_utc(last_sent_at) + MIN_PUSH_GAP
    while instant < earliest:
        if local_date(earliest, tz_name) == day:
            return earliest
        day += timedelta(days=1)
        instant = push_instant(day, push_time, tz_name)
    return instant
