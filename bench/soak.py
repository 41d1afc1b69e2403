"""Soak test: the real bot process under mixed traffic with faults on, for a long time; its resident
memory (RSS) and open file descriptors must stay flat. Not part of CI.

    uv run python bench/soak.py                    # 30 minutes (the issue's figure)
    uv run python bench/soak.py --minutes 5        # a shorter run
    uv run python bench/soak.py --minutes 30 --rate 30 --json soak.json

Traffic (a pool of learners and 50 study groups, `--rate` updates per second on average):
/start, /quiz, answers (replies to the learner's last question), Hint / Show answer / Next
presses, /ask, /stats, /streak, /settime, /help, junk text and forged button data, answers in
groups, the same update delivered twice, a flood burst from one user every two minutes, and a
steady trickle of new learners (each gets a daily question at once: TUTOR_DEFAULT_TIME=00:00).

Faults (fake server): 0.2% of sends answered 429 (retry after 1 s), 1% 500, 0.5% dropped
connections, 1% of getUpdates answered 500, and a 10 s 429 storm (20% of sends) every 10 minutes.
Every 2 minutes another connection (in this process) holds SQLite's write lock for `--lock-seconds`
(1.5 s): the bot's calls on the event loop meet SQLITE_BUSY and wait on its storage thread.
Every 429 makes PTB's rate limiter pause *all* sends for retry_after + 0.1 s, so a steady 2% of
429s at 20 sends/s stalls the bot ~45% of the time: it then falls behind the offered load and its
backlog (one pending task per update, unbounded in PTB) grows — memory grows with it. That is a
queue, not a leak; the defaults keep the steady fault rate where the bot keeps up.

Every `--sample-seconds` (1 s) the bot's RSS (/proc/PID/status VmRSS), open fds (/proc/PID/fd),
threads and CPU time are sampled. The first `--warmup` seconds are excluded from the verdict
(imports, caches and the allocator settle). Verdict: flat if the median fd count of the last third
of the run is within 2 of the first third's (the HTTP pool opens and closes connections with the
load, so single samples jitter by a dozen), and the RSS *floor* is no longer rising in the last
third: the least-squares slope of each minute's lowest RSS there is under 2 MiB per hour, and the
last third's median RSS is less than 5 MiB above the first third's. The floor
is what the bot holds between pictures: a /stats picture being drawn adds up to 55 MiB for a
fraction of a second, and a slope fitted through such a band swings by tens of MiB/h with where its
highs happen to fall (docs/BENCHMARKS.md, "Soak"), while a leak raises the floor itself. Caches that
fill up (SQLite's 2 MiB page cache while the database grows from empty, the grader's word caches)
raise the early minutes and then level off; a leak keeps its slope to the end. The slope of all
samples, the growth between the first and last thirds' medians and the floor's slope over the
whole run are reported too.

Everything talks to 127.0.0.1 only; the database lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project root must come before bench/ (which Python puts first when running a script here):
# bench/storage.py would otherwise shadow the storage package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]

from tests.bot_process import BotProcess  # noqa: E402
from tests.fake_telegram import FakeTelegram, Sent  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
TOPICS = ["dropout", "batch norm", "attention", "vanishing gradients", "adam", "overfitting", "transformer", "lstm"]
ANSWER = ("It is a regularisation technique: during training it randomly drops units so they cannot co-adapt, which "
          "reduces overfitting; activations are rescaled and it is switched off at inference.")


class SoakServer(FakeTelegram):
    """The fake Bot API server, keeping only what the soak needs (its lists would grow for hours)."""

    def __post_init__(self):
        super().__post_init__()
        self.last_question: dict[int, Sent] = {}  # chat -> the last question the bot sent there
        self.sends = 0

    async def api_sendMessage(self, params):
        response = await super().api_sendMessage(params)
        sent = self.sent.pop()
        self.sends += 1
        if "Question" in sent.text:
            self.last_question[sent.chat_id] = sent
        return response

    async def api_editMessageText(self, params):
        response = await super().api_editMessageText(params)
        self.sent.pop()
        return response

    async def api_editMessageReplyMarkup(self, params):
        response = await super().api_editMessageReplyMarkup(params)
        self.sent.pop()
        return response

    def trim(self) -> None:
        del self.calls[:]
        del self.callback_answers[:]
        self.handed_out.clear()
        if len(self.user_messages) > 20_000:
            self.user_messages.clear()


def proc_sample(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as f:
        status = {line.split(":")[0]: line.split(":")[1].strip() for line in f}
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return {
        "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status["Threads"]),
        "cpu_s": (int(fields[11]) + int(fields[12])) / CLK_TCK,
    }


def children_by_parent() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def kib_field(path: str, name: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def helper_sample(bot_pid: int) -> dict:
    """The bot's helper processes (bot/charts.py): the picture renderer (forked from the fork
    server, or spawned directly where there is none), the fork server and multiprocessing's
    resource tracker. RSS counts pages the renderer shares with the fork server in both; PSS
    splits shared pages between the processes sharing them, so the PSS figures add up."""
    tree = children_by_parent()
    renderers, forkserver, tracker = [], [], []
    for child in tree.get(bot_pid, []):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"multiprocessing.forkserver" in cmdline:
            forkserver.append(child)
            renderers += tree.get(child, [])
        elif b"resource_tracker" in cmdline:
            tracker.append(child)
        else:
            renderers.append(child)

    def total(pids: list[int], path: str, name: str) -> float:
        kib = 0
        for pid in pids:
            try:
                kib += kib_field(f"/proc/{pid}/{path}", name)
            except OSError:
                pass  # a renderer retiring right now
        return kib / 1024

    return {
        "renderer_pids": renderers,
        "renderer_rss_mib": total(renderers, "status", "VmRSS"),
        "renderer_pss_mib": total(renderers, "smaps_rollup", "Pss"),
        "forkserver_rss_mib": total(forkserver, "status", "VmRSS"),
        "forkserver_pss_mib": total(forkserver, "smaps_rollup", "Pss"),
        "tracker_rss_mib": total(tracker, "status", "VmRSS"),
    }


def per_minute(samples: list[dict], key: str, pick=min) -> list[float]:
    """``pick`` (min: the floor, max: the peak) of ``key`` in each whole minute sampled, over the
    samples where it is above 0 (no renderer between a retired one and its replacement)."""
    minutes: dict[int, list[float]] = {}
    for sample in samples:
        if sample.get(key, 0) > 0:
            minutes.setdefault(int(sample["t"] // 60), []).append(sample[key])
    return [round(pick(values), 1) for _, values in sorted(minutes.items()) if len(values) >= 10]


def db_mib(workdir: Path) -> float:
    return sum(p.stat().st_size for p in workdir.glob("tutor.db*")) / 2**20


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600


def minute_floors(samples: list[dict]) -> list[tuple[float, float]]:
    """(middle of the minute in seconds, lowest RSS in it) for every whole minute sampled."""
    minutes: dict[int, list[float]] = {}
    for sample in samples:
        minutes.setdefault(int(sample["t"] // 60), []).append(sample["rss_mib"])
    return [(minute * 60 + 30, min(values)) for minute, values in sorted(minutes.items()) if len(values) >= 10]


class Traffic:
    def __init__(self, tg: SoakServer, rng: random.Random, learners: int, groups: int, long_junk: bool = True,
                 pictures: bool = True):
        self.pictures = pictures  # /stats draws a picture: its buffers make RSS a 60 MiB band
        self.tg, self.rng, self.long_junk = tg, rng, long_junk
        self.learners = list(range(2_000_000, 2_000_000 + learners))
        self.started: set[int] = set()
        self.groups = [-(3_000_000 + i) for i in range(groups)]
        self.admins = {g: 2_500_000 + i for i, g in enumerate(self.groups)}
        self.next_newcomer = 2_900_000
        self.updates = 0

    def push(self, update_id: int) -> None:
        self.updates += 1
        if self.rng.random() < 0.01:  # Telegram delivers at least once: the same update again
            payload = copy.deepcopy(self.tg.updates[-1])
            self.tg.push_raw({k: v for k, v in payload.items() if k != "update_id"}, update_id=update_id)

    def setup_groups(self) -> None:
        for group, admin in self.admins.items():
            self.tg.admins[group] = {admin}
            self.tg.bot_added(group, admin)

    def one(self) -> None:
        tg, rng = self.tg, self.rng
        roll = rng.random()
        if roll < 0.02:  # a newcomer: registers and gets today's question at once
            user = self.next_newcomer
            self.next_newcomer += 1
            self.push(tg.message(user, "/start"))
            return
        if roll < 0.10:  # a group member answers the group's question
            group = rng.choice(self.groups)
            question = tg.last_question.get(group)
            member = rng.randrange(2_600_000, 2_600_500)
            if question is not None:
                self.push(tg.reply(member, question, ANSWER if rng.random() < 0.5 else "no idea", first_name="Member"))
            else:
                self.push(tg.message(self.admins[group], "/quiz", group))
            return
        user = rng.choice(self.learners)
        if user not in self.started:
            self.started.add(user)
            self.push(tg.message(user, "/start"))
            return
        question = tg.last_question.get(user)
        action = rng.random()
        if action < 0.25 or question is None:
            self.push(tg.message(user, "/quiz"))
        elif action < 0.50:
            self.push(tg.reply(user, question, ANSWER if rng.random() < 0.6 else "something about neurons"))
        elif action < 0.60:
            self.push(tg.press(user, question, rng.choice(["q:hint", "q:show", "q:next"])))
        elif action < 0.70:
            self.push(tg.message(user, f"/ask {rng.choice(TOPICS)}"))
        elif action < 0.78:
            commands = ["/stats", "/streak", "/help", "/review"] if self.pictures else ["/streak", "/help", "/review"]
            self.push(tg.message(user, rng.choice(commands)))
        elif action < 0.82:
            self.push(tg.message(user, f"/settime {rng.randrange(24):02d}:{rng.randrange(60):02d}"))
        elif action < 0.90:
            junk = ["hello?", "🙂" * rng.randrange(1, 200)] + (["x" * rng.randrange(1, 5000)] if self.long_junk else ["x y z"])
            self.push(tg.message(user, rng.choice(junk)))
        else:
            self.push(tg.press(user, question, rng.choice(["junk", "r:nope", "f:maybe", "d:1", "ask:x" * 5])))

    def flood(self) -> None:
        user = self.rng.choice(self.learners)
        for k in range(50):
            self.push(self.tg.message(user, f"spam {k}"))


def hold_write_lock(db: Path, seconds: float) -> None:
    """Another SQLite client writing: BEGIN IMMEDIATE held for `seconds` (runs on a thread)."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


