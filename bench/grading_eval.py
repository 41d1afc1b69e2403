"""How well the grader agrees with a fair examiner, on the labelled replies in tests/data/.

    uv run python bench/grading_eval.py            # all labelled files
    uv run python bench/grading_eval.py --errors   # also list every disagreement

Prints 3-way accuracy, "correct vs not" accuracy, macro-F1, quadratic weighted kappa and the
confusion matrix — overall, for the seed questions and for the questions added later.
Targets (issue #2): 3-way accuracy >= 0.80, correct-vs-not >= 0.90.
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


def load_labelled(data_dir: Path = ROOT / "tests" / "data") -> list[dict]:
    rows = []
    for path in sorted(data_dir.glob("replies_*.jsonl")):
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
    f1s = []
    for label in LABELS:
        tp = sum(a == label and b == label for a, b in pairs)
        fp = sum(a != label and b == label for a, b in pairs)
        fn = sum(a == label and b != label for a, b in pairs)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
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
    return {"n": n, "accuracy": acc, "correct_vs_not": binary, "macro_f1": sum(f1s) / k, "qwk": qwk, "confusion": observed}


def print_report(title: str, m: dict) -> None:
    if not m["n"]:
        print(f"\n{title}: no labelled replies")
        return
    print(f"\n{title} (n={m['n']})")
    print(f"  3-way accuracy      {m['accuracy']:.3f}   (target >= 0.80)")
    print(f"  correct vs not      {m['correct_vs_not']:.3f}   (target >= 0.90)")
    print(f"  macro-F1            {m['macro_f1']:.3f}")
    print(f"  quadratic kappa     {m['qwk']:.3f}")
    print("  confusion (rows = examiner, columns = grader)")
    print("               " + "".join(f"{label:>11}" for label in LABELS))
    for label, row in zip(LABELS, m["confusion"]):
        print(f"    {label:<11}" + "".join(f"{v:>11}" for v in row))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    bank, problems = read_bank()
    if problems:
        print(f"note: the bank has {len(problems)} problem(s); run `tutor-bot content check`")
    rows = load_labelled()
    groups: dict[str, list[tuple[str, str]]] = {"all": [], "seed": [], "new": []}
    kinds: dict[str, Counter] = {}
    missing = 0
    for row in rows:
        q = bank.get(row["question_id"])
        if q is None:
            missing += 1
            continue
        grade = grade_reply(q, row["reply"])
        pair = (row["label"], grade.verdict)
        groups["all"].append(pair)
        groups["seed" if q.source.startswith("seed_") else "new"].append(pair)
        kinds.setdefault(row.get("kind", "?"), Counter())[pair[0] == pair[1]] += 1
        if args.errors and pair[0] != pair[1]:
            print(f"[{row['label']:>9} → {grade.verdict:<9}] {q.id} ({row.get('kind')}, {grade.score:.2f}) "
                  f"matched={grade.matched_terms} :: {row['reply'][:160]}")
    print(f"{len(rows)} labelled replies, {len(bank)} questions" + (f", {missing} for unknown ids skipped" if missing else ""))
    print_report("All questions", metrics(groups["all"]))
    print_report("Seed questions", metrics(groups["seed"]))
    print_report("New questions", metrics(groups["new"]))
    print("\nAgreement by kind of reply")
    for kind, c in sorted(kinds.items()):
        total = c[True] + c[False]
        print(f"  {kind:<15} {c[True] / total:.2f}  ({c[True]}/{total})")
    m = metrics(groups["all"])
    if m["n"]:
        print(f"\nsummary: 3-way {m['accuracy']:.3f}, correct-vs-not {m['correct_vs_not']:.3f}, "
              f"macro-F1 {m['macro_f1']:.3f}, QWK {m['qwk']:.3f} on {m['n']} replies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
