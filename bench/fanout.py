"""The daily push through a server that enforces Telegram's limits, with mixed traffic.

The real bot process (`python -m bot.cli run`, its real limiter: TUTOR_MAX_MESSAGES_PER_SECOND=30)
against the strict fake Bot API (tests/fake_telegram.py, `strict=True`: at most 30 messages in
any second and 20 a minute into one group, 429 with retry_after beyond). While the push runs,
new users send /start (their welcomes are replies, which go first) and some push targets are
groups. Prints the pace of the push and of everything sent, the 429s, misses and duplicates.

Targets (issue 18): 0 x 429; fan-out >= 28 messages/s.

    uv run python bench/fanout.py                      # 1,000 chats + 20 groups, 2 welcomes/s (~40 s)
    uv run python bench/fanout.py --chats 2000 --groups 0 --welcomes 0
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import BotProcess, Fake, create_due_chats, quiet_push_env, wait_until, workdir  # noqa: E402


def daily(fake: Fake) -> list:
    return [s for s in fake.sent if s.method == "sendMessage" and "Question of the day" in s.text]


async def main_async(args) -> int:
    fake = await Fake(strict=True).start()
    try:
        with workdir("fanout-") as tmp:
            tmp = Path(tmp)
            chats = create_due_chats(tmp / "tutor.db", args.chats, args.groups)
            # New users' own push time is half a day away: the only push is the one measured.
            env = {**quiet_push_env(), "TUTOR_TICK_SECONDS": "0.5", "TUTOR_MAX_MESSAGES_PER_SECOND": "30"}
            bot = BotProcess(fake, env=env, workdir=tmp)
            await bot.start()
            newcomers: list[int] = []

            async def welcomes() -> None:
                while args.welcomes and len({s.chat_id for s in daily(fake)}) < len(chats):
                    newcomers.append(9_000_000 + len(newcomers))
                    fake.message(newcomers[-1], "/start")
                    await asyncio.sleep(1 / args.welcomes)

            stream = asyncio.create_task(welcomes())
            try:
                await wait_until(lambda: len({s.chat_id for s in daily(fake)}) == len(chats), args.chats / 20 + 120,
                                 "every chat's question")
                await stream
                await wait_until(lambda: all(fake.by_chat.get(u) for u in newcomers), 60, "every welcome")
            finally:
                stream.cancel()
                await bot.stop()
            errors = bot.log_errors()
    finally:
        await fake.stop()

    pushed = daily(fake)
    first, last = min(s.at for s in pushed), max(s.at for s in pushed)
    took = last - first
    span = fake.accepted_at  # monotonic arrivals of every message that took effect
    window_start, window_end = min(span), max(span)
    counts = Counter(s.chat_id for s in pushed)
    print(f"push to {len(chats)} chats ({args.groups} groups) with {len(newcomers)} welcomes mixed in:")
    print(f"  daily questions: {len(pushed) / took:.1f} msg/s over {took:.1f} s")
    print(f"  everything sent: {len(span) / (window_end - window_start):.1f} msg/s ({len(span)} messages)")
    print(f"  429s: {fake.too_many}; missed: {len(chats) - len(counts)}; duplicates: {sum(counts.values()) - len(counts)}; "
          f"welcomes: {sum(1 for u in newcomers if fake.by_chat.get(u))}/{len(newcomers)}")
    if errors:
        print("  bot errors:", *errors[:5], sep="\n    ")
    ok = fake.too_many == 0 and len(counts) == len(chats) and max(counts.values()) == 1
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000, help="private chats due at once")
    parser.add_argument("--groups", type=int, default=20, help="group chats due at once")
    parser.add_argument("--welcomes", type=float, default=2.0, help="new users' /start per second during the push")
    args = parser.parse_args()
    started = time.monotonic()
    code = asyncio.run(main_async(args))
    print(f"({time.monotonic() - started:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