def fault_policy(rng: random.Random, storms: list[float], p429: float = 0.002, p500: float = 0.01, pdrop: float = 0.005):
    too_many = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}
    server_error = {"ok": False, "error_code": 500, "description": "Internal Server Error"}

    def policy(method: str, params: dict):
        roll = rng.random()
        if method == "sendMessage":
            now = time.monotonic()
            if any(start <= now < start + 10 for start in storms) and roll < 0.2:
                return too_many
            if roll < p429:
                return too_many
            if roll < p429 + p500:
                return server_error
            if roll < p429 + p500 + pdrop:
                return {"drop": True}
        elif method == "getUpdates" and roll < p500:
            return server_error
        return None

    return policy


async def soak(args) -> dict:
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="tutor-soak-"))
    tg = await SoakServer().start()
    start = time.monotonic()
    duration = args.minutes * 60
    storms = [start + s for s in range(600, int(duration), 600)]
    tg.fault_policy = fault_policy(random.Random(args.seed + 1), storms, args.p429, args.p500, args.pdrop)
    bot = BotProcess(tg, workdir / "tutor.db", workdir / "bot.log", TUTOR_MAX_MESSAGES_PER_SECOND="30",
                     TUTOR_TICK_SECONDS="5", TUTOR_DEFAULT_TIME="00:00", LOG_LEVEL="INFO").start()
    samples: list[dict] = []
    try:
        await bot.started(timeout=120)
        traffic = Traffic(tg, rng, args.learners, args.groups, long_junk=not args.no_long_junk,
                          pictures=not args.no_pictures)
        traffic.setup_groups()
        next_sample = time.monotonic()
        next_flood = time.monotonic() + 120
        next_lock = time.monotonic() + 90
        locks: list[asyncio.Future] = []
        interval = 1 / args.rate
        print(f"soak: {args.minutes} min, ~{args.rate} updates/s, bot pid {bot.pid}, log {bot.log_path}", flush=True)
        print(f"{'min':>5} {'RSS MiB':>8} {'renderer':>8} {'fsrv':>6} {'fds':>4} {'thr':>4} {'CPU s':>7} {'updates':>8} "
              f"{'sends':>7} {'queued':>6} {'DB MiB':>7} {'load':>5}", flush=True)
        while (elapsed := time.monotonic() - start) < duration:
            if not bot.running():
                raise RuntimeError(f"the bot died (exit {bot.proc.returncode}):\n{bot.log()[-3000:]}")
            if time.monotonic() >= next_sample:
                sample = proc_sample(bot.pid) | {"t": round(elapsed, 1), "updates": traffic.updates, "sends": tg.sends,
                                                  "queued": len(tg.updates), "db_mib": db_mib(workdir)}
                sample |= helper_sample(bot.pid) | {"load": os.getloadavg()[0]}
                samples.append(sample)
                if len(samples) == 1 or int(elapsed) // 60 != int(samples[-2]["t"]) // 60:
                    print(f"{elapsed / 60:5.1f} {sample['rss_mib']:8.1f} {sample['renderer_rss_mib']:8.1f} "
                          f"{sample['forkserver_rss_mib']:6.1f} {sample['fds']:4d} {sample['threads']:4d} "
                          f"{sample['cpu_s']:7.1f} {traffic.updates:8d} {tg.sends:7d} {len(tg.updates):6d} "
                          f"{sample['db_mib']:7.1f} {os.getloadavg()[0]:5.1f}", flush=True)
                tg.trim()
                next_sample += args.sample_seconds
            if time.monotonic() >= next_flood:
                traffic.flood()
                next_flood += 120
            if args.lock_seconds > 0 and time.monotonic() >= next_lock:
                locks.append(asyncio.get_running_loop().run_in_executor(
                    None, hold_write_lock, workdir / "tutor.db", args.lock_seconds))
                next_lock += 120
            traffic.one()
            await asyncio.sleep(rng.expovariate(1 / interval))  # Poisson arrivals: load pacing, not synchronisation
        await asyncio.gather(*locks)
        samples.append(proc_sample(bot.pid) | {"t": round(time.monotonic() - start, 1), "updates": traffic.updates,
                                                "sends": tg.sends, "queued": len(tg.updates), "db_mib": db_mib(workdir)}
                       | helper_sample(bot.pid) | {"load": os.getloadavg()[0]})
        log = bot.log()
        bot.terminate()
        exit_code = await bot.exited(120)
    finally:
        bot.cleanup()
        await tg.stop()

    settled = [s for s in samples if s["t"] >= args.warmup] or samples
    first, last = settled[0], settled[-1]
    third = max(1, len(settled) // 3)
    early, late = settled[:third], settled[-third:]
    # RSS: the median of the last third against the first third of the run after warm-up.
    # fds: the peak of each third (the HTTP connection pool opens and closes connections
    # with the load, so single samples jitter by a dozen; a leak shows as a rising peak).
    rss_growth = statistics.median(s["rss_mib"] for s in late) - statistics.median(s["rss_mib"] for s in early)
    fd_growth = max(s["fds"] for s in late) - max(s["fds"] for s in early)
    fd_median_growth = statistics.median(s["fds"] for s in late) - statistics.median(s["fds"] for s in early)
    late_slope = slope_per_hour([(s["t"], s["rss_mib"]) for s in late])
    # The floor: each minute's lowest RSS, what the bot holds between pictures. A picture being
    # drawn when a sample is taken adds up to 55 MiB for a fraction of a second; a least-squares
    # slope over such a band swings by tens of MiB/h from where its highs happen to fall, while a
    # leak raises the floor itself.
    floors = minute_floors(settled)
    late_floors = floors[-max(3, len(floors) // 3):]
    floor_slope = slope_per_hour(late_floors)
    report = {
        "minutes": args.minutes,
        "long_junk_words": not args.no_long_junk,
        "rate_per_s": args.rate,
        "updates_sent_to_bot": samples[-1]["updates"],
        "messages_sent_by_bot": samples[-1]["sends"],
        "rss_mib": {"after_warmup": round(first["rss_mib"], 1), "end": round(last["rss_mib"], 1),
                    "max": round(max(s["rss_mib"] for s in settled), 1), "min": round(min(s["rss_mib"] for s in settled), 1),
                    "slope_mib_per_hour": round(slope_per_hour([(s["t"], s["rss_mib"]) for s in settled]), 2),
                    "slope_last_third_mib_per_hour": round(late_slope, 2),
                    "growth_median_last_vs_first_third": round(rss_growth, 1),
                    "floor_per_minute": [round(rss, 1) for _, rss in floors],
                    "floor_slope_last_third_mib_per_hour": round(floor_slope, 2),
                    "floor_slope_mib_per_hour": round(slope_per_hour(floors), 2)},
        "fds": {"after_warmup": first["fds"], "end": last["fds"], "max": max(s["fds"] for s in settled),
                "min": min(s["fds"] for s in settled), "growth_peak_last_vs_first_third": fd_growth,
                "growth_median_last_vs_first_third": fd_median_growth},
        # The picture renderer (bot/charts.py), reported apart: its memory is bounded by replacing
        # the process every MAX_RENDERS_PER_CHILD pictures, not by the flatness rule above.
        "renderer": {
            "processes_seen": len({pid for s in samples for pid in s["renderer_pids"]}),
            "rss_mib_max": round(max((s["renderer_rss_mib"] for s in settled), default=0.0), 1),
            "rss_mib_floor_per_minute": per_minute(settled, "renderer_rss_mib"),
            "rss_mib_peak_per_minute": per_minute(settled, "renderer_rss_mib", max),
            "pss_mib_max": round(max((s["renderer_pss_mib"] for s in settled), default=0.0), 1),
            "forkserver_rss_mib": [round(min(s["forkserver_rss_mib"] for s in settled), 1),
                                   round(max(s["forkserver_rss_mib"] for s in settled), 1)],
            "forkserver_pss_mib_max": round(max(s["forkserver_pss_mib"] for s in settled), 1),
            "resource_tracker_rss_mib_max": round(max(s["tracker_rss_mib"] for s in settled), 1),
        },
        "load_average_1min": [round(min(s["load"] for s in settled), 1), round(max(s["load"] for s in settled), 1)],
        "db_mib_end": round(last.get("db_mib", 0.0), 1),
        "threads": {"after_warmup": first["threads"], "end": last["threads"], "max": max(s["threads"] for s in settled)},
        "cpu_seconds": round(last["cpu_s"], 1),
        "log_errors": sum(1 for line in log.splitlines() if " ERROR " in line),
        "log_tracebacks": log.count("Traceback"),
        "rate_limit_announcements": log.count("rate limiting the bot (429"),
        "write_locks_held_by_another_connection": len(locks),
        "exit_code_after_sigterm": exit_code,
        "samples": samples,
    }
    # Flat: no fd trend, and the RSS floor no longer rising by the last third. Caches that fill up
    # (SQLite's page cache, 2 MiB, as the database grows from empty; the grader's word caches) make
    # the early minutes rise and then level off; a leak keeps the same slope to the end.
    # And the bulk of the samples must not have moved up either: a floor that jumps about (a picture
    # held across a minute) can fit a falling line by chance while the medians climb.
    report["flat"] = fd_median_growth <= 2 and floor_slope < 2.0 and rss_growth < 5.0
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    parser.add_argument("--rate", type=float, default=20.0, help="updates per second on average (default 20)")
    parser.add_argument("--learners", type=int, default=400, help="size of the learner pool (default 400)")
    parser.add_argument("--groups", type=int, default=50,
                        help="study groups (default 50); few groups with many answers overrun Telegram's 20 messages a "
                             "minute per group, and the replies then queue in memory")
    parser.add_argument("--sample-seconds", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds excluded from the verdict (default 60)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--json", help="write the full report (with every sample) here")
    parser.add_argument("--p429", type=float, default=0.002, help="share of sends answered 429 outside storms")
    parser.add_argument("--p500", type=float, default=0.01, help="share of sends and polls answered 500")
    parser.add_argument("--pdrop", type=float, default=0.005, help="share of sends whose connection is dropped")
    parser.add_argument("--lock-seconds", type=float, default=1.5,
                        help="every 2 minutes another connection holds the database's write lock this long (0: never)")
    parser.add_argument("--no-pictures", action="store_true",
                        help="no /stats (its pictures are measured alone by bench/charts.py)")
    parser.add_argument("--no-long-junk", action="store_true",
                        help="leave out the junk answers of one 1-5,000-letter word (they fill the grader's word caches)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # like Ctrl-C: the bot process is cleaned up
    report = asyncio.run(soak(args))
    summary = {k: v for k, v in report.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print("FLAT" if report["flat"] else "NOT FLAT: RSS or fds grew", flush=True)
    return 0 if report["flat"] and report["exit_code_after_sigterm"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
