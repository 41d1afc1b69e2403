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
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
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

    def start(self) -> BotProcess:
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


# ---------------------------------------------------------------- kill -9 during a burst


@dataclass
class BurstResult:
    """What `kill_burst` measured: updates sent, replies per message, presses answered."""

    updates: int
    killed_at: list[int]  # updates handled when each kill came
    held_back: int  # verdicts a kill caught after the answer was stored; sent with the next message
    unanswered: Counter  # by kind: updates that never got a reply (must be empty)
    duplicates: int  # extra replies (a reply sent, then the kill before its update was marked done)
    duplicates_by_kind: Counter
    starters_not_subscribed: int
    answers_not_stored: int
    answers_stored_twice: int
    seconds: float


async def kill_burst(tg, processes: BotProcesses, db_path, *, starts: int, learners: int, pressers: int,
                     kills: int, question_ids: list[str], seed: int = 18, per_second: float = 100.0) -> BurstResult:
    """New users' /start, answers (two per learner) and hint presses (two per presser) arrive at
    `per_second`, shuffled; the real bot is killed -9 `kills` times at random moments of the burst
    (by how much it has handled) and restarted at once. Then every learner whose answer got no
    reply writes again (a verdict held back by a kill comes with the next message)."""
    started = time.monotonic()
    open_questions = create_learners(db_path, learners, first=820_000, questions_each=2, first_message=92_000_000,
                                     question_ids=question_ids)
    rng = random.Random(seed)
    script: list[tuple] = [("start", 30_000_000 + i) for i in range(starts)]
    script += [("answer", user, qmsg) for user, qmsgs in open_questions.items() for qmsg in qmsgs]
    script += [("press", user, qmsg) for user, qmsgs in list(open_questions.items())[:pressers] for qmsg in qmsgs]
    rng.shuffle(script)
    messages: dict[tuple[int, int], str] = {}  # (chat, message id) -> kind
    presses: set[str] = set()  # callback query ids

    def feed(step) -> None:
        kind, user, *rest = step
        if kind == "start":
            tg.message(user, "/start")
            messages[(user, tg.updates[-1]["message"]["message_id"])] = kind
        elif kind == "answer":
            messages[(user, answer(tg, user, rest[0]))] = kind
        else:
            tg.press(user, bot_message(tg, user, rest[0], buttons=["q:hint"]), "q:hint")
            presses.add(tg.updates[-1]["callback_query"]["id"])

    def late(user: int) -> bool:
        return any("was graded" in s.text for s in tg.messages_to(user))

    def handled(held: list | tuple = ()) -> int:
        got = replies(tg)
        pressed = {a.get("callback_query_id") for a in tg.callback_answers}
        return (sum(1 for key in messages if got[key]) + len(presses & pressed)
                + sum(1 for key in held if not got[key] and late(key[0])))

    async def feeder():
        for step in script:
            feed(step)
            await asyncio.sleep(1 / per_second)  # pacing the load, not waiting for the bot

    bot = processes.start(tg, db_path=db_path)
    stream = asyncio.create_task(feeder())
    killed_at: list[int] = []
    try:
        for threshold in sorted(rng.sample(range(10, max(11, len(script) * 3 // 4)), kills)):
            await tg.wait_for(lambda t=threshold: handled() >= t, timeout=120, what=f"{threshold} updates handled")
            bot.kill()
            assert await bot.exited(30) == -9
            killed_at.append(handled())
            bot = processes.start(tg, db_path=db_path)
        await stream
    finally:
        stream.cancel()
    await tg.wait_for(lambda: not tg.updates and pending_updates(db_path) == 0, timeout=120, what="the burst handled")
    held = [key for key, kind in messages.items() if kind == "answer" and not replies(tg)[key]]
    for user in {user for user, _ in held}:
        tg.message(user, "thanks")
    try:
        await tg.wait_for(lambda: handled(held) >= len(script), timeout=60, what="a reply to every update")
    except AssertionError:
        pass  # reported in `unanswered`
    bot.terminate()
    assert await bot.exited(30) == 0
    got = replies(tg)
    pressed = Counter(a.get("callback_query_id") for a in tg.callback_answers)
    unanswered = Counter(kind for key, kind in messages.items() if not got[key] and not (kind == "answer" and late(key[0])))
    unanswered += Counter(press=len(presses - set(pressed)))
    with sqlite3.connect(db_path) as conn:
        subscribed = {r[0] for r in conn.execute("SELECT chat_id FROM chats WHERE subscribed = 1 AND status = 'active'")}
    stored = attempts(db_path)
    answered = {(user, rest[0]) for kind, user, *rest in script if kind == "answer"}
    return BurstResult(
        updates=len(script), killed_at=killed_at, held_back=sum(1 for key in held if late(key[0])), unanswered=unanswered,
        duplicates=sum(got[key] - 1 for key in messages if got[key] > 1) + sum(pressed[c] - 1 for c in presses if pressed[c] > 1),
        duplicates_by_kind=Counter(messages[key] for key in messages if got[key] > 1) + Counter(press=sum(1 for c in presses if pressed[c] > 1)),
        starters_not_subscribed=len({u for (u, _), kind in messages.items() if kind == "start"} - subscribed),
        answers_not_stored=len(answered - set(stored)), answers_stored_twice=sum(1 for n in stored.values() if n > 1),
        seconds=time.monotonic() - started,
    )
