"""Reply latency at 20 answers a second while a daily push runs, against Telegram's limits.

The real bot process (its real limiter, TUTOR_MAX_MESSAGES_PER_SECOND=30) against the strict
fake Bot API (tests/fake_telegram.py, `strict=True`: 30 messages in any second, 20 a minute per
group, 429 beyond). A push to --chats chats starts; once it is under way, learners answer their
open question (a realistic reply, graded by the real grader) at --rate a second, Poisson
arrivals, for --seconds. Latency is from the moment getUpdates hands the answer to the bot to the
moment its verdict reaches the server: what the learner feels beyond Telegram's own delivery.

Targets (issue 18): 0 x 429; reply p99 < 100 ms at 20 answers/s while a push runs.

    uv run python bench/latency.py                    # 2,000-chat push, 20 answers/s for 30 s (~60 s)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (  # noqa: E402
    BotProcess,
    Fake,
    create_due_chats,
    create_learners,
    percentiles,
    question_message,
    quiet_push_env,
    realistic_reply,
    wait_until,
    workdir,
)

from content import load_bank  # noqa: E402


def daily_count(fake: Fake) -> int:
    return sum(1 for s in fake.sent if s.method == "sendMessage" and "Question of the day" in s.text)


async def main_async(args) -> int:
    rng = random.Random(args.seed)
    bank = load_bank()
    fake = await Fake(strict=True).start()
    try:
        with workdir("latency-") as tmp:
            tmp = Path(tmp)
            chats = create_due_chats(tmp / "tutor.db", args.chats)
            learners = create_learners(tmp / "tutor.db", int(args.rate * args.seconds), bank)
            env = {**quiet_push_env(), "TUTOR_TICK_SECONDS": "0.5", "TUTOR_MAX_MESSAGES_PER_SECOND": "30"}
            bot = BotProcess(fake, env=env, workdir=tmp)
            await bot.start()
            await wait_until(lambda: daily_count(fake) >= 100, 60, "the push under way")
            pushed_before = daily_count(fake)
            began = time.perf_counter()
            answers: dict[tuple[int, int], int] = {}  # (chat, message id) -> update id
            for user, (message_id, question) in learners.items():
                update_id = fake.message(user, realistic_reply(question, rng), reply_to=question_message(fake, user, message_id))
                answers[(user, fake.updates[-1]["message"]["message_id"])] = update_id
                await asyncio.sleep(rng.expovariate(args.rate) if args.arrivals == "poisson" else 1 / args.rate)
            offered = time.perf_counter() - began
            await wait_until(lambda: all(key in fake.reply_at for key in answers), 60, "every verdict")
            pushed_during = daily_count(fake) - pushed_before
            still_pushing = daily_count(fake) < len(chats)
            await bot.stop()
            errors = bot.log_errors()
    finally:
        await fake.stop()

    waits = [fake.reply_at[key] - fake.handed_out[update_id] for key, update_id in answers.items()]
    p50, p95, p99, worst = percentiles(waits)
    print(f"{len(answers)} answers ({args.arrivals}) at {len(answers) / offered:.1f}/s while a push to {len(chats)} chats ran "
          f"(the push sent {pushed_during} questions meanwhile, {pushed_during / offered:.1f}/s; still running at the end: "
          f"{still_pushing}):")
    print(f"  reply latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms")
    print(f"  429s: {fake.too_many}")
    if errors:
        print("  bot errors:", *errors[:5], sep="\n    ")
    return 0 if fake.too_many == 0 and p99 < 0.1 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=2000, help="chats due for the push")
    parser.add_argument("--rate", type=float, default=20.0, help="answers per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long learners answer")
    parser.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson",
                        help="Poisson (bursts, as people write) or evenly spaced")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    started = time.monotonic()
    code = asyncio.run(main_async(args))
    print(f"({time.monotonic() - started:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
