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
import multiprocessing
import os
import statistics
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The project root before bench/ (Python puts the script's folder first): bench/storage.py would
# shadow the storage package, and this file would shadow nothing but reads better that way.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bot import charts  # noqa: E402
from bot.charts import (  # noqa: E402
    CALENDAR_WEEKS,
    LeaderboardPicture,
    StatsPicture,
    png_size,
    render_in_worker,
    render_leaderboard,
    render_stats,
    shutdown_renderer,
    warm_up,
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


def timed(args: tuple[Callable[[Any], bytes], Any]) -> tuple[bytes, float, float]:
    """Runs in the renderer process: ``fn(data)`` with its wall and CPU time there."""
    fn, data = args
    start, start_cpu = time.perf_counter(), time.thread_time()
    png = fn(data)
    return png, time.perf_counter() - start, time.thread_time() - start_cpu


def renderer_pid() -> int:
    """The renderer process: the only multiprocessing child of this process."""
    [child] = multiprocessing.active_children()
    assert child.pid is not None
    return child.pid


def child_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


class Renders:
    """Timings of renders through `render_in_worker`, in arrays allocated up front (so the
    benchmark's own bookkeeping does not show as growth), and the renders that were the first of
    a new renderer process (a recycle happened just before them)."""

    def __init__(self, n: int) -> None:
        self.inside, self.around, self.cpu = (array("d", bytes(8 * n)) for _ in range(3))
        self.after_recycle: list[float] = []
        self.pids: list[int] = []


async def timed_renders(fn, data, n: int, rss_every: int = 0, rss: list[tuple[int, int, int]] | None = None
                        ) -> tuple[Renders, bytes]:
    """n renders through `render_in_worker`, one after the other, each sent as soon as the last
    one is back (so a render right after a recycle waits for the new process)."""
    out = Renders(n)
    png = b""
    pid = renderer_pid()
    for i in range(n):
        start = time.perf_counter()
        png, out.inside[i], out.cpu[i] = await render_in_worker(timed, (fn, data))
        out.around[i] = time.perf_counter() - start
        now = renderer_pid()
        if now != pid:
            out.after_recycle.append(out.around[i])
            out.pids.append(now)
            pid = now
        if rss is not None and rss_every and (i + 1) % rss_every == 0:
            rss.append((i + 1, rss_kib(), child_rss_kib(now)))
    return out, png


async def main_async(n: int) -> None:
    stats, board = learner_200(), full_leaderboard()
    before = rss_kib()
    start = time.perf_counter()
    await warm_up()  # what the bot does at start: the fork server and the first renderer process
    started_s = time.perf_counter() - start
    start = time.perf_counter()
    first = await render_in_worker(render_stats, stats)
    first_s = time.perf_counter() - start
    after_first = rss_kib()
    await timed_renders(render_stats, stats, 49)
    await timed_renders(render_leaderboard, board, 50)
    warm = rss_kib()
    print(f"renderer started (fork server, matplotlib, fonts, one warm-up picture) in {started_s * 1e3:.0f} ms; "
          f"first /stats after it {first_s * 1e3:.0f} ms; a new renderer every {charts.MAX_RENDERS_PER_CHILD} "
          f"pictures")
    print(f"this process's RSS: {before / 1024:.1f} MiB before, {after_first / 1024:.1f} MiB after the first "
          f"render, {warm / 1024:.1f} MiB after 100 warm-up renders (matplotlib is never imported here)")
    print(f"/stats 200 answers: {png_size(first)[0]}x{png_size(first)[1]} px, {len(first) / 1024:.1f} KiB")

    samples: list[tuple[int, int, int]] = [(0, warm, child_rss_kib(renderer_pid()))]
    r, _ = await timed_renders(render_stats, stats, n, 100, samples)
    print(f"\n{n} x /stats (200 answers), in the renderer:  {ms(r.inside)}")
    print(f"{'':{len(str(n))}}   awaited by the handler:       {ms(r.around)}")
    print(f"{'':{len(str(n))}}   CPU time in the renderer:     {ms(r.cpu)}")
    if r.after_recycle:
        print(f"{'':{len(str(n))}}   the first render of each new renderer, sent right behind the recycle "
              f"({len(r.after_recycle)}): {ms(r.after_recycle)}")

    slope = statistics.linear_regression([i for i, _, _ in samples], [k for _, k, _ in samples]).slope * 100
    print(f"\nthis process's RSS every 100 renders (MiB): {' '.join(f'{k / 1024:.1f}' for _, k, _ in samples)}")
    print(f"RSS after warm-up {warm / 1024:.1f} MiB -> after {n} renders {samples[-1][1] / 1024:.1f} MiB "
          f"(max {max(k for _, k, _ in samples) / 1024:.1f}); slope {slope:+.1f} KiB per 100 renders")
    print(f"the renderer's RSS every 100 renders (MiB): {' '.join(f'{c / 1024:.1f}' for _, _, c in samples)}")

    await recycle_after_idle(stats)

    m = max(100, n // 5)
    with LagProbe() as idle:  # the baseline: how late the loop wakes on this machine with no render
        await asyncio.sleep(10)
    with LagProbe() as probe:
        r, png = await timed_renders(render_leaderboard, board, m)
        await timed_renders(render_stats, stats, m)
    print(f"\n{m} x /top (2 x 10 rows), in the renderer: {ms(r.inside)}   "
          f"({png_size(png)[0]}x{png_size(png)[1]} px, {len(png) / 1024:.1f} KiB)")
    print(f"{'':{len(str(m))}}   CPU time in the renderer:     {ms(r.cpu)}")
    print(f"\nloop lag, 10 s without renders ({len(idle.lags)} wake-ups):        {ms(idle.lags)}")
    print(f"loop lag during {m} /top and {m} /stats renders ({len(probe.lags)} wake-ups): {ms(probe.lags)}")
    await shutdown_renderer()


async def recycle_after_idle(stats: StatsPicture, times: int = 5) -> None:
    """The first render of a new renderer when the request comes a second after the recycle (the
    usual case: the new process has started and drawn its warm-up picture meanwhile)."""
    await shutdown_renderer()
    per_child, charts.MAX_RENDERS_PER_CHILD = charts.MAX_RENDERS_PER_CHILD, 3  # recycles without waiting for 200
    await warm_up()
    took = []
    for _ in range(times):
        pid = renderer_pid()
        while renderer_pid() == pid:  # render until the renderer retires
            await render_in_worker(render_stats, stats)
        await asyncio.sleep(1.0)  # a quiet second, as between learners' requests
        start = time.perf_counter()
        await render_in_worker(render_stats, stats)
        took.append(time.perf_counter() - start)
    await shutdown_renderer()
    charts.MAX_RENDERS_PER_CHILD = per_child
    print(f"\nthe first render of a new renderer, a second after the recycle ({times}): {ms(took)}")


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
    parser.add_argument("--per-child", type=int, default=charts.MAX_RENDERS_PER_CHILD,
                        help=f"pictures per renderer process (default {charts.MAX_RENDERS_PER_CHILD}, the bot's)")
    args = parser.parse_args()
    charts.MAX_RENDERS_PER_CHILD = args.per_child
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average {load:.1f} at the start; "
          f"command: {' '.join(['bench/charts.py', *sys.argv[1:]])}")
    if args.threads:
        asyncio.run(threads_async(args.threads, rounds=10))
    else:
        asyncio.run(main_async(args.n))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
