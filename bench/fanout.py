"""The daily push fan-out against Telegram's limits (not a test).

    uv run python bench/fanout.py                  # 1,000 private chats + 50 groups, 30 messages/s
    uv run python bench/fanout.py --chats 10000    # 10,000 private chats + 50 groups (~6 min)
    uv run python bench/fanout.py --paid           # TUTOR_PAID_BROADCAST=1: the server allows 1,000/s for paid messages

The chats are created with the bot's own storage API (Store.touch_user / ensure_chat, push time
00:00 UTC, so every chat is due at once) before the bot starts; the bot (`python -m bot.cli run`)
runs as a child process with TUTOR_TICK_SECONDS=1 and pushes as its scheduler finds them due.

The fake Bot API server (tests/fake_telegram.py, subclassed here) enforces Telegram's limits on
sendMessage and answers 429 with retry_after=1 when one is broken:
  * at most LIMIT messages in any sliding 1-second window (LIMIT = --limit, default 30;
    1,000 for messages sent with allow_paid_broadcast),
  * at most 20 messages per minute into one group,
  * at most 1 message per second into one private chat.
A rejected message is not delivered. Reported: achieved messages/s against the limit (first to
last accepted daily question), 429s, duplicates (a chat with two daily questions), misses (a chat
with none), the bot's CPU/wall and peak RSS. Target (issue): >= 90 % of the limit, no 429, no
duplicate, no miss.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))

from _harness import BotProcess, Fake, Meter, wait_until, workdir  # noqa: E402

from storage.store import Store  # noqa: E402
from tests.fake_telegram import _err  # noqa: E402

PAID_LIMIT = 1000
GROUP_PER_MINUTE = 20
DAILY_MARK = "Question of the day"


class LimitedFake(Fake):
    """Answers 429 (retry_after=1) to a sendMessage that would break one of Telegram's limits."""

    def __init__(self, limit: float, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit
        self.window: deque[float] = deque()  # accepted free sends, last second
        self.paid_window: deque[float] = deque()
        self.group_sends: dict[int, deque[float]] = {}
        self.private_last: dict[int, float] = {}
        self.rejected: Counter[str] = Counter()
        self.daily: Counter[int] = Counter()
        self.daily_at: list[float] = []
        self.max_in_window = 0

    def _violation(self, chat_id: int, paid: bool, now: float) -> str | None:
        window, limit = (self.paid_window, PAID_LIMIT) if paid else (self.window, self.limit)
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) + 1 > limit:
            return "overall limit" + (" (paid)" if paid else "")
        if chat_id < 0:
            sends = self.group_sends.setdefault(chat_id, deque())
            while sends and sends[0] <= now - 60.0:
                sends.popleft()
            if len(sends) + 1 > GROUP_PER_MINUTE:
                return "20/min in a group"
        else:
            last = self.private_last.get(chat_id)
            if last is not None and now - last < 1.0:
                return "1/s in a private chat"
        return None

    async def api_sendMessage(self, params):
        now = time.monotonic()
        chat_id = int(params["chat_id"])
        paid = str(params.get("allow_paid_broadcast", "")).lower() in ("true", "1")
        broken = self._violation(chat_id, paid, now)
        if broken:
            self.rejected[broken] += 1
            return _err(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        window = self.paid_window if paid else self.window
        window.append(now)
        self.max_in_window = max(self.max_in_window, len(window))
        if chat_id < 0:
            self.group_sends[chat_id].append(now)
        else:
            self.private_last[chat_id] = now
        response = await super().api_sendMessage(params)
        if DAILY_MARK in str(params.get("text", "")):
            self.daily[chat_id] += 1
            self.daily_at.append(now)
        return response


def create_chats(path: Path, private: int, groups: int) -> tuple[list[int], float]:
    """Users, private chats and groups through the bot's storage API, all due now."""
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    store = Store.open(path)
    ids = []
    try:
        for i in range(private):
            uid = 30_000_001 + i
            store.touch_user(uid, f"User{i}", None, "en", now)
            store.ensure_chat(uid, "private", "", now, "UTC", "00:00")
            ids.append(uid)
        for i in range(groups):
            gid = -(40_000_001 + i)
            store.ensure_chat(gid, "group", f"Study group {i}", now, "UTC", "00:00")
            ids.append(gid)
    finally:
        store.close()
    return ids, time.perf_counter() - t0


async def main_async(args) -> int:
    limit = PAID_LIMIT if args.paid else args.limit
    with workdir("fanout-") as tmpname:
        tmp = Path(tmpname)
        ids, build_s = create_chats(tmp / "tutor.db", args.chats, args.groups)
        fake = await LimitedFake(args.limit).start()
        env = {"TUTOR_MAX_MESSAGES_PER_SECOND": f"{args.limit:g}", "TUTOR_TICK_SECONDS": "1",
               "TUTOR_DEFAULT_TIME": "00:00", "TUTOR_DEFAULT_TZ": "UTC", "TUTOR_PAID_BROADCAST": "1" if args.paid else ""}
        bot = BotProcess(fake, workdir=tmp, env=env, tweaks=args.tweaks)
        expected = len(ids) / (0.95 * limit)
        try:
            await bot.start()
            idle_rss = bot.rss_mib()
            with Meter(bot) as meter:
                try:
                    await wait_until(lambda: len(fake.daily) >= len(ids), expected * 2 + 60, "every chat's daily question", step=0.1)
                except TimeoutError as exc:
                    print(f"warning: {exc}", file=sys.stderr)
            await asyncio.sleep(args.settle)  # a few more ticks: would anything be sent twice?
            peak_rss = bot.peak_rss_mib()
        except BaseException:
            print(f"the bot failed:\n{bot.first_traceback() or bot.tail()}", file=sys.stderr)
            raise
        finally:
            await bot.stop()
            await fake.stop()
        errors = bot.log_errors()
        outcome = [line.split("daily push: ", 1)[1] for line in bot.tail(200).splitlines() if "daily push: " in line]

    sent = sum(fake.daily.values())
    duplicates = sum(1 for c in ids if fake.daily[c] > 1)
    misses = sum(1 for c in ids if fake.daily[c] == 0)
    span = (fake.daily_at[-1] - fake.daily_at[0]) if len(fake.daily_at) > 1 else float("nan")
    rate = (sent - 1) / span if span and span == span else float("nan")
    n429 = sum(fake.rejected.values())
    share = rate / limit
    print(f"{args.chats:,} private chats + {args.groups} groups created through Store in {build_s:.2f} s; "
          f"limit {limit:g} messages/s{' (paid broadcast)' if args.paid else ''}; TUTOR_TICK_SECONDS=1")
    if args.tweaks:
        print(f"EXPERIMENT: overridden in the bot: {' '.join(args.tweaks)}")
    print()
    rows = [
        ("chats", f"{len(ids):,}", ""),
        ("daily questions delivered", f"{sent:,}", f"= {len(ids):,}"),
        ("first -> last delivery", f"{span:.1f} s", ""),
        ("achieved messages/s", f"{rate:.1f} ({share:.0%} of {limit:g})", ">= 90 %"),
        ("most messages in any 1-s window", f"{fake.max_in_window}", f"<= {limit:g}"),
        ("429 answers", f"{n429}" + (f" ({', '.join(f'{k}: {v}' for k, v in fake.rejected.items())})" if n429 else ""), "0"),
        ("duplicates", f"{duplicates}", "0"),
        ("misses", f"{misses}", "0"),
        ("bot CPU / wall during the push", f"{meter.cpu:.1f} s / {meter.wall:.1f} s = {meter.cpu / meter.wall:.0%} of one core", ""),
        ("bot CPU per message", f"{meter.cpu / max(sent, 1) * 1e3:.2f} ms", ""),
        ("bot RSS idle / peak (VmHWM)", f"{idle_rss:.0f} / {peak_rss:.0f} MiB", ""),
        ("fake server CPU (not the bot's)", f"{meter.fake_cpu:.1f} s", ""),
    ]
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'measure':<{width}}{'value':<44}target")
    for name, value, target in rows:
        print(f"{name:<{width}}{value:<44}{target}")
    if outcome:
        print(f"\nbot log: daily push: {outcome[-1]}")
    if errors:
        print(f"bot logged {len(errors)} error lines, first: {errors[0][:150]}")
    ok = share >= 0.9 and n429 == 0 and duplicates == 0 and misses == 0
    print(f"\nsummary: {sent:,} daily questions to {len(ids):,} chats at {rate:.1f} messages/s = {share:.0%} of the "
          f"{limit:g}/s limit, {n429} 429s, {duplicates} duplicates, {misses} misses, bot CPU {meter.cpu / meter.wall:.0%} "
          f"of a core, peak RSS {peak_rss:.0f} MiB; target {'met' if ok else 'NOT met'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=1000, help="private chats (groups come on top)")
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--limit", type=float, default=30.0, help="TUTOR_MAX_MESSAGES_PER_SECOND and the server's limit")
    parser.add_argument("--paid", action="store_true", help="TUTOR_PAID_BROADCAST=1 (server: 1,000/s for paid messages)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to keep the bot running after the last delivery")
    parser.add_argument("--limiter", choices=("bucket",), help="baseline: the leaky-bucket pace used before bot/ratelimit.py")
    parser.add_argument("--pool", type=int, help="experiment: ApplicationBuilder.connection_pool_size")
    args = parser.parse_args()
    args.tweaks = (["--limiter", args.limiter] if args.limiter else []) + (["--pool", str(args.pool)] if args.pool else [])
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
