"""How well the grader agrees with a fair examiner, set by set.

    uv run python bench/grading_eval.py                 # all three sets, each on its own
    uv run python bench/grading_eval.py --set tune      # one set: team | tune | test | fresh | fresh2
    uv run python bench/grading_eval.py --set tune --errors   # also list every disagreement

The three labelled sets are never pooled (issue 17):

- team: tests/data/replies_*.jsonl, written by the people who wrote the aliases (a regression
  check only: it over-states agreement);
- tune: tests/data/eval/tune.jsonl, outside-style replies the grader may be tuned on;
- test: tests/data/eval/test.jsonl, the same kind of replies, kept blind: report it once, at the
  end, and change nothing after seeing it.

For each: correct-vs-not accuracy, 3-way accuracy, quadratic weighted kappa, the rate of
wrong or off-topic replies (labelled incorrect) graded correct, and the confusion matrix.
Targets on the test set: correct-vs-not >= 0.92, 3-way >= 0.85, QWK >= 0.85, wrong graded
correct <= 2 %.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from content import grade_reply, read_bank  # noqa: E402

LABELS = ("incorrect", "partial", "correct")
DATA = ROOT / "tests" / "data"
SETS = {
    "team": lambda: sorted(DATA.glob("replies_*.jsonl")),
    "tune": lambda: [DATA / "eval" / "tune.jsonl"],
    "test": lambda: [DATA / "eval" / "test.jsonl"],
    # Written after the test half had been reported once, by someone blind to the aliases; the
    # aliases broadened after that report were written from the model answers only.
    "fresh": lambda: [DATA / "eval" / "fresh.jsonl"],
    # Written blind during the next session (mostly the 53 questions no earlier set used) and
    # first run once, after the grader changes of that session: the untouched figure.
    "fresh2": lambda: [DATA / "eval" / "fresh2.jsonl"],
    # Written blind at the start of the session after (seeded pick over all 129 questions) and run
    # once, after that session's grader changes, which were tuned on the sets above: untouched.
    "fresh3": lambda: [DATA / "eval" / "fresh3.jsonl"],
}
TARGETS = {"correct_vs_not": 0.92, "accuracy": 0.85, "qwk": 0.85, "wrong_correct": 0.02}


def load_labelled(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["file"] = path.name
                rows.append(row)
    return rows


def metrics(pairs: list[tuple[str, str]]) -> dict:
    """pairs of (label, predicted)."""
    n = len(pairs)
    if not n:
        return {"n": 0}
    acc = sum(a == b for a, b in pairs) / n
    binary = sum((a == "correct") == (b == "correct") for a, b in pairs) / n
    idx = {label: i for i, label in enumerate(LABELS)}
    k = len(LABELS)
    observed = [[0] * k for _ in range(k)]
    for a, b in pairs:
        observed[idx[a]][idx[b]] += 1
    row = [sum(r) for r in observed]
    col = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * row[i] * col[j] / n
    qwk = 1 - num / den if den else 1.0
    wrong = row[0]
    return {
        "n": n,
        "accuracy": acc,
        "correct_vs_not": binary,
        "qwk": qwk,
        "wrong_correct": observed[0][2] / wrong if wrong else 0.0,
        "wrong_n": wrong,
        "confusion": observed,
    }


def print_report(title: str, m: dict) -> None:
    if not m["n"]:
        print(f"\n{title}: no labelled replies")
        return
    print(f"\n{title} (n={m['n']})")
    print(f"  correct vs not          {m['correct_vs_not']:.3f}   (target >= {TARGETS['correct_vs_not']:.2f})")
    print(f"  3-way accuracy          {m['accuracy']:.3f}   (target >= {TARGETS['accuracy']:.2f})")
    print(f"  quadratic kappa         {m['qwk']:.3f}   (target >= {TARGETS['qwk']:.2f})")
    print(f"  wrong graded correct    {m['wrong_correct']:.1%}    ({m['confusion'][0][2]} of {m['wrong_n']}; target <= {TARGETS['wrong_correct']:.0%})")
    print("  confusion (rows = examiner, columns = grader)")
    print("               " + "".join(f"{label:>11}" for label in LABELS))
    for label, row in zip(LABELS, m["confusion"]):
        print(f"    {label:<11}" + "".join(f"{v:>11}" for v in row))


def evaluate(name: str, bank, errors: bool) -> dict:
    rows = load_labelled(SETS[name]())
    pairs: list[tuple[str, str]] = []
    kinds: dict[str, Counter] = {}
    missing = 0
    for row in rows:
        q = bank.get(row["question_id"])
        if q is None:
            missing += 1
            continue
        grade = grade_reply(q, row["reply"])
        pair = (row["label"], grade.verdict)
        pairs.append(pair)
        kinds.setdefault(row.get("kind", "?"), Counter())[pair[0] == pair[1]] += 1
        if errors and pair[0] != pair[1]:
            print(f"[{row['label']:>9} → {grade.verdict:<9}] {q.id} ({row.get('kind')}, {grade.score:.2f}) "
                  f"core={list(grade.core_found)} details={list(grade.details_found)}"
                  + (f" contradicted={list(grade.contradicted)}" if grade.contradicted else "")
                  + (f" negated={list(grade.negated)}" if grade.negated else "")
                  + f" :: {row['reply'][:200]}")
    m = metrics(pairs)
    questions = len({r["question_id"] for r in rows})
    print_report(f"== {name} set: {len(rows)} labelled replies over {questions} questions"
                 + (f", {missing} for unknown ids skipped" if missing else "") + " ==", m)
    if kinds:
        print("  agreement by kind of reply")
        for kind, c in sorted(kinds.items()):
            total = c[True] + c[False]
            print(f"    {kind:<15} {c[True] / total:.2f}  ({c[True]}/{total})")
    return m


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all", help="which labelled set (default: all three, separately)")
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    bank, problems = read_bank()
    if problems:
        print(f"note: the bank has {len(problems)} problem(s); run `tutor-bot content check`")
    names = list(SETS) if args.set == "all" else [args.set]
    results = {name: evaluate(name, bank, args.errors) for name in names}
    print("\nsummary")
    for name, m in results.items():
        if m["n"]:
            print(f"  {name:<5} n={m['n']:<4} correct-vs-not {m['correct_vs_not']:.3f}, 3-way {m['accuracy']:.3f}, "
                  f"QWK {m['qwk']:.3f}, wrong graded correct {m['wrong_correct']:.1%}")
        else:
            print(f"  {name:<5} no labelled replies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
