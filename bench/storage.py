"""Storage benchmark (not a test): `uv run python bench/storage.py`.

Prints one table:
* record_attempt per second (Store directly, with and without the FSRS
  card + review log entry the bot passes, and through AsyncStore), each
  call its own transaction, WAL + synchronous=NORMAL, one thread;
* due_chats over 1,000,000 chats (p50/p99 ms), built with executemany in
  one transaction, and the plain SQL range scan behind it;
* open_db time on that file with and without the quick_check scan;
* a 2,000-chat daily push through AsyncStore: pace, the WAL's peak size, and
  read latency with and without another process holding the write lock;
* DB size for 100,000 users x 365 days of answers, EXTRAPOLATED linearly
  from measured samples (one delivery, one question message, one graded
  attempt and its review-log entry per user per day, and the user's FSRS
  card per question seen: the daily private-chat routine).

Options: --chats N (default 1,000,000), --attempts N (default 20,000),
--sample-users N (default 1,000), --push-chats N (default 2,000),
--keep DIR (keep the files).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.aio import AsyncStore  # noqa: E402
from storage.db import iso  # noqa: E402
from storage.store import Store  # noqa: E402

UTC = UTC
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo",
         "America/Sao_Paulo", "Europe/Moscow", "UTC+05:30", "Australia/Sydney"]
TOPICS = ["cnn", "rnn", "transformers", "optimization", "regularization", "probability"]
rows_out: list[tuple[str, str, str]] = []


def report(what: str, value: str, target: str = "") -> None:
    rows_out.append((what, value, target))
    print(f"  {what}: {value}", file=sys.stderr)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def prepare_questions(store: Store, users: int, per_user: int) -> None:
    """Users, private chats and question messages, bulk-inserted (not timed)."""
    conn = store.db.conn
    at = iso(NOW)
    with store._tx():
        conn.executemany(
            "INSERT INTO users (user_id, first_name, username, language, created_at, "
            "last_seen_at) VALUES (?, ?, ?, 'en', ?, ?)",
            [(u, f"User {u}", f"user{u}", at, at) for u in range(1, users + 1)])
        conn.executemany(
            "INSERT INTO chats (chat_id, type, tz, push_time, created_at) "
            "VALUES (?, 'private', 'Europe/Berlin', '09:00', ?)",
            [(u, at) for u in range(1, users + 1)])
        conn.executemany(
            "INSERT INTO question_messages (chat_id, message_id, question_id, source, "
            "user_id, sent_at) VALUES (?, ?, ?, 'daily', NULL, ?)",
            [(u, m, f"q-{m % 500:04d}", at)
             for u in range(1, users + 1) for m in range(1, per_user + 1)])


def fsrs_dicts(u: int, m: int, answered: datetime, verdict: str) -> tuple[dict, dict]:
    """A card and review log entry shaped like fsrs' Card/ReviewLog.to_dict()
    (storage never imports fsrs; neither does its bench)."""
    rating = {"correct": 3, "partial": 2, "incorrect": 1}[verdict]
    card_id = u * 1000 + m % 500
    card = {"card_id": card_id, "state": 2, "step": None, "stability": 3.17 * rating,
            "difficulty": 5.28, "due": (answered + timedelta(days=2 * rating)).isoformat(),
            "last_review": answered.isoformat()}
    log = {"card_id": card_id, "rating": rating, "review_datetime": answered.isoformat(),
           "review_duration": None}
    return card, log


def bench_record_attempt(workdir: Path, attempts: int) -> None:
    users = 1000
    per_user = attempts // users + 1
    verdicts = ["correct", "partial", "incorrect"]
    calls = [
        dict(user_id=u, chat_id=u, question_id=f"q-{m % 500:04d}", question_message_id=m,
             topic=TOPICS[m % len(TOPICS)], score=0.7, verdict=verdicts[(u + m) % 3],
             matched=["gradient", "chain rule"], used_hint=False, revealed=False,
             now=NOW + timedelta(hours=20 * m, seconds=u), tz_name="Europe/Berlin")
        for m in range(1, per_user + 1) for u in range(1, users + 1)
    ][:attempts]
    with_cards = []
    for kwargs in calls:
        card, log = fsrs_dicts(kwargs["user_id"], kwargs["question_message_id"],
                               kwargs["now"], kwargs["verdict"])
        with_cards.append({**kwargs, "card": card, "review": log})
    for label, batch, name in (("", calls, "attempts.db"),
                               (" + FSRS card and review", with_cards, "attempts_cards.db")):
        store = Store.open(workdir / name)
        prepare_questions(store, users, per_user)
        started = time.perf_counter()
        for kwargs in batch:
            store.record_attempt(**kwargs)
        elapsed = time.perf_counter() - started
        report(f"record_attempt{label}, Store (1 thread, 1 tx each)",
               f"{attempts / elapsed:,.0f}/s ({elapsed / attempts * 1e6:.0f} us/call)",
               ">= 2,000/s")
        store.close()

    async def via_async() -> float:
        path = workdir / "attempts_async.db"
        sync = Store.open(path)
        prepare_questions(sync, users, per_user)
        sync.close()
        astore = await AsyncStore.open(path)
        n = min(attempts, 5000)
        t0 = time.perf_counter()
        for kwargs in with_cards[:n]:
            await astore.write(Store.record_attempt, **kwargs)
        took = time.perf_counter() - t0
        await astore.close()
        return n / took

    report("record_attempt + card and review, AsyncStore (awaited one by one)",
           f"{asyncio.run(via_async()):,.0f}/s", ">= 2,000/s")


def build_chats(path: Path, count: int) -> None:
    """`count` chats with next_push_at spread over [NOW - 10 min, NOW + 24 h]
    (so ~0.7% are due, as when the scheduler polls after a busy minute);
    2% unsubscribed, 3% blocked. One executemany, one transaction."""
    rng = random.Random(42)
    store = Store.open(path)
    at = iso(NOW)
    span = 24 * 3600 + 600

    def rows():
        for chat_id in range(1, count + 1):
            offset = rng.randrange(span) - 600
            roll = rng.random()
            subscribed = 0 if roll < 0.02 else 1
            status = "blocked" if 0.02 <= roll < 0.05 else "active"
            nxt = iso(NOW + timedelta(seconds=offset)) if subscribed and status == "active" \
                else None
            yield (chat_id, "private" if chat_id % 10 else "supergroup", f"Chat {chat_id}",
                   ZONES[chat_id % len(ZONES)], f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",
                   subscribed, status, nxt, at)

    t0 = time.perf_counter()
    with store._tx():
        store.db.conn.executemany(
            "INSERT INTO chats (chat_id, type, title, tz, push_time, subscribed, status, "
            "next_push_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    report(f"build {count:,} chats (executemany, 1 tx)", f"{time.perf_counter() - t0:.1f} s")
    store.close()


def bench_due_chats(workdir: Path, count: int) -> None:
    path = workdir / "chats.db"
    build_chats(path, count)
    size = path.stat().st_size
    report(f"{count:,} chats file size", f"{size / 2**20:,.0f} MiB")
    for verify in (True, False):
        t0 = time.perf_counter()
        store = Store.open(path, verify=verify)
        took = time.perf_counter() - t0
        report(f"open_db on it, verify={verify}", f"{took * 1000:,.0f} ms")
        if verify:
            store.close()
    store.due_chats(NOW)  # first call repairs the few stale schedules
    due_total = store.db.conn.execute(
        "SELECT count(*) FROM chats WHERE subscribed = 1 AND status = 'active' "
        "AND next_push_at <= ?", (iso(NOW),)).fetchone()[0]
    plan = store.db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM chats WHERE subscribed = 1 AND status = 'active' "
        "AND next_push_at <= ? ORDER BY next_push_at LIMIT ?", (iso(NOW), 1000)).fetchall()
    report("due_chats plan", "; ".join(row[-1] for row in plan))
    report("chats due at NOW", f"{due_total:,}")
    for limit in (1000, 100):
        samples = []
        for _ in range(200):
            t0 = time.perf_counter()
            got = store.due_chats(NOW, limit=limit)
            samples.append((time.perf_counter() - t0) * 1000)
        report(f"due_chats(limit={limit}) -> {len(got)} rows, p50 / p99",
               f"{statistics.median(samples):.2f} / {percentile(samples, 0.99):.2f} ms", "< 50 ms")
    samples = []
    for _ in range(200):
        t0 = time.perf_counter()
        store.db.conn.execute(
            "SELECT chat_id FROM chats WHERE subscribed = 1 AND status = 'active' "
            "AND next_push_at <= ? ORDER BY next_push_at LIMIT 1000", (iso(NOW),)).fetchall()
        samples.append((time.perf_counter() - t0) * 1000)
    report("  the SQL range scan alone (1000 ids), p50 / p99",
           f"{statistics.median(samples):.2f} / {percentile(samples, 0.99):.2f} ms")
    store.close()


def sample_year(path: Path, users: int, days: int = 365) -> int:
    """`users` users x `days` days: delivery + question message + attempt +
    review-log entry per day, and one FSRS card per question seen, realistic
    field sizes; returns the checkpointed file size in bytes."""
    store = Store.open(path)
    conn = store.db.conn
    prepare = iso(NOW)
    rng = random.Random(7)
    with store._tx():
        conn.executemany(
            "INSERT INTO users (user_id, first_name, username, language, tz, created_at, "
            "last_seen_at) VALUES (?, ?, ?, 'en', 'Europe/Berlin', ?, ?)",
            [(u, f"Firstname{u}", f"username_{u}", prepare, prepare)
             for u in range(1, users + 1)])
        conn.executemany(
            "INSERT INTO chats (chat_id, type, title, tz, push_time, next_push_at, created_at) "
            "VALUES (?, 'private', NULL, 'Europe/Berlin', '09:00', ?, ?)",
            [(u, prepare, prepare) for u in range(1, users + 1)])
        start = date(2024, 1, 1)
        for u in range(1, users + 1):
            deliveries, messages, attempts, reviews, cards = [], [], [], [], {}
            for d in range(days):
                day = start + timedelta(days=d)
                sent = datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)
                answered = iso(sent + timedelta(minutes=rng.randrange(600)))
                qid = f"{TOPICS[d % 6]}-{rng.randrange(2000):04d}"
                message_id = 1000 + d
                deliveries.append((u, day.isoformat(), qid, message_id, "sent", iso(sent),
                                   iso(sent)))
                messages.append((u, message_id, qid, "daily", None, iso(sent)))
                verdict = rng.choice(["correct", "partial", "incorrect"])
                attempt_id = (u - 1) * days + d + 1
                card, log = fsrs_dicts(u, rng.randrange(2000), datetime.fromisoformat(answered),
                                       verdict)
                cards[qid] = (u, qid, card["card_id"], card["state"], card["step"],
                              card["stability"], card["difficulty"], iso(
                                  datetime.fromisoformat(card["due"])), answered,
                              cards[qid][-1] + 1 if qid in cards else 1)
                reviews.append((u, qid, card["card_id"], log["rating"], answered, None,
                                attempt_id))
                attempts.append((attempt_id, u, u, qid, message_id, TOPICS[d % 6], rng.random(),
                                 verdict,
                                 json.dumps(["backpropagation", "chain rule", "gradient"][
                                     :rng.randrange(4)]), 0, 0,
                                 {"correct": 3, "partial": 1, "incorrect": 0}[verdict],
                                 answered, day.isoformat(), "Europe/Berlin", 0))
            conn.executemany("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?)", deliveries)
            conn.executemany(
                "INSERT INTO question_messages (chat_id, message_id, question_id, source, "
                "user_id, sent_at) VALUES (?, ?, ?, ?, ?, ?)", messages)
            conn.executemany(
                "INSERT INTO attempts (id, user_id, chat_id, question_id, question_message_id, "
                "topic, score, verdict, matched, used_hint, revealed, points, answered_at, "
                "local_date, tz, day_start_hour) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", attempts)
            conn.executemany(
                "INSERT INTO review_log (user_id, question_id, card_id, rating, reviewed_at, "
                "duration, attempt_id) VALUES (?, ?, ?, ?, ?, ?, ?)", reviews)
            conn.executemany(
                "INSERT INTO cards (user_id, question_id, card_id, state, step, stability, "
                "difficulty, due, last_review, reps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(cards.values()))
        conn.executemany(
            "INSERT INTO streaks (user_id, current, longest, last_day, last_at, updated_at, "
            "freezes) VALUES (?, 3, 12, '2024-12-30', ?, ?, 1)",
            [(u, prepare, prepare) for u in range(1, users + 1)])
    store.close()  # last connection: WAL is checkpointed into the file
    return path.stat().st_size


def bench_push(workdir: Path, chats: int) -> None:
    """A daily push through AsyncStore as the bot runs it: claim and complete each chat's
    delivery on the writer thread while a reader keeps reading. Reports the pace, the WAL's
    peak size (issue 18: 90 MB for 2,000 chats when pushes did not count towards checkpoints)
    and how long reads take while another process holds the write lock."""
    path = workdir / "push.db"

    async def run() -> tuple[float, int, list[float], list[float]]:
        store = await AsyncStore.open(path)
        for chat_id in range(1, chats + 1):
            await store.write(Store.ensure_chat, chat_id, "private", None, NOW, "UTC", "09:00")
        wal = Path(f"{path}-wal")
        pushing, reads = True, 0

        async def reader() -> None:
            nonlocal reads
            while pushing:
                await store.read(Store.get_chat, 1 + reads % chats)
                reads += 1

        reading = asyncio.create_task(reader())
        day, at = date(2025, 3, 11), NOW + timedelta(days=1)
        peak, started = 0, time.perf_counter()
        for chat_id in range(1, chats + 1):
            await store.write(Store.claim_delivery, chat_id, day, "q-0001", at)
            await store.write(Store.complete_delivery, chat_id, day, 10_000 + chat_id, at)
            peak = max(peak, wal.stat().st_size)
        took = time.perf_counter() - started
        pushing = False
        await reading
        # another process holds the write lock: reads go on, a write waits
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.create_task(store.write(Store.set_chat_status, 1, "blocked", at))
        locked = []
        for n in range(200):
            t0 = time.perf_counter()
            await store.read(Store.get_chat, 1 + n)
            locked.append((time.perf_counter() - t0) * 1000)
        other.execute("COMMIT")
        other.close()
        await write
        free = []
        for n in range(200):
            t0 = time.perf_counter()
            await store.read(Store.get_chat, 1 + n)
            free.append((time.perf_counter() - t0) * 1000)
        await store.close()
        return chats / took, peak, locked, free

    pace, peak, locked, free = asyncio.run(run())
    report(f"push of {chats:,} chats through AsyncStore (claim + complete each)",
           f"{pace:,.0f} chats/s", ">= 30/s (Telegram's cap)")
    report("  WAL peak during the push", f"{peak / 2**20:.1f} MiB", "< 16 MiB")
    report("read (get_chat) p50 / p99, no lock",
           f"{percentile(free, 0.5):.2f} / {percentile(free, 0.99):.2f} ms")
    report("read p50 / p99 while another process holds the write lock",
           f"{percentile(locked, 0.5):.2f} / {percentile(locked, 0.99):.2f} ms", "not delayed")


def bench_size(workdir: Path, sample_users: int) -> None:
    sizes = {}
    for users in (sample_users // 2, sample_users):
        sizes[users] = sample_year(workdir / f"year_{users}.db", users)
        report(f"measured: {users:,} users x 365 days",
               f"{sizes[users] / 2**20:,.1f} MiB "
               f"({sizes[users] / (users * 365):.0f} B per user-day)")
    small, big = sorted(sizes)
    per_user = (sizes[big] - sizes[small]) / (big - small)
    fixed = sizes[big] - per_user * big
    total = fixed + per_user * 100_000
    report("EXTRAPOLATED: 100,000 users x 365 days",
           f"{total / 2**30:,.1f} GiB (linear fit of the two samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--sample-users", type=int, default=1_000)
    parser.add_argument("--push-chats", type=int, default=2_000)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    tmp = None
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        workdir = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="storage-bench-")
        workdir = Path(tmp.name)
    print(f"storage bench in {workdir} (SQLite {sqlite3.sqlite_version}, "
          f"cpus={os.cpu_count()})", file=sys.stderr)
    bench_record_attempt(workdir, args.attempts)
    bench_due_chats(workdir, args.chats)
    bench_push(workdir, args.push_chats)
    bench_size(workdir, args.sample_users)
    width = max(len(r[0]) for r in rows_out)
    vwidth = max(len(r[1]) for r in rows_out)
    print(f"\n{'measure'.ljust(width)} | {'result'.ljust(vwidth)} | target")
    print(f"{'-' * width}-+-{'-' * vwidth}-+-------")
    for what, value, target in rows_out:
        print(f"{what.ljust(width)} | {value.ljust(vwidth)} | {target}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
