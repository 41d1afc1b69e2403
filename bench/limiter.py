"""How much of the reply latency is the limiter's doing, and how much is Telegram's window itself.

    uv run python bench/limiter.py                       # 6 seeds x 120 s of virtual time (~1 min)
    uv run python bench/limiter.py --seconds 600 --seeds 3

`bench/latency.py` measures reply p99 at 20 answers a second during a push against the strict
fake server, in real time, 30 s per run: its p99 is the 6th-worst of 600 replies and swings with
the seed (54-145 ms). This runs the real `TelegramLimits` in *virtual* time (an event loop whose
clock jumps to the next timer, so minutes take a second), with a fixed round trip, and compares
in the same run:

* **window only**: Poisson replies and no push at all. What 30 messages in any second costs by
  itself: Poisson arrivals at 20/s put 31+ in some second about once a minute, and those replies
  must wait for a slot whatever the limiter does. This is the floor.
* **during a push**: the same replies (same seed, same arrival times) while 8 workers push as fast
  as the limiter lets them.

The difference is what the push costs a waiting learner. It also checks, from the send times,
that no second ever held more than 30 messages. Not a test; read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import selectors
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.limits import Priority, TelegramLimits  # noqa: E402


class SkippingSelector(selectors.DefaultSelector):
    """A selector that never sleeps: a wait for `timeout` seconds moves the virtual clock instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list:  # type: ignore[override]
        if timeout is not None and timeout > 0:
            self.now += timeout
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.selector = SkippingSelector()
        super().__init__(self.selector)

    def time(self) -> float:
        return self.selector.now


def run(seed: int, *, rate: float, seconds: float, rtt: float, push: bool) -> tuple[list[float], int, float]:
    """Reply latencies (s), the most messages in any second, and the push's messages per second."""
    loop = VirtualTimeLoop()
    arrivals: list[float] = []  # when Telegram received each message (half a round trip after it left)
    latencies: list[float] = []
    pushed = 0

    async def telegram() -> bool:
        arrivals.append(loop.time() + rtt / 2)
        await asyncio.sleep(rtt)
        return True

    async def main() -> None:
        done = False
        limits = TelegramLimits(30)

        async def reply(received: float) -> None:
            await limits.process_request(telegram, (), {}, "sendMessage", {"chat_id": 1}, None)
            latencies.append(loop.time() - received - rtt)  # beyond the round trip itself

        async def push_worker() -> None:
            nonlocal pushed
            while not done:  # not cancel(): Python 3.11's wait_for can swallow a cancellation
                args = {"priority": Priority.BULK}
                await limits.process_request(telegram, (), {}, "sendMessage", {"chat_id": 2}, args)
                pushed += 1

        workers = [asyncio.create_task(push_worker()) for _ in range(8 if push else 0)]
        await asyncio.sleep(3)  # the push is under way before learners answer
        rng, at, replies = random.Random(seed), 3.0, []
        while at < seconds + 3:
            at += rng.expovariate(rate)
            await asyncio.sleep(at - loop.time())
            replies.append(asyncio.create_task(reply(loop.time())))
        await asyncio.gather(*replies)
        done = True
        await asyncio.gather(*workers)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    arrivals.sort()
    most, first = 0, 0
    for last, when in enumerate(arrivals):
        while when - arrivals[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return latencies, most, pushed / (seconds + 3)


def p99_ms(samples: list[float]) -> float:
    return sorted(samples)[int(0.99 * len(samples))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="answers per second (Poisson)")
    parser.add_argument("--seconds", type=float, default=120.0, help="virtual seconds of answers per run")
    parser.add_argument("--seeds", type=int, default=6, help="how many arrival sequences")
    parser.add_argument("--rtt", type=float, default=0.005, help="Telegram's round trip, seconds")
    args = parser.parse_args()
    print(f"{args.rate:g} answers/s, Poisson, {args.seconds:g} s per run, round trip {args.rtt * 1000:g} ms; "
          "reply p99 beyond the round trip")
    print(f"{'seed':>6} {'window only':>12} {'during push':>12} {'push msg/s':>11} {'most in 1 s':>12}")
    floor, during = [], []
    for seed in range(1, args.seeds + 1):
        alone, most_alone, _ = run(seed, rate=args.rate, seconds=args.seconds, rtt=args.rtt, push=False)
        pushing, most, pushed = run(seed, rate=args.rate, seconds=args.seconds, rtt=args.rtt, push=True)
        floor.append(p99_ms(alone))
        during.append(p99_ms(pushing))
        print(f"{seed:>6} {floor[-1]:>9.1f} ms {during[-1]:>9.1f} ms {pushed:>11.1f} {max(most, most_alone):>12}")
    print(f"{'median':>6} {statistics.median(floor):>9.1f} ms {statistics.median(during):>9.1f} ms")
    print(f"{'worst':>6} {max(floor):>9.1f} ms {max(during):>9.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
