"""kill -9 at 20 random moments during a burst of 2,000 mixed updates (issue 18, full size).

The same scenario as tests/test_reliability.py's kill -9 test (5 kills during 300 updates), at
the issue's size: 1,000 new users' /start, 600 answers (300 learners, two each) and 400 hint
presses, shuffled, arriving at --rate a second; the real bot process is killed -9 at --kills
random moments of the burst and restarted at once. Prints what was lost (must be 0) and the
duplicate window it measured.

    uv run python bench/crash_burst.py                 # ~2-4 minutes
    uv run python bench/crash_burst.py --kills 5 --starts 150 --learners 45 --pressers 30
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402, F401 — puts the project root on sys.path

from content import load_bank  # noqa: E402
from tests.bot_process import BotProcesses, kill_burst  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

CONCURRENT_UPDATES = 16  # bot/app.py: updates handled at once, the most a kill can catch mid-way


async def main_async(args) -> int:
    # A killed bot drops its connections mid-request: aiohttp would print a traceback for each.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    tg = await FakeTelegram().start()
    with tempfile.TemporaryDirectory(prefix="crash-burst-") as tmp:
        processes = BotProcesses(Path(tmp))
        try:
            result = await kill_burst(tg, processes, Path(tmp) / "tutor.db", starts=args.starts, learners=args.learners,
                                      pressers=args.pressers, kills=args.kills, seed=args.seed, per_second=args.rate,
                                      question_ids=[q.id for q in load_bank().questions[:8]])
        finally:
            processes.cleanup()
            await tg.stop()
    lost = sum(result.unanswered.values()) + result.starters_not_subscribed + result.answers_not_stored
    print(f"kill -9 x{args.kills} during {result.updates} updates in {result.seconds:.0f} s "
          f"(handled at each kill: {result.killed_at})")
    print(f"  lost: {lost} (unanswered {dict(result.unanswered)}, /start not subscribed {result.starters_not_subscribed}, "
          f"answers not stored {result.answers_not_stored}); graded twice: {result.answers_stored_twice}")
    print(f"  verdicts a kill held back, sent with the learner's next message: {result.held_back}")
    print(f"  duplicate replies: {result.duplicates} {dict(result.duplicates_by_kind)} "
          f"(bound: {CONCURRENT_UPDATES} per kill = {CONCURRENT_UPDATES * args.kills})")
    return 0 if lost == 0 and result.answers_stored_twice == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--starts", type=int, default=1000, help="new users sending /start")
    parser.add_argument("--learners", type=int, default=300, help="learners answering two questions each")
    parser.add_argument("--pressers", type=int, default=200, help="of those, how many press 💡 under both")
    parser.add_argument("--rate", type=float, default=100.0, help="updates a second")
    parser.add_argument("--seed", type=int, default=18)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
