"""`tutor-bot doctor`: what an owner checks when the bot is quiet, one line per check.

Every check returns a :class:`Check`; a failed one carries the fix. Nothing here changes data: the
database is opened without creating it and never migrated (storage/backup.py), the Bot API is
only asked ``getMe`` and ``getWebhookInfo``. The token is never printed: exception messages from
PTB may quote it (``Bot.initialize`` does), so every line is redacted before it is shown.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from storage.backup import DatabaseFacts

from .observability import redact

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
MIB = 1024 * 1024


class Status(Enum):
    OK = "✓"
    FAILED = "✗"
    SKIPPED = "–"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    # 2 when the database is missing: like every read-only tool (bot/cli.py), doctor then
    # exits 2; any other failure exits 1.
    exit_code: int = 1

    @classmethod
    def ok(cls, name: str, detail: str) -> Check:
        return cls(name, Status.OK, detail)

    @classmethod
    def failed(cls, name: str, detail: str, fix: str, exit_code: int = 1) -> Check:
        return cls(name, Status.FAILED, detail, fix, exit_code)

    @classmethod
    def skipped(cls, name: str, detail: str) -> Check:
        return cls(name, Status.SKIPPED, detail)

    def line(self) -> str:
        """One line, whatever the detail quotes (an exception message may span several)."""
        text = f"{self.status.value} {self.name}: {self.detail}"
        if self.status is Status.FAILED:
            text += f" — fix: {self.fix}"
        return " ".join(text.split())


@dataclass(frozen=True)
class Limits:
    """Where a healthy value ends. Free space: SQLite needs room to grow the file and its WAL,
    and a backup next to it needs as much again. WAL: the bot checkpoints continuously, so a
    large WAL means something keeps checkpoints from finishing."""

    min_free_bytes: int = 256 * MIB
    max_wal_bytes: int = 64 * MIB
    telegram_timeout: float = 10.0
    # In webhook mode, a delivery error newer than this is reported as a failure.
    recent_webhook_error: timedelta = timedelta(minutes=15)


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed; 2 when the database is missing; 1 otherwise."""
    codes = [c.exit_code for c in checks if c.status is Status.FAILED]
    return max(codes) if codes else 0


