"""The bot at two commits, measured alternately by answer_cost.py (not a test).

    uv run python bench/compare.py 6bc5518                    # that commit against the working tree, 3 pairs
    uv run python bench/compare.py 6bc5518 --pairs 5 -- --pool 8   # flags after -- go to answer_cost.py

Run-to-run noise on a shared 2-core VM (±0.05–0.1 ms per answer between runs minutes apart, more
when the number of HTTP connections a run opens differs) is as large as most single changes. So
the two versions run in turns (base, new, base, new, ...): each pair sees the same machine state,
and the median per-pair difference is reported. The base commit is checked out into a temporary
git worktree with its own environment (`uv sync`, its own uv.lock).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = re.compile(r"CPU per update \(medians\): bot ([\d.]+) ms, echo ([\d.]+) ms")


def answer_cost(tree: Path, flags: list[str]) -> tuple[float, float]:
    """(bot ms, echo ms) per answer from one single-round answer_cost.py run in `tree`."""
    out = subprocess.run(
        ["uv", "run", "--quiet", "python", "bench/answer_cost.py", "--rounds", "1", *flags],
        cwd=tree, capture_output=True, text=True, check=False,
    )
    found = FIGURES.search(out.stdout)
    if out.returncode or not found:
        raise SystemExit(f"answer_cost.py failed in {tree}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return float(found[1]), float(found[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="the commit to compare against (e.g. the last stop's)")
    parser.add_argument("--pairs", type=int, default=3)
    argv = sys.argv[1:] if argv is None else argv
    flags = argv[argv.index("--") + 1:] if "--" in argv else []  # everything after -- is answer_cost.py's
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    with tempfile.TemporaryDirectory(prefix="tutor-compare-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(base), args.base], cwd=ROOT, check=True)
        try:
            subprocess.run(["uv", "sync", "--quiet"], cwd=base, check=True)
            rows = []
            for pair in range(1, args.pairs + 1):
                old, new = answer_cost(base, flags), answer_cost(ROOT, flags)
                rows.append((old, new))
                print(f"pair {pair}: base bot {old[0]:.2f} ms (echo {old[1]:.2f}), "
                      f"new bot {new[0]:.2f} ms (echo {new[1]:.2f}), difference {new[0] - old[0]:+.2f} ms", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    diff = statistics.median(new[0] - old[0] for old, new in rows)
    base_ms = statistics.median(old[0] for old, _ in rows)
    new_ms = statistics.median(new[0] for _, new in rows)
    old_ratio = statistics.median(old[1] / old[0] for old, _ in rows)  # updates per CPU-s, bot / echo
    new_ratio = statistics.median(new[1] / new[0] for _, new in rows)
    print(f"summary: bot {base_ms:.2f} ms at {args.base} -> {new_ms:.2f} ms now per answer; median difference per pair "
          f"{diff:+.2f} ms ({diff / base_ms:+.1%}); ratio bot/echo {old_ratio:.2f} -> {new_ratio:.2f} "
          f"({args.pairs} pairs{', ' + ' '.join(flags) if flags else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
