"""CPU per handled update: the bot against a bare python-telegram-bot echo bot (not a test).

    uv run python bench/answer_cost.py                 # N = 5,000 answers from 500 users
    uv run python bench/answer_cost.py --profile       # also py-spy profiles of both measured phases
    uv run python bench/answer_cost.py --pool 8        # experiment: PTB connection_pool_size 8 in both
    uv run python bench/answer_cost.py --echo-chars 1300   # experiment: echo replies as long as a verdict

The fake Bot API server of the test suite runs in this process; the bot (`python -m bot.cli run`,
a real SQLite file, TUTOR_MAX_MESSAGES_PER_SECOND=0: rate limiter off) and then the echo bot
(bench/_harness.py: one MessageHandler that replies with the text) run as child processes, so the
CPU counted (utime + stime of the child, all threads, from /proc) is theirs alone.

(a) bot:  each user sends /start and /quiz x11 (setup, not measured); after the flood window has
    passed, each answers their first question (warm-up: grader indexes, stemmer cache, lazy
    imports), then replies to each of their other 10 questions with a realistic answer (a
    paraphrase of part of the model answer, key ideas named by an alias, the odd typo; see
    _harness.py). Those 5,000 graded answers are queued at once and measured until the last
    verdict arrives.
(b) echo: the very same 5,000 messages (after 500 warm-up messages), measured the same way.

Reports updates per CPU-second and per wall-second for both and the ratio bot / echo.
Target (issue): ratio of updates per CPU-second >= 0.70.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))

from _harness import BotProcess, Fake, Meter, question_of, quiet_push_env, realistic_reply, wait_until, workdir  # noqa: E402

from content import load_bank  # noqa: E402

FLOOD_WINDOW = 10.5  # bot/flood.py: more than 20 updates in 10 s mutes a user


async def feed_and_wait(fake: Fake, bot: BotProcess, messages: list[tuple[int, str, object]], what: str, timeout: float):
    """Queue every message at once; measure until each has its reply."""
    keys = []
    with Meter(bot) as meter:
        for user_id, text, reply_to in messages:
            _, message_id = fake.push_message(user_id, text, reply_to)
            keys.append((user_id, message_id))
        await wait_until(lambda: all(k in fake.reply_at for k in keys[-50:]) and all(k in fake.reply_at for k in keys),
                         timeout, what, step=0.05)
    return meter, keys


async def run_bot(fake: Fake, tmp: Path, args, rng: random.Random, profile: Path | None, first_id: int = 10_000_001):
    bank = load_bank()
    users, per_user = args.users, args.per_user
    bot = BotProcess(fake, kind="bot", workdir=tmp, tweaks=args.tweaks,
                     env={"TUTOR_MAX_MESSAGES_PER_SECOND": "0", **quiet_push_env()})
    await bot.start()
    try:
        ids = range(first_id, first_id + users)
        t0 = time.perf_counter()
        for u in ids:
            fake.message(u, "/start", first_name=f"User{u % 1000}")
        await wait_until(lambda: all(len(fake.by_chat[u]) >= 1 for u in ids), 300, "welcomes")
        for _ in range(1 + per_user):  # the first question of each user is for the warm-up
            for u in ids:
                fake.message(u, "/quiz")
        await wait_until(lambda: all(len(fake.by_chat[u]) >= 2 + per_user for u in ids), 600, "questions")
        answers = []
        for k in range(1 + per_user):
            for u in ids:
                qmsg = fake.by_chat[u][1 + k]
                q = question_of(bank, qmsg.text)
                if q is None:
                    raise RuntimeError(f"not a question: {qmsg.text[:80]!r}")
                answers.append((u, realistic_reply(q, rng), qmsg))
        warm, messages = answers[:users], answers[users:]
        await asyncio.sleep(FLOOD_WINDOW)
        # warm-up, as a running bot is (grader indexes, stemmer cache, lazy imports); the echo gets one too
        await feed_and_wait(fake, bot, warm, "warm-up verdicts", 300)
        setup_s = time.perf_counter() - t0
        spy = start_profiler(bot.pid, profile) if profile else None
        meter, keys = await feed_and_wait(fake, bot, messages, "verdicts", 900)
        if spy is not None:
            stop_profiler(spy)
        verdicts = Counter(verdict_of(fake.reply_text[k]) for k in keys)
        meter.reply_chars = statistics.mean(len(fake.reply_text[k]) for k in keys)
        rss = bot.peak_rss_mib()
    except BaseException:
        print(f"the bot failed; its log ({bot.log_path}):\n{bot.first_traceback() or bot.tail()}", file=sys.stderr)
        raise
    finally:
        await bot.stop()
    errors = bot.log_errors()
    return meter, setup_s, messages, verdicts, rss, errors


def verdict_of(text: str) -> str:
    for icon, name in (("✅", "correct"), ("🟡", "partial"), ("❌", "incorrect")):
        if text.startswith(icon):
            return name
    return "other: " + text[:40]


async def run_echo(fake: Fake, tmp: Path, messages, args, profile: Path | None):
    env = {"TUTOR_MAX_MESSAGES_PER_SECOND": "0", "BENCH_ECHO_CHARS": str(args.echo_chars or "")}
    echo = BotProcess(fake, kind="echo", workdir=tmp, tweaks=args.tweaks, env=env)
    await echo.start()
    try:
        warm = [(u, text, reply_to) for u, text, reply_to in messages[:500]]
        await feed_and_wait(fake, echo, warm, "echo warm-up", 300)
        spy = start_profiler(echo.pid, profile) if profile else None
        meter, keys = await feed_and_wait(fake, echo, messages, "echoes", 900)
        meter.reply_chars = statistics.mean(len(fake.reply_text[k]) for k in keys)
        if spy is not None:
            stop_profiler(spy)
        rss = echo.peak_rss_mib()
    finally:
        await echo.stop()
    return meter, rss, echo.log_errors()


# ------------------------------------------------------------------------------------------ profile
def py_spy_command() -> list[str]:
    exe = shutil.which("py-spy")
    return [exe] if exe else ["uv", "run", "--no-project", "--with", "py-spy", "py-spy"]


def start_profiler(pid: int, out: Path) -> subprocess.Popen:
    cmd = py_spy_command() + ["record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                              "--threads", "--nonblocking", "--output", str(out)]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(3)  # let it resolve (uv) and attach before the load starts
    if spy.poll() is not None:
        raise RuntimeError("py-spy failed: " + spy.stderr.read().decode(errors="replace")[-500:])
    return spy


def stop_profiler(spy: subprocess.Popen) -> None:
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()


RATE = 200  # py-spy samples per second: one sample = 5 ms of a thread's CPU

# A sample goes to the package of the innermost frame that belongs to one of these (walking out
# from the leaf), so json/socket/select work done for httpx counts as HTTP, for PTB as PTB.
PACKAGES = [
    ("grading (content/)", ("content/",)),
    ("storage (storage/, sqlite-utils, sqlite3)", ("storage/", "sqlite_utils/")),
    ("bot handlers (bot/)", ("bot/",)),
    ("HTTP client (httpx, httpcore, h11, anyio)", ("httpx/", "httpcore/", "h11/", "anyio/")),
    ("PTB framework (telegram/, aiolimiter, apscheduler)", ("telegram/", "aiolimiter/", "apscheduler/")),
]
STDLIB = [("asyncio event loop", ("asyncio/", "selectors.py")), ("thread pool hand-off", ("concurrent/", "threading.py", "queue.py"))]
HOT = {  # inclusive: a sample counts if the function is anywhere on its stack
    "_assign_requests_to_connections": "httpcore pool bookkeeping (_assign_requests_to_connections)",
    "is_socket_readable": "  of which: poll() on idle keep-alive sockets",
    "grade_reply": "grade_reply (the grader)",
    "de_json": "de_json (parsing updates and API results)",
    "_submit": "AsyncStore._submit (a storage call from the loop, SQL run there included)",
    "build_request": "httpx build_request (encoding a request)",
}


def _frame_file(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    if "(" in frame and frame.endswith(")"):
        return frame[frame.rfind("(") + 1:-1]
    return frame


def _package(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = _frame_file(frame)
        for name, prefixes in PACKAGES:
            if path.startswith(prefixes):
                return name
    leaf = _frame_file(frames[-1])
    for name, needles in STDLIB:
        if any(n in leaf for n in needles):
            return name
    return "other (stdlib, imports)"


def read_profile(path: Path) -> dict:
    """Counts from py-spy's raw output (--threads: the first frame names the thread)."""
    packages: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    hot: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    storage_methods: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        thread, *frames = stack.split(";")
        frames = [f for f in frames if f.strip()]
        if not frames:
            continue
        total += n
        main = "MainThread" in thread
        threads["main thread (event loop)" if main else "other threads (storage worker)"] += n
        packages[_package(frames)] += n
        leaf[frames[-1]] += n
        names = {f.split(" (")[0].rsplit(".", 1)[-1] for f in frames}
        for label in {label for fn, label in HOT.items() if fn in names}:
            hot[label] += n
        if not main:
            method = next((f.split(" (")[0] for f in frames if _frame_file(f).startswith("storage/")
                           and not _frame_file(f).startswith(("storage/_base", "storage/aio", "storage/db"))), None)
            storage_methods[method or "(SQLite/executor glue)"] += n
    return {"total": total, "packages": packages, "threads": threads, "hot": hot, "leaf": leaf, "storage": storage_methods}


