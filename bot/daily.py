"""The daily push: every tick, find the chats whose local push time has come and send each one
question — exactly one per chat per local day.

Everything the scheduler needs lives in SQLite (PTB's JobQueue keeps nothing across restarts):
- `due_chats` is an index range scan over `next_push_at`;
- a delivery is *claimed* (a row unique on chat + local date) before the send and *completed*
  (message id stored, next push moved to tomorrow) right after Telegram accepts it, in one
  transaction. The only window for a duplicate is a crash between Telegram accepting the
  message and that transaction: claimed-but-unsent rows of a previous run are re-sent on start-up.
- the fan-out is paced by its own limiter slightly below the global rate, so interactive replies
  (which share PTB's AIORateLimiter) are never stuck behind thousands of queued pushes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import ContextTypes

from storage.schedule import local_date

from .quiz import pick_question, send_question
from .services import services

log = logging.getLogger(__name__)

BATCH = 500
IN_FLIGHT = 16  # concurrent sends: enough to keep the pace with ~0.5 s round trips
PUSH_SHARE = 0.95  # of the configured rate; the rest is headroom for replies to learners
PAID_BROADCAST_RATE = 1000.0


class DailyPush:
    """Holds the tick lock, the pacer and the run's start time (to tell a crashed run's claims)."""

    def __init__(self, rate: float, paid_broadcast: bool, started_at: datetime):
        self.lock = asyncio.Lock()
        self.started_at = started_at
        self.paid_broadcast = paid_broadcast
        if paid_broadcast:
            rate = PAID_BROADCAST_RATE
        pace = rate * PUSH_SHARE
        self.pacer = AsyncLimiter(1, 1 / pace) if rate > 0 else None
        self.in_flight = asyncio.Semaphore(IN_FLIGHT if rate > 0 else 64)
        self.outcomes: Counter[str] = Counter()


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback. Overlapping ticks return at once: one fan-out at a time."""
    push: DailyPush = context.application.bot_data["daily"]
    if push.lock.locked():
        return
    async with push.lock:
        await run_once(context, push)


async def run_once(context, push: DailyPush) -> Counter:
    svc = services(context)
    store = svc.store
    now = svc.now()
    push.outcomes.clear()
    for row in await store.pending_deliveries(push.started_at):
        await _resume_pending(context, push, row, now)
    seen: set[int] = set()
    while True:
        chats = [c for c in await store.due_chats(now, BATCH) if c["chat_id"] not in seen]
        if not chats:
            break
        seen.update(c["chat_id"] for c in chats)
        await asyncio.gather(*(_guarded(context, push, chat, now) for chat in chats))
    if push.outcomes:
        log.info("daily push: %s", ", ".join(f"{k}={v}" for k, v in sorted(push.outcomes.items())))
    return push.outcomes


async def _guarded(context, push: DailyPush, chat: dict, now: datetime) -> None:
    async with push.in_flight:
        if not context.application.running:
            return  # stopping: unclaimed chats stay due for the next start (SIGTERM must not wait for 10,000 sends)
        try:
            await push_chat(context, push, chat, now)
        except Exception:  # noqa: BLE001 — one chat's failure must not stop the fan-out
            push.outcomes["error"] += 1
            log.exception("daily push to a chat failed")


async def push_chat(context, push: DailyPush, chat: dict, now: datetime) -> None:
    store = services(context).store
    day = local_date(now, chat["tz"])
    question = await pick_question(context, chat)
    if not await store.claim_delivery(chat["chat_id"], day, question.id, now):
        await store.skip_today(chat["chat_id"], now)  # already has today's question
        push.outcomes["already"] += 1
        return
    await _send_claimed(context, push, chat, day, question)


async def _resume_pending(context, push: DailyPush, row: dict, now: datetime) -> None:
    """A delivery claimed by a run that died before completing it: send it if still its day."""
    svc = services(context)
    chat = await svc.store.get_chat(row["chat_id"])
    question = svc.bank.get(row["question_id"])
    day = row["local_date"]
    if chat is None or question is None or chat["status"] != "active" or str(local_date(now, chat["tz"])) != str(day):
        await svc.store.release_delivery(row["chat_id"], day)
        return
    push.outcomes["resumed"] += 1
    await _send_claimed(context, push, chat, day, question)


async def _send_claimed(context, push: DailyPush, chat: dict, day, question) -> None:
    store = services(context).store
    chat_id = chat["chat_id"]
    now = services(context).now()
    extra = {"allow_paid_broadcast": True} if push.paid_broadcast else {}
    for _ in range(2):  # a second round only after a group migrated to a supergroup
        if push.pacer is not None:
            await push.pacer.acquire()
        try:
            sent = await send_question(context, chat, question, source="daily", user_id=None, daily=True, **extra)
        except ChatMigrated as exc:
            new_id = exc.new_chat_id
            chat = await store.migrate_chat(chat_id, new_id, now)
            chat_id = new_id
            push.outcomes["migrated"] += 1
            continue
        except Forbidden:
            await store.release_delivery(chat_id, day)
            await store.set_chat_status(chat_id, "blocked", now)
            push.outcomes["blocked"] += 1
            return
        except BadRequest as exc:
            await store.release_delivery(chat_id, day)
            if "not found" in str(exc).lower():
                await store.set_chat_status(chat_id, "left", now)
                push.outcomes["left"] += 1
            else:
                await store.skip_today(chat_id, now)
                push.outcomes["bad_request"] += 1
                log.warning("daily push rejected: %s", exc.message)
            return
        except TelegramError:
            # Network trouble after retries: free the claim so the next tick tries again.
            await store.release_delivery(chat_id, day)
            push.outcomes["retry_later"] += 1
            return
        await store.complete_delivery(chat_id, day, sent.message_id, services(context).now())
        push.outcomes["sent"] += 1
        return
