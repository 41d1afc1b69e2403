"""Speed of the content layer: grading, /ask search, loading the bank.

    uv run python bench/grading.py

Targets (issues #2, #17): grading a 4,096-character reply p99 < 1 ms, a 300-character reply
p99 < 200 µs; /ask over a synthetic bank of 1,000 questions p99 < 5 ms; loading the bank as the
bot starts (`load_bank`: parse, prepare every alias through the shared vocabulary, structural
validation) < 200 ms. `read_bank` with the rubric checks that grade text (`content check`, CI)
is reported too. Not a test: figures depend on the machine (and on what else runs on it: the
load average is printed); run it and read them.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from content import Bank, Question, find_questions, grade_reply, load_bank, read_bank  # noqa: E402
from content.bank import make_term  # noqa: E402


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    samples = sorted(samples)
    pick = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]  # noqa: E731
    return statistics.median(samples), pick(0.95), pick(0.99)


def timed(fn, args_list) -> list[float]:
    out = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        out.append(time.perf_counter() - start)
    return out


def reply_of_length(rng: random.Random, q: Question, n: int, vocabulary: list[str]) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < n:
        words.append(rng.choice(vocabulary))
    return " ".join(words)[:n]


def synthetic_bank(real: Bank, n: int, rng: random.Random) -> Bank:
    """n questions made by recombining the real bank's words, terms and topics."""
    questions = []
    for i in range(n):
        base = real.questions[i % len(real.questions)]
        words = base.question.split()
        rng.shuffle(words)
        terms = tuple(make_term(t.term + f" {i}", t.aliases) for t in base.key_terms)
        questions.append(Question(f"synthetic-{i}", base.level, base.topics, " ".join(words), base.answer, terms))
    return Bank(tuple(questions), real.topics)


def main() -> int:
    rng = random.Random(1)
    start = time.perf_counter()
    bank = load_bank()
    load_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    load_bank()
    reload_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    read_bank()
    check_ms = (time.perf_counter() - start) * 1000

    vocabulary = " ".join(q.answer for q in bank.questions).split()
    rows = []
    for size, target_us in ((300, 200), (4096, 1000)):
        cases = []
        for _ in range(3000):
            q = rng.choice(bank.questions)
            cases.append((q, reply_of_length(rng, q, size, vocabulary)))
        for q, r in cases[:200]:  # warm the stemmer cache as a running bot would be
            grade_reply(q, r)
        p50, p95, p99 = percentiles(timed(grade_reply, cases))
        rows.append((f"grade {size}-char reply", p50 * 1e6, p95 * 1e6, p99 * 1e6, f"p99 < {target_us} µs"))

    big = synthetic_bank(bank, 1000, rng)
    queries = ["dropout", "dropuot", "vanishing grads", "batch norm", "GANs", "what is transfer learning",
               "lstm", "attention heads", "learning rate warmup", "pizza"]
    big.search_index  # built once, as the bot does at first use  # noqa: B018
    for q in queries:
        find_questions(big, q)
    samples = timed(lambda q: find_questions(big, q), [(rng.choice(queries),) for _ in range(2000)])
    p50, p95, p99 = percentiles(samples)
    rows.append(("/ask over 1,000 questions", p50 * 1e6, p95 * 1e6, p99 * 1e6, "p99 < 5000 µs"))

    print(f"{'operation':<28}{'p50 µs':>10}{'p95 µs':>10}{'p99 µs':>10}   target")
    for name, p50, p95, p99, target in rows:
        print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{p99:>10.1f}   {target}")
    print(f"{'load bank (bot start)':<28}{load_ms * 1000:>10.0f}{'':>10}{reload_ms * 1000:>10.0f}   < 200000 µs (first, second run)")
    print(f"{'read + check bank':<28}{check_ms * 1000:>10.0f}{'':>10}{'':>10}   (content check, CI; no target)")
    print(f"\nsummary: {len(bank)} questions; grading p99 {rows[0][3]:.0f} µs (300 chars), {rows[1][3]:.0f} µs (4,096 chars); "
          f"/ask p99 {rows[2][3] / 1000:.2f} ms at 1,000 questions; bank load {load_ms:.0f} ms, with checks {check_ms:.0f} ms; "
          f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