def profile_report(bot: dict, echo: dict, n: int, top: int = 15) -> str:
    ms = lambda samples: samples * 1000 / RATE / n  # noqa: E731 — CPU ms per update
    out = [f"py-spy ({RATE} Hz, idle excluded) over each measured phase: CPU ms per update, by where it is spent",
           "", f"{'package of the innermost known frame':<56}{'bot':>8}{'echo':>8}"]
    names = [name for name, _ in PACKAGES] + [name for name, _ in STDLIB] + ["other (stdlib, imports)"]
    for name in names:
        out.append(f"{name:<56}{ms(bot['packages'][name]):>8.2f}{ms(echo['packages'][name]):>8.2f}")
    out.append(f"{'total sampled':<56}{ms(bot['total']):>8.2f}{ms(echo['total']):>8.2f}")
    out += ["", f"{'by thread':<56}{'bot':>8}{'echo':>8}"]
    for name in ("main thread (event loop)", "other threads (storage worker)"):
        out.append(f"{name:<56}{ms(bot['threads'][name]):>8.2f}{ms(echo['threads'][name]):>8.2f}")
    out += ["", f"{'inclusive (function anywhere on the stack)':<56}{'bot':>8}{'echo':>8}"]
    for label in dict.fromkeys(HOT.values()):
        out.append(f"{label[:56]:<56}{ms(bot['hot'][label]):>8.2f}{ms(echo['hot'][label]):>8.2f}")
    out += ["", "bot, storage worker thread by Store method (CPU ms per update)"]
    for name, count in bot["storage"].most_common(8):
        out.append(f"  {ms(count):>6.2f}  {name}")
    out += ["", f"bot, top {top} functions by self time (share of the bot's samples)"]
    for frame, count in bot["leaf"].most_common(top):
        out.append(f"  {count / bot['total']:>6.1%}  {frame[:110]}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main
async def main_async(args) -> int:
    rng = random.Random(args.seed)
    rounds = []  # (bot meter, echo meter, bot rss, echo rss)
    with workdir("answer_cost-") as tmpname:
        fake = await Fake().start()
        try:
            for r in range(args.rounds):
                tmp = Path(tmpname) / f"round{r + 1}"
                tmp.mkdir()
                last = r == args.rounds - 1
                bot_prof = tmp / "bot.pyspy" if args.profile and last else None
                echo_prof = tmp / "echo.pyspy" if args.profile and last else None
                bot_m, setup_s, messages, verdicts, bot_rss, bot_errors = await run_bot(
                    fake, tmp, args, rng, bot_prof, first_id=10_000_001 + 100_000 * r)
                echo_m, echo_rss, echo_errors = await run_echo(fake, tmp, messages, args, echo_prof)
                rounds.append((bot_m, echo_m, bot_rss, echo_rss))
                print(f"round {r + 1}: bot {len(messages) / bot_m.cpu:.0f}, echo {len(messages) / echo_m.cpu:.0f} updates/CPU-s",
                      file=sys.stderr)
            profile_text = None
            if args.profile:
                profile_text = profile_report(read_profile(bot_prof), read_profile(echo_prof), len(messages))
                if args.keep_profile:
                    shutil.copy(bot_prof, args.keep_profile + ".bot")
                    shutil.copy(echo_prof, args.keep_profile + ".echo")
        finally:
            await fake.stop()

    n = len(messages)
    print(f"N = {n:,} answers from {args.users} users ({args.per_user} each); rate limiter off; "
          f"setup (/start, /quiz x{args.per_user + 1}, one warm-up answer each) took {setup_s:.1f} s, not measured; "
          f"{args.rounds} round(s), each: the bot, then the echo bot (after {min(500, n)} warm-up messages), in turn")
    if args.profile:
        print("NOTE: py-spy was sampling both processes during the last round's measured phases (its overhead is included).")
    if args.tweaks:
        print(f"EXPERIMENT: settings overridden in both processes: {' '.join(args.tweaks)}")
    if args.echo_chars:
        print(f"EXPERIMENT: the echo replies with {args.echo_chars} characters of HTML and one inline button")
    print()
    print(f"{'round':<6}{'process':<24}{'updates':>8}{'wall s':>8}{'CPU s':>8}{'upd/CPU-s':>11}{'upd/wall-s':>12}"
          f"{'CPU/wall':>9}{'main thr s':>11}{'other thr s':>12}{'fake CPU s':>11}{'peak RSS':>10}{'conns':>7}")
    ratios = []
    for r, (bot_m, echo_m, bot_rss, echo_rss) in enumerate(rounds, 1):
        for name, m, rss in (("bot (grading + SQLite)", bot_m, bot_rss), ("echo (bare PTB)", echo_m, echo_rss)):
            print(f"{r:<6}{name:<24}{n:>8,}{m.wall:>8.2f}{m.cpu:>8.2f}{n / m.cpu:>11.0f}{n / m.wall:>12.0f}"
                  f"{m.cpu / m.wall:>9.0%}{m.main_cpu:>11.2f}{m.other_cpu:>12.2f}{m.fake_cpu:>11.2f}{rss:>7.0f} MiB"
                  f"{m.connections_used:>7}")
        ratios.append((echo_m.cpu / bot_m.cpu, echo_m.wall / bot_m.wall))
        print(f"{r:<6}{'ratio bot / echo':<24}{'':>8}{'':>8}{'':>8}{ratios[-1][0]:>11.2f}{ratios[-1][1]:>12.2f}")
    per_cpu = statistics.median(x for x, _ in ratios)
    per_wall = statistics.median(y for _, y in ratios)
    bot_cpu = statistics.median(b.cpu for b, _, _, _ in rounds)
    echo_cpu = statistics.median(e.cpu for _, e, _, _ in rounds)
    bot_wall = statistics.median(b.wall for b, _, _, _ in rounds)
    echo_wall = statistics.median(e.wall for _, e, _, _ in rounds)
    print()
    print("verdicts (last round): " + ", ".join(f"{k} {v}" for k, v in verdicts.most_common()))
    bot_m, echo_m = rounds[-1][0], rounds[-1][1]
    print(f"conns: HTTP connections used in the measured phase (getUpdates' one included); "
          f"mean reply length: bot {bot_m.reply_chars:.0f} characters, echo {echo_m.reply_chars:.0f}")
    print(f"CPU per update (medians): bot {bot_cpu / n * 1e3:.2f} ms, echo {echo_cpu / n * 1e3:.2f} ms; "
          f"grading + storage + handlers add {(bot_cpu - echo_cpu) / n * 1e3:.2f} ms")
    for name, errors in (("bot", bot_errors), ("echo", echo_errors)):
        if errors:
            print(f"{name} logged {len(errors)} error lines, first: {errors[0][:150]}")
    if profile_text:
        print()
        print(profile_text)
    ok = per_cpu >= 0.70
    print()
    print(f"summary: bot {n / bot_cpu:,.0f} updates/CPU-s ({n / bot_wall:,.0f}/wall-s), echo {n / echo_cpu:,.0f} "
          f"updates/CPU-s ({n / echo_wall:,.0f}/wall-s); ratio bot/echo {per_cpu:.2f} per CPU-s "
          f"(target >= 0.70: {'met' if ok else 'NOT met'}), {per_wall:.2f} per wall-s"
          + (f" (medians of {args.rounds} rounds; ratios: median of each round's bot/echo)" if args.rounds > 1 else ""))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--per-user", type=int, default=10, help="graded answers per user (N = users x this)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="repeat bot + echo this many times (noisy machines)")
    parser.add_argument("--profile", action="store_true", help="py-spy both processes during their measured phases")
    parser.add_argument("--keep-profile", help="keep py-spy's raw collapsed stacks as PREFIX.bot and PREFIX.echo")
    parser.add_argument("--pool", type=int, help="experiment: the HTTP connection pool (bot.http.CONNECTIONS) in both processes")
    parser.add_argument("--concurrency", type=int, help="experiment: ApplicationBuilder.concurrent_updates in both processes")
    parser.add_argument("--worker-store", action="store_true", help="experiment: every storage call on the storage "
                        "thread, none on the event loop (the design before storage/aio.py's ON_LOOP; see _harness.py)")
    parser.add_argument("--uvloop", action="store_true", help="experiment: uvloop's event loop in both processes "
                        "(run with `uv run --with uvloop`)")
    parser.add_argument("--gc-threshold", type=int, help="experiment: gc.set_threshold(N) in both processes")
    parser.add_argument("--echo-chars", type=int, help="experiment: the echo replies with the text repeated to this many "
                        "characters, as HTML with one inline button (the size and shape of the bot's verdicts)")
    parser.add_argument("--echo-intake", action="store_true", help="experiment: the echo takes updates through the bot's "
                        "BoundedUpdateQueue (bot/intake.py) instead of PTB's unbounded queue")
    args = parser.parse_args()
    args.tweaks = (["--echo-intake"] if args.echo_intake else []) + (["--pool", str(args.pool)] if args.pool else []) + (
        ["--concurrency", str(args.concurrency)] if args.concurrency else []) + (
        ["--worker-store"] if args.worker_store else []) + (["--uvloop"] if args.uvloop else []) + (
        ["--gc-threshold", str(args.gc_threshold)] if args.gc_threshold else [])
    if args.per_user > 18:
        parser.error("--per-user must be < 19 (the flood guard mutes more than 20 updates in 10 s)")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
