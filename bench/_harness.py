"""Shared pieces of the end-to-end benchmarks (fanout, latency).

* `Fake`: the test suite's fake Bot API server (tests/fake_telegram.py; `strict=True` enforces
  Telegram's limits and answers 429 beyond them) plus what a benchmark needs: the moment each
  reply arrives (perf_counter), replies indexed by the message they answer, messages by chat.
* `BotProcess`: the bot (`python -m bot.cli run`) as a child process of *this* Python, so its
  CPU (utime + stime of all its threads, from /proc) and RSS are its own and the fake server's
  work, done here in the benchmark process, is not counted.
* `realistic_reply`: a learner's answer made from a question's model answer and key terms.
* `due_chats_env` / `create_due_chats`: chats whose daily push is due as soon as the bot starts.

The CPU-ratio benchmark against an echo bot (answer_cost.py, compare.py) is retired (issue 16).

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import html
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project root must come before bench/ (which Python puts first when running a script here):
# bench/storage.py would otherwise shadow the storage package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]

from tests.fake_telegram import FakeTelegram, Sent  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------ server
class Fake(FakeTelegram):
    """FakeTelegram that timestamps replies with perf_counter and indexes them."""

    def __post_init__(self):
        super().__post_init__()
        self.by_chat: dict[int, list[Sent]] = defaultdict(list)
        self.reply_at: dict[tuple[int, int], float] = {}  # (chat id, replied-to message id) -> arrival
        self.reply_text: dict[tuple[int, int], str] = {}
        self.send_count = 0
        self.keep_calls = False
        self.peers: dict[int, float] = {}

    async def _handle(self, request):
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.peers[peer[1]] = time.perf_counter()  # client port -> last request on that connection
        response = await super()._handle(request)
        if not self.keep_calls and len(self.calls) > 1000:  # the base class keeps every call
            del self.calls[:-100]
        return response

    async def api_sendMessage(self, params):
        response = await super().api_sendMessage(params)
        now = time.perf_counter()
        sent = self.sent[-1]
        self.send_count += 1
        self.by_chat[sent.chat_id].append(sent)
        to = sent.reply_to
        if to is not None:
            self.reply_at.setdefault((sent.chat_id, to), now)
            self.reply_text.setdefault((sent.chat_id, to), sent.text)
        return response

    def push_message(self, user_id: int, text: str, reply_to: Sent | None = None) -> tuple[int, int]:
        """Queue a private message; returns (update id, message id)."""
        update_id = self.message(user_id, text, reply_to=reply_to)
        return update_id, self.updates[-1]["message"]["message_id"]

    def got_getupdates(self) -> bool:
        return any(m == "getUpdates" for m, _ in self.calls)


async def wait_until(condition, timeout: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(step)


# ------------------------------------------------------------------------------------------ process
def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid` (seconds)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """utime + stime per thread id of `pid` (the main thread's id is `pid`)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def self_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def quiet_push_env(now: datetime | None = None) -> dict[str, str]:
    """Settings under which no chat is due for its daily push during a run.

    A new chat is due at today's push time even when that has passed (catch-up), so pick a time
    zone where it is about noon now and a push time of 23:59: half a day away.
    """
    now = now or datetime.now(UTC)
    offset = (12 - now.hour) % 24
    if offset > 12:
        offset -= 24
    tz = "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT-5 is UTC+5
    return {"TUTOR_DEFAULT_TZ": tz, "TUTOR_DEFAULT_TIME": "23:59", "TUTOR_TICK_SECONDS": "3600"}


class BotProcess:
    """The bot (`python -m bot.cli run`) as a child process."""

    def __init__(self, fake: Fake, *, env: dict[str, str] | None = None, workdir: Path, name: str = "bot"):
        self.fake = fake
        self.name = name
        self.log_path = workdir / f"{self.name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TUTOR_", "TELEGRAM_"))},
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": fake.base_url,
            "TUTOR_DB": str(workdir / "tutor.db"),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def start(self, timeout: float = 60) -> BotProcess:
        cmd = [sys.executable, "-m", "bot.cli", "run"]
        self.fake.calls.clear()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            await wait_until(lambda: self.fake.got_getupdates() or self.proc.poll() is not None, timeout, f"{self.name} to poll")
        except TimeoutError:
            self.kill()
            raise
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
        return self

    def cpu(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_mib(self) -> float:
        return proc_status_kib(self.pid, "VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        return proc_status_kib(self.pid, "VmHWM") / 1024

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def first_traceback(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        for i, line in enumerate(text):
            if line.startswith("Traceback"):
                return "\n".join(text[max(0, i - 1):i + lines])
        return ""

    def log_errors(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]

    async def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.kill()
        self._log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Meter:
    """CPU (of the child and of this process) and wall time over a phase."""

    def __init__(self, bot: BotProcess):
        self.bot = bot

    def __enter__(self) -> Meter:
        self.threads0 = thread_cpu_seconds(self.bot.pid)
        self.wall0, self.cpu0, self.self0 = time.perf_counter(), self.bot.cpu(), self_cpu_seconds()
        self.peers0 = set(self.bot.fake.peers)
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = self.bot.cpu() - self.cpu0
        self.fake_cpu = self_cpu_seconds() - self.self0
        threads = thread_cpu_seconds(self.bot.pid)
        pid = self.bot.pid
        self.main_cpu = threads.get(pid, 0.0) - self.threads0.get(pid, 0.0)
        # other threads: the storage worker (and any executor thread); CPU of threads that ended is lost
        self.other_cpu = sum(c - self.threads0.get(t, 0.0) for t, c in threads.items() if t != pid)
        peers = self.bot.fake.peers
        self.connections_used = sum(1 for at in peers.values() if at >= self.wall0)  # HTTP keep-alive connections
        self.connections_opened = len(set(peers) - self.peers0)


# ------------------------------------------------------------------------------------------ replies
def question_of(bank, text: str):
    """The bank question a question message shows (by its escaped question text)."""
    for q in bank.questions:
        if html.escape(q.question, quote=False) in text:
            return q
    return None


def realistic_reply(q, rng: random.Random) -> str:
    """A learner's answer: a paraphrase of part of the model answer, naming some key ideas by an
    alias, with the odd typo; sometimes the full answer, sometimes a vague miss."""
    sentences = [s.strip() for s in q.answer.replace("\n", " ").split(". ") if s.strip()]
    roll = rng.random()
    if roll < 0.15:  # a vague answer that misses most ideas
        return rng.choice(["I think it helps the model train better and generalise.",
                           "Not sure, something about making the network more stable during training?",
                           "It is a trick to make gradients behave, it improves accuracy on the test set."])
    parts = []
    if roll < 0.30:
        parts.extend(sentences)  # the full model answer, as a learner who knows it cold
    else:
        take = max(1, min(len(sentences), rng.randint(1, 3)))
        parts.extend(sentences[:take])
        terms = list(q.key_terms)
        rng.shuffle(terms)
        named = []
        for term in terms[: rng.randint(1, max(1, len(terms) - 1))]:
            options = [term.term, *term.aliases]
            named.append(rng.choice(options))
        if named:
            parts.append("Basically it is about " + ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1])
    text = ". ".join(parts)
    if rng.random() < 0.5:  # one typo: swap two letters in a longer word
        words = text.split()
        long_words = [i for i, w in enumerate(words) if len(w) > 6 and w.isalpha()]
        if long_words:
            i = rng.choice(long_words)
            w = words[i]
            j = rng.randint(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            text = " ".join(words)
    return text[:1500]


# ------------------------------------------------------------------------------------------ stats
def percentiles(samples: list[float]) -> tuple[float, float, float, float]:
    """p50, p95, p99, max (nearest-rank)."""
    s = sorted(samples)
    pick = lambda p: s[min(len(s) - 1, max(0, int(round(p * len(s) + 0.5)) - 1))]  # noqa: E731
    return statistics.median(s), pick(0.95), pick(0.99), s[-1]


def workdir(prefix: str) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=prefix)


def create_due_chats(db_path: Path, private: int, groups: int = 0, first: int = 5_000_000) -> list[int]:
    """`private` chats and `groups` groups, all due for their daily push at once (00:00 in a zone
    where it is about noon, so the local day cannot end during a run)."""
    from content.calendar import parse_tz
    from storage.store import Store

    now = datetime.now(UTC)
    offset = 12 - now.hour
    tz = parse_tz(f"{offset:+d}") if offset else "UTC"
    store = Store.open(db_path)
    ids = [first + i for i in range(private)] + [-(first + i) for i in range(groups)]
    try:
        for chat_id in ids:
            if chat_id > 0:
                store.touch_user(chat_id, f"learner {chat_id}", None, "en", now)
            store.ensure_chat(chat_id, "private" if chat_id > 0 else "group", "" if chat_id > 0 else "Study group",
                              now, tz, "00:00")
    finally:
        store.close()
    return ids


def create_learners(db_path: Path, n: int, bank, first: int = 6_000_000, first_message: int = 70_000_000) -> dict[int, tuple[int, object]]:
    """n registered learners (not subscribed), each with one open quiz question: user -> (message id, question)."""
    from storage.store import Store

    now = datetime.now(UTC)
    store = Store.open(db_path)
    out = {}
    try:
        for i in range(n):
            user, question = first + i, bank.questions[i % len(bank.questions)]
            store.touch_user(user, f"learner {i}", None, "en", now)
            store.ensure_chat(user, "private", "", now, "UTC", "09:00")
            store.update_chat_settings(user, now, subscribed=False)
            store.record_question_message(user, first_message + i, question.id, "quiz", user, now)
            out[user] = (first_message + i, question)
    finally:
        store.close()
    return out


def question_message(fake: Fake, chat_id: int, message_id: int) -> dict:
    """The bot's question message as Telegram attaches it to a learner's reply."""
    from tests.fake_telegram import BOT_ID, BOT_USERNAME

    return {"message_id": message_id, "date": int(time.time()), "chat": fake.chat_of(chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME}, "text": "Question"}
