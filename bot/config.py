"""Configuration from environment variables (see the README's table).

Parsed once at start-up into a frozen `Config`; a bad value stops the bot with one clear line
rather than failing later in the middle of a daily push.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .observability import log_format_from_env, metrics_address

T = TypeVar("T")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable and never its secret value."""


@dataclass(frozen=True)
class Config:
    token: str
    base_url: str | None = None
    db_path: str = "tutor.db"
    tick_seconds: float = 60.0
    default_time: str = "09:00"
    default_tz: str = "UTC"
    log_level: str = "INFO"
    max_messages_per_second: float = 30.0
    paid_broadcast: bool = False
    owner_ids: frozenset[int] = frozenset()  # TUTOR_OWNER_IDS: who may use /admin and /announce
    log_format: str = "text"  # LOG_FORMAT: text or json (one JSON object per line)
    metrics: tuple[str, int] | None = None  # TUTOR_METRICS_ADDR / TUTOR_METRICS_PORT: Prometheus endpoint

    def __repr__(self) -> str:  # never print the token, even in a debugger or a crash dump
        return f"Config(db_path={self.db_path!r}, base_url={self.base_url!r}, tick_seconds={self.tick_seconds})"


_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_TRUE = {"1", "true", "yes", "on"}


def _float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    env: Mapping[str, str] = os.environ if environ is None else environ
    token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it")
    default_time = env.get("TUTOR_DEFAULT_TIME") or "09:00"
    m = _TIME_RE.match(default_time)
    if not m:
        raise ConfigError(f"TUTOR_DEFAULT_TIME must be HH:MM (e.g. 09:00), got {default_time!r}")
    default_tz = env.get("TUTOR_DEFAULT_TZ") or "UTC"
    try:
        ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TUTOR_DEFAULT_TZ must be an IANA time zone like Europe/Berlin, got {default_tz!r}") from None
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return Config(
        token=token,
        base_url=(env.get("TELEGRAM_BASE_URL") or None),
        db_path=env.get("TUTOR_DB") or "tutor.db",
        tick_seconds=_float(env, "TUTOR_TICK_SECONDS", 60.0, 0.05),
        default_time=f"{int(m.group(1)):02d}:{m.group(2)}",
        default_tz=default_tz,
        log_level=level,
        max_messages_per_second=_float(env, "TUTOR_MAX_MESSAGES_PER_SECOND", 30.0, 0.0),
        paid_broadcast=(env.get("TUTOR_PAID_BROADCAST") or "").strip().lower() in _TRUE,
        owner_ids=_ids(env, "TUTOR_OWNER_IDS"),
        log_format=_checked(log_format_from_env, env),
        metrics=_checked(metrics_address, env),
    )


def _checked(parse: Callable[[Mapping[str, str]], T], env: Mapping[str, str]) -> T:
    try:
        return parse(env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    """Comma- or space-separated Telegram user ids."""
    raw = (env.get(name) or "").replace(",", " ").split()
    if not all(item.lstrip("-").isascii() and item.lstrip("-").isdigit() for item in raw):
        raise ConfigError(f"{name} must be Telegram user ids separated by commas, e.g. 12345,67890")
    return frozenset(int(item) for item in raw)
