"""Render time and memory of the /stats and /top pictures (bot/charts.py); not a test.

    uv run python bench/charts.py                  # 1,000 renders of the 200-answer /stats picture
    uv run python bench/charts.py -n 200           # fewer
    uv run python bench/charts.py --threads 4      # experiment: 4 render threads instead of 1

Every render goes through `render_in_worker`, from a running event loop, as the bot does it.

* Render time: measured inside the worker (the renderer alone) and around the await (what a
  handler waits: the renderer plus the hand-over to and from the thread); p50 / p99 / max.
  Target (issue 20): p99 < 300 ms.
* Loop lag while rendering (a separate run after the RSS one, so its list of samples does not
  count as growth): a coroutine that asks to wake every 5 ms records how late it wakes. A render
  that held the loop (or the GIL for long) would show here as a lag near its length. The same
  probe for 10 s without renders first: on a busy machine the loop is late without any help.
* RSS (VmRSS from /proc, the resident set now, not the peak): before matplotlib is imported,
  after the first render (the import), after 50 warm-up renders, then every 100 renders up to
  N. The slope is the least-squares fit over those samples, in KiB per 100 renders. Target: no
  growth beyond noise over 1,000 renders.
* --threads K: K threads render K pictures at once (throughput in pictures per second against one
  thread), the reason `render_in_worker` uses one thread: rendering is Python holding the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parent.parent
# The project root before bench/ (Python puts the script's folder first): bench/storage.py would
# shadow the storage package, and this file would shadow nothing but reads better that way.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bot.charts import (  # noqa: E402
    CALENDAR_WEEKS,
    LeaderboardPicture,
    StatsPicture,
    png_size,
    render_in_worker,
    render_leaderboard,
    render_stats,
)
from content.progress import TopicMastery  # noqa: E402
from storage.models import LeaderboardRow  # noqa: E402

TODAY = date(2026, 12, 2)
TITLES = [
    "Backpropagation and gradients", "Attention mechanisms", "Convolutional neural networks",
    "Training in practice: debugging, mixed precision, efficiency", "Activation functions",
    "Generalisation, overfitting and the bias-variance trade-off", "Optimisers and gradient descent",
    "Recurrent neural networks", "Evaluation metrics", "Autoencoders and VAEs", "Data augmentation",
    "Batch norm, layer norm and other normalisation",
]


def learner_200(seed: int = 200) -> StatsPicture:
    """200 answers over 26 weeks, 12 topics (10 drawn), a streak, two freezes, a full forecast."""
    rng = Random(seed)
    days: dict[date, int] = {}
    left = 200
    while left:
        day = TODAY - timedelta(days=rng.randrange(7 * CALENDAR_WEEKS))
        n = min(left, rng.randint(1, 12))
        days[day] = days.get(day, 0) + n
        left -= n
    freezes = frozenset({TODAY - timedelta(days=4), TODAY - timedelta(days=40)})
    return StatsPicture(
        today=TODAY, answers_by_day=days,
        streak_days=frozenset(TODAY - timedelta(days=i) for i in range(12)) | freezes,
        freeze_days=freezes,
        topics=[TopicMastery(t, rng.random(), rng.randint(1, 40), "retrievability") for t in TITLES],
        mastery_kind="retrievability", forecast=[5, 12, 0, 3, 8, 1, 2],
    )


def full_leaderboard() -> LeaderboardPicture:
    names = ["Anna 🐍", "$x$ <b>bold</b>", "W" * 300, "יוסי כהן", "محمد علي"]
    rows = [LeaderboardRow(i, names[i % len(names)] + f" {i}", None, 1000 - 37 * i, 300 - 9 * i, 0)
            for i in range(10)]
    return LeaderboardPicture("DL interview prep", rows, rows[::-1])


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: Sequence[float]) -> str:
    return (f"p50 {pct(values, 0.5) * 1e3:6.1f} ms  p99 {pct(values, 0.99) * 1e3:6.1f} ms  "
            f"max {max(values) * 1e3:6.1f} ms")


class LagProbe:
    """Wakes every 5 ms on the loop and records how late each wake-up is."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lags.append(time.perf_counter() - start - 0.005)

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def timed_renders(fn, data, n: int, rss_every: int = 0, rss: list[tuple[int, int]] | None = None
                        ) -> tuple[array[float], array[float], array[float], bytes]:
    """n renders through `render_in_worker`, one after the other. The timings go into arrays
    allocated up front, so the benchmark's own bookkeeping does not show as RSS growth."""
    inside, around, cpu = (array("d", bytes(8 * n)) for _ in range(3))
    i = 0

    def render(d):
        start, start_cpu = time.perf_counter(), time.thread_time()
        png = fn(d)
        inside[i] = time.perf_counter() - start
        cpu[i] = time.thread_time() - start_cpu
        return png

    png = b""
    for i in range(n):  # render() reads i in the worker, before the next i
        start = time.perf_counter()
        png = await render_in_worker(render, data)
        around[i] = time.perf_counter() - start
        if rss is not None and rss_every and (i + 1) % rss_every == 0:
            rss.append((i + 1, rss_kib()))
    return inside, around, cpu, png


