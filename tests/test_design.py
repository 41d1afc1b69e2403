"""The architecture stays followable: one private answer, from the update to the verdict, crosses
at most 10 project modules (issue 16). docs/DESIGN.md explains the count; this test keeps it true.

Traced: every function of bot/, content/ and storage/ that runs between the answer's update
arriving and the verdict going out, on any thread (the store's threads too). Two counts:

* **crossed** — the modules a reader follows: every bot/ module on the path, and each content/ or
  storage/ module that bot/ calls into (the layer boundary). What a layer does inside itself
  (the grader's normalisation, the Store's row helpers) is that module's business.
* **touched** — every project module with a function on the path, internals included (a guard
  against the path growing unnoticed).

Two bot/ modules are crossed without being a step of the path: bot/context.py (the typed
attribute reads `context.store`, `context.now()`) and bot/observability.py (metric counters).
The test prints the count with and without them and holds the steps to 10.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from tests.learners import right_answer_for, start

ROOT = Path(__file__).resolve().parent.parent
LAYERS = tuple(str(ROOT / layer) + "/" for layer in ("bot", "content", "storage"))
USER = 5151
NOT_STEPS = {"bot/context", "bot/observability"}  # attribute reads and metric counters
# Scheduled work that may happen to tick while the answer is traced: never part of its path.
JOBS = ("bot/jobs/__init__", "bot/jobs/housekeeping", "bot/jobs/daily_push", "bot/jobs/reminders", "bot/jobs/digest", "bot/jobs/announce", "bot/jobs/late_verdicts")


class PathTracer:
    """Records the project modules and functions called while `on` is set."""

    def __init__(self) -> None:
        self.on = False
        self.modules: set[str] = set()
        self.functions: set[str] = set()
        self.crossed: set[str] = set()

    @staticmethod
    def in_job(frame) -> bool:
        """True inside a scheduled job (its frames, and whatever it calls)."""
        while frame is not None:
            if frame.f_code.co_filename.endswith(tuple(f"{job}.py" for job in JOBS)):
                return True
            frame = frame.f_back
        return False

    def __call__(self, frame, event, arg):  # sys.setprofile's signature
        if self.on and event == "call":
            path = frame.f_code.co_filename
            if path.startswith(LAYERS) and not self.in_job(frame):
                module = str(Path(path).relative_to(ROOT).with_suffix(""))
                self.modules.add(module)
                self.functions.add(f"{module}:{frame.f_code.co_name}")
                caller = frame.f_back.f_code.co_filename if frame.f_back else ""
                if module.startswith("bot/") or caller.startswith(LAYERS[0]):
                    self.crossed.add(module)


async def trace_one_answer(tg, run_bot) -> PathTracer:
    tracer = PathTracer()
    threading.setprofile(tracer)
    sys.setprofile(tracer)
    try:
        app = await run_bot()
        await start(tg, USER)
        tg.message(USER, "/quiz")
        question = await tg.next_to(USER, 1)
        await tg.processed(app)
        tracer.on = True
        tg.message(USER, right_answer_for(question.text))
        verdict = await tg.next_to(USER, 2)
        tracer.on = False
        assert "Correct" in verdict.text
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return tracer


async def test_one_answer_crosses_at_most_ten_project_modules(tg, run_bot):
    tracer = await trace_one_answer(tg, run_bot)
    crossed, touched = sorted(tracer.crossed), sorted(tracer.modules)
    steps = [m for m in crossed if m not in NOT_STEPS]
    print(f"crossed {len(crossed)} ({len(steps)} steps):", *crossed, sep="\n  ")
    print(f"touched {len(touched)} modules, {len(tracer.functions)} functions")
    assert len(steps) <= 10, steps
    assert len(crossed) <= 12, crossed
    assert len(touched) <= 28, touched
