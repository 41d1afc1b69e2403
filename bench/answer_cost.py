"""CPU per handled update: the bot against a bare python-telegram-bot echo bot (not a test).

    uv run python bench/answer_cost.py                 # N = 5,000 answers from 500 users
    uv run python bench/answer_cost.py --profile       # also a py-spy profile of the bot's measured phase

The fake Bot API server of the test suite runs in this process; the bot (`python -m bot.cli run`,
a real SQLite file, TUTOR_MAX_MESSAGES_PER_SECOND=0: rate limiter off) and then the echo bot
(bench/_harness.py: one MessageHandler that replies with the text) run as child processes, so the
CPU counted (utime + stime of the child, all threads, from /proc) is theirs alone.

(a) bot:  each user sends /start and /quiz x10 (setup, not measured); after the flood window has
    passed, each replies to each of their 10 questions with a realistic answer (a paraphrase of
    part of the model answer, key ideas named by an alias, the odd typo; see _harness.py).
    Those 5,000 graded answers are queued at once and measured until the last verdict arrives.
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
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))

from _harness import ROOT, BotProcess, Fake, Meter, question_of, quiet_push_env, realistic_reply, wait_until, workdir  # noqa: E402

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


async def run_bot(fake: Fake, tmp: Path, users: int, per_user: int, rng: random.Random, profile: Path | None):
    bank = load_bank()
    bot = BotProcess(fake, kind="bot", workdir=tmp, env={"TUTOR_MAX_MESSAGES_PER_SECOND": "0", **quiet_push_env()})
    await bot.start()
    try:
        ids = range(10_000_001, 10_000_001 + users)
        t0 = time.perf_counter()
        for u in ids:
            fake.message(u, "/start", first_name=f"User{u % 1000}")
        await wait_until(lambda: all(len(fake.by_chat[u]) >= 1 for u in ids), 300, "welcomes")
        for _ in range(per_user):
            for u in ids:
                fake.message(u, "/quiz")
        await wait_until(lambda: all(len(fake.by_chat[u]) >= 1 + per_user for u in ids), 600, "questions")
        setup_s = time.perf_counter() - t0
        messages = []
        for k in range(per_user):
            for u in ids:
                qmsg = fake.by_chat[u][1 + k]
                q = question_of(bank, qmsg.text)
                if q is None:
                    raise RuntimeError(f"not a question: {qmsg.text[:80]!r}")
                messages.append((u, realistic_reply(q, rng), qmsg))
        await asyncio.sleep(FLOOD_WINDOW)
        spy = start_profiler(bot.pid, profile) if profile else None
        meter, keys = await feed_and_wait(fake, bot, messages, "verdicts", 900)
        if spy is not None:
            stop_profiler(spy)
        verdicts = Counter(verdict_of(fake.reply_text[k]) for k in keys)
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


async def run_echo(fake: Fake, tmp: Path, messages):
    echo = BotProcess(fake, kind="echo", workdir=tmp, env={"TUTOR_MAX_MESSAGES_PER_SECOND": "0"})
    await echo.start()
    try:
        warm = [(u, text, reply_to) for u, text, reply_to in messages[:500]]
        await feed_and_wait(fake, echo, warm, "echo warm-up", 300)
        meter, keys = await feed_and_wait(fake, echo, messages, "echoes", 900)
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


CATEGORIES = [  # first match on a frame's file wins; a sample goes to the category of its leaf frame
    ("grading (content/)", ("/content/",)),
    ("storage (storage/, sqlite-utils, sqlite3)", ("/storage/", "sqlite_utils", "sqlite3")),
    ("bot handlers (bot/)", ("/bot/",)),
    ("HTTP client (httpx, httpcore, h11, anyio)", ("httpx", "httpcore", "h11", "anyio", "ssl.py", "socket.py")),
    ("PTB framework (telegram/)", ("/telegram/",)),
    ("JSON", ("/json/",)),
    ("asyncio event loop", ("asyncio", "selectors.py")),
    ("threads / executor", ("threading.py", "concurrent/futures", "queue.py")),
    ("other", ("",)),
]


def _frame_file(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    if "(" in frame and frame.endswith(")"):
        return frame[frame.rfind("(") + 1:-1]
    return frame


def category(frame: str) -> str:
    path = _frame_file(frame)
    for name, needles in CATEGORIES:
        if any(n in path for n in needles):
            return name
    return "other"


def summarise_profile(path: Path, top: int = 20) -> str:
    leaf: Counter[str] = Counter()
    cats: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    watch = {"grade_reply": "content.grade_reply (all grading)",
             "_submit": "AsyncStore._submit (awaiting the storage thread)",
             "process_update": "Application.process_update (handlers)",
             "_network_loop_retry": "Updater polling loop",
             "do_request": "HTTPXRequest.do_request (HTTP round trips)",
             "de_json": "Update/Message.de_json (parsing)"}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        thread = frames[0]
        frames = [f for f in frames[1:] if f.strip()]
        if not frames:
            continue
        total += n
        threads["storage thread" if "storage" in thread else "main thread" if "MainThread" in thread or "main" in thread.lower() else thread.split(" ")[0]] += n
        leaf[frames[-1]] += n
        # attribute to the innermost frame that belongs to a named category other than stdlib glue
        cats[category(frames[-1])] += n
        seen = set()
        for f in frames:
            fn = f.split(" (")[0]
            if fn in watch and fn not in seen:
                seen.add(fn)
                inclusive[watch[fn]] += n
    if not total:
        return "profile: no samples"
    out = [f"py-spy profile of the bot, measured phase: {total} CPU samples (idle excluded)", "",
           f"{'where the CPU goes (leaf frame)':<48}{'share':>8}"]
    for name, n in cats.most_common():
        out.append(f"{name:<48}{n / total:>8.1%}")
    out += ["", f"{'by thread':<48}{'share':>8}"]
    for name, n in threads.most_common():
        out.append(f"{name:<48}{n / total:>8.1%}")
    out += ["", f"{'inclusive (any frame on the stack)':<48}{'share':>8}"]
    for name, n in inclusive.most_common():
        out.append(f"{name:<48}{n / total:>8.1%}")
    out += ["", f"top {top} functions by self time"]
    for frame, n in leaf.most_common(top):
        short = frame.replace(str(ROOT) + "/", "").replace(sys.prefix, "<venv>")
        if "site-packages/" in short:
            short = short.split("(")[0] + "(" + short.split("site-packages/", 1)[1]
        out.append(f"  {n / total:>6.1%}  {short[:110]}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ main
async def main_async(args) -> int:
    rng = random.Random(args.seed)
    with workdir("answer_cost-") as tmpname:
        tmp = Path(tmpname)
        fake = await Fake().start()
        try:
            profile = tmp / "profile.txt" if args.profile else None
            bot_m, setup_s, messages, verdicts, bot_rss, bot_errors = await run_bot(fake, tmp, args.users, args.per_user, rng, profile)
            echo_m, echo_rss, echo_errors = await run_echo(fake, tmp, messages)
            profile_text = summarise_profile(profile) if profile and profile.exists() else None
            if profile and args.keep_profile:
                shutil.copy(profile, args.keep_profile)
        finally:
            await fake.stop()

    n = len(messages)
    rows = [("bot (grading + SQLite)", bot_m, bot_rss), ("echo (bare PTB)", echo_m, echo_rss)]
    print(f"N = {n:,} answers from {args.users} users ({args.per_user} each); rate limiter off; "
          f"setup (/start + /quiz x{args.per_user}) took {setup_s:.1f} s, not measured")
    if args.profile:
        print("NOTE: py-spy was sampling the bot during its measured phase; its CPU figures include that overhead.")
    print()
    print(f"{'process':<26}{'updates':>9}{'wall s':>9}{'CPU s':>9}{'upd/CPU-s':>11}{'upd/wall-s':>12}"
          f"{'CPU/wall':>10}{'fake CPU s':>12}{'peak RSS':>10}")
    for name, m, rss in rows:
        print(f"{name:<26}{n:>9,}{m.wall:>9.2f}{m.cpu:>9.2f}{n / m.cpu:>11.0f}{n / m.wall:>12.0f}"
              f"{m.cpu / m.wall:>10.0%}{m.fake_cpu:>12.2f}{rss:>8.0f} MiB")
    per_cpu = (n / bot_m.cpu) / (n / echo_m.cpu)
    per_wall = (n / bot_m.wall) / (n / echo_m.wall)
    print(f"{'ratio bot / echo':<26}{'':>9}{'':>9}{'':>9}{per_cpu:>11.2f}{per_wall:>12.2f}")
    print()
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in verdicts.most_common()))
    print(f"CPU per update: bot {bot_m.cpu / n * 1e3:.2f} ms, echo {echo_m.cpu / n * 1e3:.2f} ms; "
          f"grading + storage + handlers add {(bot_m.cpu - echo_m.cpu) / n * 1e3:.2f} ms")
    for name, errors in (("bot", bot_errors), ("echo", echo_errors)):
        if errors:
            print(f"{name} logged {len(errors)} error lines, first: {errors[0][:150]}")
    if profile_text:
        print()
        print(profile_text)
    ok = per_cpu >= 0.70
    print()
    print(f"summary: bot {n / bot_m.cpu:,.0f} updates/CPU-s ({n / bot_m.wall:,.0f}/wall-s), echo {n / echo_m.cpu:,.0f} "
          f"updates/CPU-s ({n / echo_m.wall:,.0f}/wall-s); ratio bot/echo {per_cpu:.2f} per CPU-s "
          f"(target >= 0.70: {'met' if ok else 'NOT met'}), {per_wall:.2f} per wall-s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--per-user", type=int, default=10, help="graded answers per user (N = users x this)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="py-spy the bot during its measured phase")
    parser.add_argument("--keep-profile", help="copy py-spy's raw collapsed stacks to this file")
    args = parser.parse_args()
    if args.per_user > 19:
        parser.error("--per-user must be < 20 (the flood guard mutes more than 20 updates in 10 s)")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
