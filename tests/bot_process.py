"""The real bot as a child process (`tutor-bot run`) against the in-process fake Bot API server.

Used by the tests that need a real process: kill -9, SIGTERM, and grepping everything the
process writes for the token. The fake server runs in the test's event loop, so every wait here
is an async poll (the loop keeps serving the bot while the test waits), never a blocking sleep.

The command is the `tutor-bot` entry point of the project's virtual environment — what
`uv run tutor-bot run` executes — started directly, so that the pid we signal is the bot's own
(`uv run` would put a uv process in between) and so that a concurrent `uv sync` cannot race the
test. Standard output and error go to one log file (a pipe could fill up and block the bot).

`BotProcesses` (the `bot_processes` fixture) always kills whatever is still running at teardown,
by pid, whatever the test did. The helpers at the end set up and inspect the database of a
process test (chats due for their daily push, deliveries, daily questions sent).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from content.calendar import parse_tz
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


def bot_command() -> list[str]:
    script = shutil.which("tutor-bot", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "bot.cli"]


class BotProcess:
    def __init__(self, tg, db_path: Path, log_path: Path, *, args: tuple[str, ...] = (), **env: str):
        self.tg = tg
        self.db_path = Path(db_path)
        self.log_path = Path(log_path)
        self.args = args
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_BASE_URL": tg.base_url,
            "TUTOR_DB": str(db_path),
            "TUTOR_TICK_SECONDS": "0.2",
            "TUTOR_DEFAULT_TIME": "00:00",
            "TUTOR_MAX_MESSAGES_PER_SECOND": "0",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in env.items()},
        }
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "BotProcess":
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*bot_command(), "run", *self.args],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    async def wait_log(self, text: str, timeout: float = 60.0, *, count: int = 1) -> None:
        """Wait until `text` appears `count` times in the log (fail early if the bot died)."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if not self.running():
                raise AssertionError(f"the bot exited ({self.proc.returncode}) before logging {text!r}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {text!r} in the log:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

    async def started(self, timeout: float = 60.0) -> None:
        """Up and polling: PTB logs "Application started" once the updater runs."""
        await self.wait_log("Application started", timeout)

    def kill(self) -> None:
        """kill -9: no cleanup of any kind in the bot."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: what systemd, Docker and Kubernetes send to stop a service."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGTERM)

    async def exited(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not exit within {timeout}s:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)
        self._close_log()
        return self.proc.returncode

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover — SIGKILL cannot be ignored
                pass
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class BotProcesses:
    """Starts bot processes for one test and kills any still running at teardown."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[BotProcess] = []

    def start(self, tg, *, db_path: Path | None = None, log_name: str | None = None, args: tuple[str, ...] = (), **env) -> BotProcess:
        n = len(self.started) + 1
        proc = BotProcess(
            tg,
            db_path or self.tmp_path / "tutor.db",
            self.tmp_path / (log_name or f"bot-{n}.log"),
            args=args,
            **env,
        )
        self.started.append(proc)
        return proc.start()

    def cleanup(self) -> None:
        for proc in self.started:
            proc.cleanup()


@pytest.fixture
def bot_processes(tmp_path):
    procs = BotProcesses(tmp_path)
    try:
        yield procs
    finally:
        procs.cleanup()


# ---------------------------------------------------------------- database set-up and inspection


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now, so the local day cannot end mid-test."""
    offset = 12 - now.hour  # -11 .. +12, all valid offsets
    return parse_tz(f"{offset:+d}") if offset else "UTC"


def create_due_chats(db_path, n: int, first: int = 700_000) -> list[int]:
    """n private chats, push time 00:00 in a zone where it is noon: all due at once."""
    now = datetime.now(UTC)
    tz = noon_zone(now)
    store = Store.open(db_path)
    try:
        ids = list(range(first, first + n))
        for chat_id in ids:
            store.touch_user(chat_id, f"learner {chat_id}", None, "en", now)
            store.ensure_chat(chat_id, "private", "", now, tz, "00:00")
    finally:
        store.close()
    return ids


def create_learners(db_path, n: int, *, first: int, questions_each: int, first_message: int,
                    question_ids: list[str]) -> dict[int, list[int]]:
    """n registered learners (not subscribed to the push), each with `questions_each` open quiz
    questions (message ids from `first_message` on); returns learner -> question message ids."""
    now = datetime.now(UTC)
    store = Store.open(db_path)
    learners: dict[int, list[int]] = {}
    try:
        for i in range(n):
            user = first + i
            store.touch_user(user, f"learner {i}", None, "en", now)
            store.ensure_chat(user, "private", "", now, "UTC", "09:00")
            store.update_chat_settings(user, now, subscribed=False)
            learners[user] = []
            for k in range(questions_each):
                message_id = first_message + i * questions_each + k
                store.record_question_message(user, message_id, question_ids[(i + k) % len(question_ids)], "quiz", user, now)
                learners[user].append(message_id)
    finally:
        store.close()
    return learners


def bot_message(tg, chat_id: int, message_id: int, *, buttons: list[str] = ()) -> dict:
    """The bot's question message `message_id` as Telegram attaches it to a reply or a press."""
    from tests.fake_telegram import BOT_ID, BOT_USERNAME

    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": tg.chat_of(chat_id),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME},
        "text": "❓ Question",
    }
    if buttons:
        message["reply_markup"] = {"inline_keyboard": [[{"text": d, "callback_data": d} for d in buttons]]}
    return message


def answer(tg, user: int, question_message_id: int, text: str = "it regularises the network and reduces overfitting") -> int:
    """The learner replies to one of their question messages; returns the reply's message id."""
    tg.message(user, text, reply_to=bot_message(tg, user, question_message_id))
    return tg.updates[-1]["message"]["message_id"]


def attempts(db_path) -> Counter:
    """Stored attempts by (user, question message)."""
    with sqlite3.connect(db_path) as conn:
        return Counter(conn.execute("SELECT user_id, question_message_id FROM attempts").fetchall())


def replies(tg) -> Counter:
    """The bot's messages by (chat, the message they reply to)."""
    return Counter((s.chat_id, s.reply_to) for s in tg.sent if s.method == "sendMessage" and s.reply_to is not None)


def pending_updates(db_path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL").fetchone()[0]


def daily_counts(tg, chat_ids) -> Counter:
    wanted = set(chat_ids)
    return Counter(s.chat_id for s in tg.sent if s.method == "sendMessage" and s.chat_id in wanted and "Question of the day" in s.text)


def deliveries(db_path) -> dict[int, tuple[str, int | None]]:
    with sqlite3.connect(db_path) as conn:
        return {chat: (state, msg) for chat, state, msg in conn.execute("SELECT chat_id, state, message_id FROM deliveries")}