async def run_checks(
    env: Mapping[str, str],
    *,
    db_path: str | Path,
    questions: Path,
    topics: Path,
    webhook_url: str | None = None,
    limits: Limits = Limits(),
    now: datetime | None = None,
) -> list[Check]:
    """Every check, in the order an owner would fix things: settings, Telegram, database,
    content. A check that crashes becomes a failed line: doctor is what an owner runs when
    something is wrong, so it must report, never stop at a traceback."""
    token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
    checks = _guarded("settings", token, lambda: [check_config(env, db_path)])
    if token:
        try:
            checks += await check_telegram(
                token, env.get("TELEGRAM_BASE_URL") or None, webhook_url=webhook_url, limits=limits,
                now=now or datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 — reported as a failed check
            checks.append(_crashed("Telegram", exc, token))
    else:
        checks.append(Check.skipped("Telegram", "not checked without a token"))
    checks += _guarded("database", token, lambda: check_database(db_path, limits))
    checks += _guarded("question bank", token, lambda: [check_bank(questions, topics)])
    return checks


def _guarded(name: str, token: str, run: Callable[[], list[Check]]) -> list[Check]:
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 — reported as a failed check
        return [_crashed(name, exc, token)]


def _crashed(name: str, exc: Exception, token: str) -> Check:
    detail = " ".join(f"the check itself failed: {exc.__class__.__name__}: {exc}".split())
    return Check.failed(name, redact(detail, [token]), "a bug in the bot or its files: run `tutor-bot doctor` "
                        "again after reinstalling; report it with this line if it stays")


def check_config(env: Mapping[str, str], db_path: str | Path) -> Check:
    from .config import ConfigError, load_config

    try:
        load_config(dict(env))
    except ConfigError as exc:  # its messages name the variable, never a secret's value
        return Check.failed("settings", str(exc), "set it in the environment file the service reads "
                            "(deploy/tutor-bot.env.example lists every setting)")
    where = Path(db_path)
    note = "" if where.is_absolute() else " (a relative path: it depends on the directory the bot starts in)"
    return Check.ok("settings", f"token set; database {where.absolute()}{note}")


async def check_telegram(
    token: str, base_url: str | None, *, webhook_url: str | None, limits: Limits, now: datetime
) -> list[Check]:
    """Reachability, the token (``getMe``) and the webhook (``getWebhookInfo``), through PTB's
    public Bot API with the same base URL the bot uses."""
    api_url = base_url or DEFAULT_BASE_URL
    host = urlsplit(api_url).netloc or api_url
    timeout = limits.telegram_timeout
    bot = Bot(
        token,
        request=HTTPXRequest(connection_pool_size=2, connect_timeout=timeout, read_timeout=timeout,
                             write_timeout=timeout, pool_timeout=timeout),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        base_url=api_url,
        base_file_url=api_url.replace("/bot", "/file/bot"),  # as bot/app.py derives it
    )
    try:
        checks = await _ask_telegram(bot, host, base_url, webhook_url, limits, now)
    finally:
        await bot.shutdown()
    return [Check(c.name, c.status, redact(c.detail, [token]), redact(c.fix, [token]), c.exit_code)
            for c in checks]


async def _ask_telegram(
    bot: Bot, host: str, base_url: str | None, webhook_url: str | None, limits: Limits, now: datetime
) -> list[Check]:
    started = time.monotonic()
    try:
        await bot.initialize()  # getMe
    except InvalidToken:
        # Telegram answers 401 (revoked) or 404 (malformed): it is reachable. PTB's message
        # quotes the token, so it is not shown.
        return [
            Check.ok("Telegram reachable", f"{host} answered"),
            Check.failed(
                "token", "Telegram rejected TELEGRAM_BOT_TOKEN (revoked, mistyped or cut short?)"
                + ("; or TELEGRAM_BASE_URL is not a Bot API server" if base_url else ""),
                "copy the current token from @BotFather (/mybots → API Token) into TELEGRAM_BOT_TOKEN"),
        ]
    except NetworkError as exc:
        return [
            Check.failed(
                "Telegram reachable", f"no answer from {host} ({exc.__class__.__name__}: {exc})",
                "check this machine's network, DNS, firewall or proxy"
                + (" and TELEGRAM_BASE_URL" if base_url else "")
                + "; the bot retries by itself once the network is back"),
            Check.skipped("token", "not checked: Telegram did not answer"),
        ]
    except TelegramError as exc:
        return [Check.failed("Telegram reachable", f"{host}: {exc.__class__.__name__}: {exc}",
                             "try again in a minute; Telegram may have a problem")]
    elapsed_ms = (time.monotonic() - started) * 1000
    me = bot.bot
    return [
        Check.ok("Telegram reachable", f"{host} answered in {elapsed_ms:.0f} ms"),
        Check.ok("token", f"@{me.username} (id {me.id})"),
        await _check_webhook(bot, webhook_url, limits, now),
    ]


async def _check_webhook(bot: Bot, webhook_url: str | None, limits: Limits, now: datetime) -> Check:
    try:
        info = await bot.get_webhook_info()
    except TelegramError as exc:
        return Check.failed("webhook", f"getWebhookInfo failed ({exc.__class__.__name__}: {exc})",
                            "try again in a minute")
    pending = f"{info.pending_update_count} update(s) waiting"
    if webhook_url is None:
        if info.url:
            return Check.failed(
                "webhook", f"a webhook is set ({info.url}) but the bot polls; {pending}",
                "if another deployment uses this token in webhook mode, stop it or give this bot its own "
                "token (/newbot); otherwise the bot deletes the webhook when it starts polling")
        return Check.ok("webhook", f"none set (the bot polls); {pending}")
    if info.url != webhook_url:
        current = info.url or "none"
        return Check.failed("webhook", f"Telegram has {current}, not {webhook_url}; {pending}",
                            "start the bot with `tutor-bot run --webhook-url URL`: it sets the webhook")
    error_at = info.last_error_date
    if info.last_error_message and error_at is not None and now - error_at < limits.recent_webhook_error:
        return Check.failed(
            "webhook", f"{info.url}: Telegram's last delivery failed at {error_at:%H:%M} UTC "
            f"({info.last_error_message}); {pending}",
            "the URL must answer HTTPS from the internet and forward to the bot's --listen/--port")
    return Check.ok("webhook", f"{info.url}; {pending}")


def check_database(db_path: str | Path, limits: Limits) -> list[Check]:
    """Existence, integrity, schema version, free disk space and WAL size; nothing created."""
    from storage.backup import DatabaseProblem, MissingDatabase, code_schema_version, inspect_database
    from storage.db import APPLICATION_ID

    path = Path(db_path).absolute()
    checks: list[Check] = []
    try:
        facts = inspect_database(path)
    except MissingDatabase as exc:
        checks.append(Check.failed(
            "database", str(exc),
            "point TUTOR_DB (or --db) at the bot's database by its absolute path; a new bot creates "
            "it on first start", exit_code=2))
        return checks + _disk_checks(path, limits)
    except DatabaseProblem as exc:
        checks.append(Check.failed("database", str(exc), _RESTORE))
        return checks + _disk_checks(path, limits)
    if facts.integrity_problems:
        checks.append(Check.failed("database", f"{path} is corrupt: {'; '.join(facts.integrity_problems)}", _RESTORE))
    else:
        checks.append(Check.ok("database", f"{path}, integrity ok, {_size(path.stat().st_size)}"))
        checks.append(_check_schema(facts, code_schema_version(), APPLICATION_ID))
    return checks + _disk_checks(path, limits)


_RESTORE = ("stop the bot, keep the damaged file for inspection, and restore the newest good backup "
            "(\"Backups and restore\" in the owner's guide)")


def _check_schema(facts: DatabaseFacts, code_version: int, expected_id: int) -> Check:
    app_id = facts.application_id
    if app_id not in (0, expected_id):
        return Check.failed("schema", f"application_id {app_id:#x}: this SQLite file belongs to another program",
                            "point TUTOR_DB at the bot's own database")
    version = facts.schema_version
    if version > code_version:
        return Check.failed(
            "schema", f"version {version}, newer than this code's {code_version}: the bot will refuse it",
            "upgrade the bot to the version that wrote it, or restore a backup made by this version")
    if version < code_version:
        return Check.ok("schema", f"version {version}; the bot migrates it to {code_version} when it starts "
                                  "(back it up first: tutor-bot backup PATH)")
    return Check.ok("schema", f"version {version}, as this code expects")


def _disk_checks(path: Path, limits: Limits) -> list[Check]:
    checks: list[Check] = []
    directory = path.parent
    if directory.is_dir():
        usage = shutil.disk_usage(directory)
        size = path.stat().st_size if path.is_file() else 0
        wal = path.with_name(path.name + "-wal")
        wal_size = wal.stat().st_size if wal.is_file() else 0
        needed = max(limits.min_free_bytes, size + wal_size)
        if usage.free < needed:
            checks.append(Check.failed(
                "disk space", f"{_size(usage.free)} free in {directory}, less than {_size(needed)}",
                "free space on that file system (old backups, logs: journalctl --vacuum-size=…); "
                "the database, its WAL and a backup need room to grow"))
        else:
            checks.append(Check.ok("disk space", f"{_size(usage.free)} free in {directory}"))
        if path.is_file():
            if wal_size > limits.max_wal_bytes:
                checks.append(Check.failed(
                    "WAL", f"{wal.name} is {_size(wal_size)}",
                    "a long read (an open sqlite3 shell, a stuck backup) keeps checkpoints from finishing: "
                    "close it; the file is removed when the bot stops cleanly"))
            else:
                what = f"{_size(wal_size)}" if wal.is_file() else "no WAL file (the bot is not running)"
                checks.append(Check.ok("WAL", what))
    else:
        checks.append(Check.failed("disk space", f"the directory {directory} does not exist",
                                   "create it, owned by the bot's user, or fix TUTOR_DB"))
    return checks


def check_bank(questions: Path, topics: Path) -> Check:
    from content import read_bank

    bank, problems = read_bank(questions, topics)
    if problems:
        return Check.failed("question bank", f"{len(problems)} problem(s), first: {problems[0]}",
                            "run `tutor-bot content check` and fix the files it names; "
                            "the bot refuses to start on a broken bank")
    return Check.ok("question bank", f"{len(bank)} questions, {len(bank.topics)} topics")


def _size(n: int) -> str:
    if n >= 1024 * MIB:
        return f"{n / (1024 * MIB):.1f} GiB"
    if n >= MIB:
        return f"{n / MIB:.1f} MiB"
    return f"{n / 1024:.0f} KiB"