async def main_async(n: int) -> None:
    stats, board = learner_200(), full_leaderboard()
    before_import = rss_kib()
    start = time.perf_counter()
    first = await render_in_worker(render_stats, stats)
    first_s = time.perf_counter() - start
    after_first = rss_kib()
    await timed_renders(render_stats, stats, 49)
    await timed_renders(render_leaderboard, board, 50)
    warm = rss_kib()
    print(f"first render (imports matplotlib): {first_s * 1e3:.0f} ms; RSS {before_import / 1024:.1f} MiB "
          f"before, {after_first / 1024:.1f} MiB after it, {warm / 1024:.1f} MiB after 100 warm-up renders")
    print(f"/stats 200 answers: {png_size(first)[0]}x{png_size(first)[1]} px, {len(first) / 1024:.1f} KiB")

    samples: list[tuple[int, int]] = [(0, warm)]
    inside, around, cpu, _ = await timed_renders(render_stats, stats, n, 100, samples)
    print(f"\n{n} x /stats (200 answers), in the worker:  {ms(inside)}")
    print(f"{'':{len(str(n))}}   awaited by the handler:     {ms(around)}")
    print(f"{'':{len(str(n))}}   CPU time of the worker:     {ms(cpu)}")

    slope = statistics.linear_regression([i for i, _ in samples], [k for _, k in samples]).slope * 100
    print(f"\nRSS every 100 renders (MiB): {' '.join(f'{k / 1024:.1f}' for _, k in samples)}")
    print(f"RSS after warm-up {warm / 1024:.1f} MiB -> after {n} renders {samples[-1][1] / 1024:.1f} MiB "
          f"(max {max(k for _, k in samples) / 1024:.1f}); slope {slope:+.1f} KiB per 100 renders")

    m = max(100, n // 5)
    with LagProbe() as idle:  # the baseline: how late the loop wakes on this machine with no render
        await asyncio.sleep(10)
    with LagProbe() as probe:
        inside, around, cpu, png = await timed_renders(render_leaderboard, board, m)
        await timed_renders(render_stats, stats, m)
    print(f"\n{m} x /top (2 x 10 rows), in the worker: {ms(inside)}   "
          f"({png_size(png)[0]}x{png_size(png)[1]} px, {len(png) / 1024:.1f} KiB)")
    print(f"{'':{len(str(m))}}   CPU time of the worker:     {ms(cpu)}")
    print(f"\nloop lag, 10 s without renders ({len(idle.lags)} wake-ups):        {ms(idle.lags)}")
    print(f"loop lag during {m} /top and {m} /stats renders ({len(probe.lags)} wake-ups): {ms(probe.lags)}")


async def threads_async(k: int, rounds: int) -> None:
    """K renders at once on K threads, against the same renders one at a time on one thread."""
    stats = learner_200()
    loop = asyncio.get_running_loop()
    for threads in (1, k):
        with ThreadPoolExecutor(threads) as pool:
            await asyncio.gather(*(loop.run_in_executor(pool, render_stats, stats) for _ in range(threads)))
            start = time.perf_counter()
            await asyncio.gather(*(loop.run_in_executor(pool, render_stats, stats) for _ in range(rounds * k)))
            took = time.perf_counter() - start
        print(f"{threads} thread(s): {rounds * k} renders in {took:.2f} s = {rounds * k / took:.1f} pictures/s, "
              f"{took / (rounds * k) * 1e3:.0f} ms each on average")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="measured /stats renders (default 1,000)")
    parser.add_argument("--threads", type=int, default=0, help="experiment: K render threads at once")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average {load:.1f} at the start; "
          f"command: {' '.join(['bench/charts.py', *sys.argv[1:]])}")
    if args.threads:
        asyncio.run(threads_async(args.threads, rounds=10))
    else:
        asyncio.run(main_async(args.n))


if __name__ == "__main__":
    main()
