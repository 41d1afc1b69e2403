"""Shared pieces of the end-to-end benchmarks (answer_cost, latency, fanout).

* `Fake`: the test suite's fake Bot API server (tests/fake_telegram.py) plus what a benchmark
  needs: the moment each reply arrives (perf_counter, the same clock as `handed_out`), replies
  indexed by the message they answer, messages indexed by chat (the base class scans a list).
* `BotProcess`: the bot (or the echo baseline) as a child process of *this* Python, so its CPU
  (utime + stime of all its threads, from /proc) and peak RSS are its own and the fake server's
  work, done here in the benchmark process, is not counted.
* `echo_main`: the baseline, a bare python-telegram-bot application that replies with the text
  it got (`python bench/_harness.py echo`), no grading and no storage.
* `realistic_reply`: a learner's answer made from a question's model answer and key terms.

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
    """The bot (`python -m bot.cli run`) or the echo baseline as a child process."""

    def __init__(self, fake: Fake, *, kind: str = "bot", env: dict[str, str] | None = None,
                 workdir: Path, name: str | None = None, tweaks: list[str] | None = None):
        self.fake = fake
        self.tweaks = list(tweaks or [])  # e.g. ["--pool", "8"]: see apply_tweaks
        self.kind = kind
        self.name = name or kind
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

    async def start(self, timeout: float = 60) -> "BotProcess":
        if self.kind == "bot" and not self.tweaks:
            cmd = [sys.executable, "-m", "bot.cli", "run"]
        else:  # the echo baseline, or the bot with framework settings overridden (experiments)
            cmd = [sys.executable, str(Path(__file__).resolve()), self.kind, *self.tweaks]
        self.fake.calls.clear()
        self._log = open(self.log_path, "ab")
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

    def __enter__(self) -> "Meter":
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


# ------------------------------------------------------------------------------------------ echo bot
def echo_main() -> int:
    """The baseline: python-telegram-bot with one MessageHandler that replies with the text.

    Same framework settings as the bot (bot/app.py: 16 concurrent updates, its HTTP layer —
    bot/http.py's JSON bodies on a pool of `bot.http.CONNECTIONS` connections —, polling, link
    previews off) and the same rate limiter configuration (bot.app.rate_limiter, from
    TUTOR_MAX_MESSAGES_PER_SECOND). PTB's own processor runs the 16 updates, not the bot's
    per-learner one, and PTB's own getUpdates and send_message: what the bot does differently
    there (bot/ordering.py, bot/tutor_bot.py) is part of what it costs, or saves.
    """
    import logging

    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters, Update
    from telegram.ext import ApplicationBuilder, Defaults, MessageHandler, filters

    from bot import http
    from bot.config import load_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = load_config()

    pad = int(os.environ.get("BENCH_ECHO_CHARS") or 0)  # experiment: a reply as long as the bot's verdicts

    async def echo(update: Update, context) -> None:
        message = update.effective_message
        extra = {}
        text = message.text
        if pad:  # the text repeated to `pad` characters, as HTML, with one inline button (like a verdict)
            text = html.escape((text + " ") * (pad // max(1, len(text)) + 1), quote=False)[:pad]
            extra = {"parse_mode": "HTML", "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("🙋 I think I was right", callback_data="d:1")]])}
        await context.bot.send_message(
            message.chat_id, text,
            reply_parameters=ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True), **extra,
        )

    builder = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.base_url)
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(16)
        .request(http.JSONRequest(connection_pool_size=http.CONNECTIONS, pool_timeout=5.0))
        .get_updates_request(http.JSONRequest(connection_pool_size=1))
    )
    if os.environ.get("BENCH_ECHO_INTAKE"):  # experiment: the bot's bounded intake (bot/intake.py)
        from bot.intake import BoundedUpdateQueue

        builder = builder.update_queue(BoundedUpdateQueue())
    if config.max_messages_per_second > 0:
        from bot.app import rate_limiter  # the bot's own limiter settings (imported only when used)

        builder = builder.rate_limiter(rate_limiter(config))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=[Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER],
                    drop_pending_updates=False)
    return 0


def worker_store() -> None:
    """Experiment (the baseline for storage/aio.py's ON_LOOP): every AsyncStore call runs on the
    storage worker thread, as all of them did before, none on the event loop."""
    import storage.aio as aio

    open_store = aio.AsyncStore.open.__func__

    async def open_on_worker(cls, path, *, verify=True, on_loop=aio.ON_LOOP):
        return await open_store(cls, path, verify=verify, on_loop=frozenset())

    aio.AsyncStore.open = classmethod(open_on_worker)


def apply_tweaks(argv: list[str]) -> None:
    """Experiments without touching bot/: override PTB settings the code under test chose.

    --pool N           bot.http.CONNECTIONS: the HTTP connection pool of the bot, and of the echo
                       (which uses the bot's request class and pool)
    --concurrency N    ApplicationBuilder.concurrent_updates(N)
    --limiter bucket   the limiter the bot used before bot/ratelimit.py: PTB's AIORateLimiter as a
                       bucket of one (1 message every 1/rate s, 1 every 3 s per group)
    --worker-store     every AsyncStore call runs on the storage thread, none on the event loop
                       (storage/aio.py's ON_LOOP off: what the hand-offs to the thread cost)
    --uvloop           uvloop's event loop instead of asyncio's (needs `uv run --with uvloop`)
    --gc-threshold N   gc.set_threshold(N) (Python's default: 700 allocations per young collection)
    --echo-intake      the echo takes updates through the bot's BoundedUpdateQueue (bot/intake.py);
                       the bot has it anyway
    Applied by setting module attributes (bot.http.CONNECTIONS), wrapping ApplicationBuilder.build,
    bot.app.rate_limiter or AsyncStore.open, so bot.app.build_application itself runs unchanged.
    """
    import argparse

    from telegram.ext import ApplicationBuilder

    parser = argparse.ArgumentParser()
    parser.add_argument("--pool", type=int)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--limiter", choices=("bucket",))
    parser.add_argument("--worker-store", action="store_true")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--gc-threshold", type=int)
    parser.add_argument("--echo-intake", action="store_true")
    args = parser.parse_args(argv)
    if args.echo_intake:
        os.environ["BENCH_ECHO_INTAKE"] = "1"  # read by echo_main
    if args.gc_threshold:
        import gc

        gc.set_threshold(args.gc_threshold)
    if args.uvloop:
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    build = ApplicationBuilder.build
    if args.pool:  # the bot's pool, and so the echo's (echo_main reads it)
        import bot.http

        bot.http.CONNECTIONS = args.pool
    if args.worker_store:
        worker_store()
    if args.limiter == "bucket":
        import bot.app as app_module
        from telegram.ext import AIORateLimiter

        def bucket_rate_limiter(config):
            if config.max_messages_per_second <= 0:
                return None
            return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / config.max_messages_per_second,
                                  group_max_rate=1, group_time_period=3, max_retries=5)

        app_module.rate_limiter = bucket_rate_limiter

    def patched(self):
        if args.concurrency:
            self.concurrent_updates(args.concurrency)
        return build(self)

    ApplicationBuilder.build = patched


if __name__ == "__main__":
    if sys.argv[1:2] == ["echo"]:
        apply_tweaks(sys.argv[2:])
        raise SystemExit(echo_main())
    if sys.argv[1:2] == ["bot"]:
        apply_tweaks(sys.argv[2:])
        from bot.cli import main as bot_main

        raise SystemExit(bot_main(["run"]))
    print("usage: python bench/_harness.py echo|bot [--pool N] [--concurrency N] [--limiter bucket] [--worker-store] [--uvloop]"
          " [--gc-threshold N] [--echo-intake]"
          "  (the benchmarks start these)",
          file=sys.stderr)
    raise SystemExit(2)
