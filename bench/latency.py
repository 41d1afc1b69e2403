"""Reply latency at a realistic offered load, rate limiter on (not a test).

    uv run python bench/latency.py                      # 20 answers/s for 60 s (Poisson), then a burst of 200
    uv run python bench/latency.py --arrivals even      # evenly spaced arrivals instead of Poisson
    uv run python bench/latency.py --limiter bucket     # the limiter used before bot/ratelimit.py

Latency = from the moment the fake Bot API server hands the update out (getUpdates returns it) to
the moment the bot's reply to that message arrives at the server: fetching, parsing, grading,
SQLite, the rate limiter's pacing and the HTTP round trip of the reply.

The fake server runs in this process; the bot (`python -m bot.cli run`, real SQLite file) runs as a
child process. Setup (each user: /start, /quiz x2) runs with the limiter off; the bot is then
restarted on the same database with TUTOR_MAX_MESSAGES_PER_SECOND (default 30) and measured:
  steady: graded answers (replies to the users' questions) at --rate per second for --seconds;
  burst:  --burst graded answers queued at once (other users).
Baseline in the same run: the echo bot (bare PTB, the bot's own rate limiter settings) fed the
same messages on the same schedule.
Target (issue): p99 < 100 ms at 20 answers/s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))

from _harness import BotProcess, Fake, Meter, percentiles, question_of, quiet_push_env, realistic_reply, wait_until, workdir  # noqa: E402

from content import load_bank  # noqa: E402

QUIZZES = 2


def schedule(n: int, rate: float, arrivals: str, rng: random.Random) -> list[float]:
    """Offsets (s) of n arrivals at `rate` per second."""
    if arrivals == "even":
        return [i / rate for i in range(n)]
    t, out = 0.0, []
    for _ in range(n):
        out.append(t)
        t += rng.expovariate(rate)
    return out


async def offer(fake: Fake, proc: BotProcess, messages, offsets: list[float] | None, what: str, timeout: float):
    """Queue `messages` at `offsets` (None: all at once); wait for every reply; latencies in s."""
    sent = []  # (update id, key)
    with Meter(proc) as meter:
        start = time.perf_counter()
        for i, (user_id, text, reply_to) in enumerate(messages):
            if offsets is not None:
                delay = start + offsets[i] - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            update_id, message_id = fake.push_message(user_id, text, reply_to)
            sent.append((update_id, (user_id, message_id)))
        await wait_until(lambda: all(k in fake.reply_at for _, k in sent), timeout, what, step=0.01)
    latencies = [fake.reply_at[k] - fake.handed_out[u] for u, k in sent]
    drain = max(fake.reply_at[k] for _, k in sent) - min(fake.handed_out[u] for u, _ in sent)
    return latencies, meter, drain, [fake.reply_text[k] for _, k in sent]


async def measure(fake: Fake, proc: BotProcess, steady, offsets, burst, warmup, args):
    await offer(fake, proc, warmup, [i / 10 for i in range(len(warmup))], "warm-up replies", 60)
    await asyncio.sleep(1)
    steady_r = await offer(fake, proc, steady, offsets, "steady-load replies", args.seconds + 120)
    await asyncio.sleep(3)
    burst_r = await offer(fake, proc, burst, None, "burst replies", 120 + len(burst) / max(args.limit, 1))
    return steady_r, burst_r, proc.peak_rss_mib()


def kinds(texts: list[str]) -> Counter:
    out: Counter = Counter()
    for t in texts:
        out["verdict" if t[:1] in "✅🟡❌" else "other: " + t[:30]] += 1
    return out


async def main_async(args) -> int:
    rng = random.Random(args.seed)
    bank = load_bank()
    n_steady = int(args.rate * args.seconds)
    steady_users = (n_steady + QUIZZES - 1) // QUIZZES
    burst_users = args.burst
    users = list(range(20_000_001, 20_000_001 + steady_users + burst_users))
    quiet = quiet_push_env()
    with workdir("latency-") as tmpname:
        tmp = Path(tmpname)
        fake = await Fake().start()
        try:
            # ---- setup: register users and give each two open questions (limiter off: fast)
            setup = BotProcess(fake, workdir=tmp, name="bot-setup", env={"TUTOR_MAX_MESSAGES_PER_SECOND": "0", **quiet})
            await setup.start()
            try:
                t0 = time.perf_counter()
                for u in users:
                    fake.message(u, "/start")
                await wait_until(lambda: all(len(fake.by_chat[u]) >= 1 for u in users), 300, "welcomes")
                for _ in range(QUIZZES):
                    for u in users:
                        fake.message(u, "/quiz")
                await wait_until(lambda: all(len(fake.by_chat[u]) >= 1 + QUIZZES for u in users), 600, "questions")
                setup_s = time.perf_counter() - t0
            except BaseException:
                print(f"setup failed:\n{setup.first_traceback() or setup.tail()}", file=sys.stderr)
                raise
            finally:
                await setup.stop()

            def answer(u: int, k: int):
                qmsg = fake.by_chat[u][1 + k]
                q = question_of(bank, qmsg.text)
                if q is None:
                    raise RuntimeError(f"not a question: {qmsg.text[:80]!r}")
                return (u, realistic_reply(q, rng), qmsg)

            steady_u, burst_u = users[:steady_users], users[steady_users:]
            # question 1 of every steady user, then question 2: one user's answers are ~30 s apart
            steady = [answer(u, k) for k in range(QUIZZES) for u in steady_u][:n_steady]
            burst = [answer(u, 0) for u in burst_u]
            warmup = [(u, "/streak", None) for u in burst_u[:30]]
            offsets = schedule(len(steady), args.rate, args.arrivals, rng)

            env = {"TUTOR_MAX_MESSAGES_PER_SECOND": str(args.limit), **quiet}
            results = {}
            for kind in ("bot", "echo"):
                proc = BotProcess(fake, kind=kind, workdir=tmp, env=env, tweaks=args.tweaks)
                await proc.start()
                try:
                    results[kind] = await measure(fake, proc, steady, offsets, burst, warmup, args)
                except BaseException:
                    print(f"{kind} failed:\n{proc.first_traceback() or proc.tail()}", file=sys.stderr)
                    raise
                finally:
                    await proc.stop()
                results[kind] += (proc.log_errors(),)
        finally:
            await fake.stop()

    print(f"{len(users)} users (setup /start + /quiz x{QUIZZES}: {setup_s:.1f} s, limiter off, not measured); "
          f"measured with TUTOR_MAX_MESSAGES_PER_SECOND={args.limit:g}; {args.arrivals} arrivals")
    if args.tweaks:
        print(f"EXPERIMENT: overridden in both processes: {' '.join(args.tweaks)}")
    print("latency = fake server hands the update out -> the reply arrives at the fake server\n")
    head = (f"{'phase':<26}{'process':<7}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'drain s':>9}{'CPU s':>8}{'wall s':>8}{'CPU/wall':>9}")
    print(head)
    summary = {}
    for phase, index, label in (("steady", 0, f"{args.rate:g}/s for {args.seconds:g} s"), ("burst", 1, f"burst of {args.burst}")):
        for kind in ("bot", "echo"):
            lat, meter, drain, texts = results[kind][index]
            p50, p95, p99, mx = percentiles(lat)
            summary[(phase, kind)] = (p50, p95, p99)
            print(f"{label:<26}{kind:<7}{len(lat):>6}{p50 * 1e3:>9.1f}{p95 * 1e3:>9.1f}{p99 * 1e3:>9.1f}{mx * 1e3:>9.1f}"
                  f"{drain:>9.2f}{meter.cpu:>8.2f}{meter.wall:>8.2f}{meter.cpu / meter.wall:>9.0%}")
    print()
    for kind in ("bot", "echo"):
        _, _, _, texts = results[kind][0]
        rss, errors = results[kind][2], results[kind][3]
        extra = f"; {len(errors)} error lines in its log, first: {errors[0][:120]}" if errors else ""
        if kind == "bot":
            print(f"bot replies in the steady phase: {dict(kinds(texts))}; peak RSS {rss:.0f} MiB{extra}")
        else:
            print(f"echo peak RSS {rss:.0f} MiB{extra}")
    if args.limit > 0:
        print(f"a burst of {args.burst} needs about {args.burst / args.limit:.1f} s to drain at {args.limit:g} messages/s")
    bot_p99 = summary[("steady", "bot")][2] * 1e3
    ok = bot_p99 < 100
    b50, _, b99 = summary[("burst", "bot")]
    e99 = summary[("steady", "echo")][2] * 1e3
    print(f"\nsummary: at {args.rate:g} answers/s ({args.arrivals}) bot p50/p95/p99 "
          + "/".join(f"{x * 1e3:.0f}" for x in summary[("steady", "bot")])
          + f" ms (echo p99 {e99:.0f} ms), target p99 < 100 ms: {'met' if ok else 'NOT met'}; "
          f"burst of {args.burst}: p50 {b50 * 1e3:.0f} ms, p99 {b99 * 1e3:.0f} ms (limiter {args.limit:g}/s)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="answers per second in the steady phase")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--limit", type=float, default=30.0, help="TUTOR_MAX_MESSAGES_PER_SECOND for the measured bots")
    parser.add_argument("--arrivals", choices=("poisson", "even"), default="poisson")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limiter", choices=("bucket",), help="baseline: the leaky-bucket pace used before bot/ratelimit.py")
    parser.add_argument("--pool", type=int, help="experiment: ApplicationBuilder.connection_pool_size")
    parser.add_argument("--worker-store", action="store_true", help="experiment: every storage call on the storage thread")
    args = parser.parse_args()
    args.tweaks = ((["--limiter", args.limiter] if args.limiter else []) + (["--pool", str(args.pool)] if args.pool else [])
                   + (["--worker-store"] if args.worker_store else []))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
