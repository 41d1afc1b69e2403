"""The daily push: every tick, find the chats whose local push time has come and send each one
question — exactly one per chat per local day, retried that same day until it gets through.

Everything lives in SQLite (PTB's JobQueue keeps nothing across restarts):
- `due_chats` is an index range scan over `next_push_at`;
- a delivery is *claimed* (unique on chat + local date) before the send and *completed*
  (message id stored, next push tomorrow) right after Telegram accepts it;
- a send that failed without reaching Telegram (an outage, 5xx, 429s) keeps its claim and is
  retried on later ticks until it succeeds, the chat is gone (blocked, kicked) or the local day
  ends; a send whose fate is unknown (a timeout after the request went out) is not repeated;
- a crashed run's claims are retried on start the same way;
- pushes are `BULK` sends: a learner waiting for a verdict always goes first (bot/limits.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import date, datetime, timedelta

from telegram.error import BadRequest, Forbidden, TelegramError

from content import Question
from content.calendar import local_date
from storage import Store
from storage.models import Chat

from ..context import TutorContext
from ..handlers.questions import choose_for, send_question
from ..limits import Priority
from ..sending import FateUnknown

log = logging.getLogger(__name__)

BATCH = 500
IN_FLIGHT = 16  # concurrent sends: enough to keep the pace with ~0.5 s round trips
RETRY_AFTER = timedelta(seconds=30)  # a failed claim is tried again on the first tick after this
STATE = "daily-push"


class DailyPush:
    """The tick lock and the outcome counts of the last run."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.in_flight = asyncio.Semaphore(IN_FLIGHT)
        self.outcomes: Counter[str] = Counter()
        self.first_run = True


def state_of(context: TutorContext) -> DailyPush:
    push: DailyPush | None = context.bot_data.get(STATE)
    if push is None:
        push = context.bot_data[STATE] = DailyPush()
    return push


async def tick(context: TutorContext) -> None:
    """JobQueue callback. Overlapping ticks return at once: one fan-out at a time."""
    push = state_of(context)
    if push.lock.locked():
        return
    async with push.lock:
        await run_once(context, push)


async def run_once(context: TutorContext, push: DailyPush) -> Counter[str]:
    store, now = context.store, context.now()
    push.outcomes.clear()
    # Claims an earlier run left pending (a crash, or sends that failed before a stop) are not in
    # flight in this process: retry them at once, not RETRY_AFTER later.
    cutoff, push.first_run = (now if push.first_run else now - RETRY_AFTER), False
    for delivery in await store.read(Store.pending_deliveries, cutoff):
        await retry_claim(context, push, delivery.chat_id, delivery.local_date, delivery.question_id, now)
    seen: set[int] = set()
    while True:
        due = [d for d in await store.write(Store.due_chats, now, BATCH) if d.chat.chat_id not in seen]
        if not due:
            break
        seen.update(d.chat.chat_id for d in due)
        await asyncio.gather(*(guarded(context, push, d.chat, d.local_date) for d in due))
    if push.outcomes:
        log.info("daily push: %s", ", ".join(f"{k}={v}" for k, v in sorted(push.outcomes.items())))
    return push.outcomes


async def guarded(context: TutorContext, push: DailyPush, chat: Chat, day: date) -> None:
    async with push.in_flight:
        if not context.application.running:
            return  # stopping: unclaimed chats stay due for the next start
        try:
            question = await choose_for(context, chat)
            if not await context.store.write(Store.claim_delivery, chat.chat_id, day, question.id, context.now()):
                await context.store.write(Store.skip_today, chat.chat_id, context.now())
                push.outcomes["already"] += 1
                return
            await send_claimed(context, push, chat, day, question)
        except Exception:  # noqa: BLE001 — one chat's failure must not stop the fan-out
            push.outcomes["error"] += 1
            log.exception("daily push to a chat failed")


async def retry_claim(context: TutorContext, push: DailyPush, chat_id: int, day: date, question_id: str, now: datetime) -> None:
    """A claim not yet sent (an earlier failure or a crash): send it if it is still its day."""
    chat = await context.store.read(Store.get_chat, chat_id)
    question = context.bank.get(question_id)
    if chat is None or question is None or chat.status != "active" or local_date(now, chat.tz) != day:
        await context.store.write(Store.release_delivery, chat_id, day)
        push.outcomes["expired"] += 1
        return
    push.outcomes["retried"] += 1
    await send_claimed(context, push, chat, day, question)


async def send_claimed(context: TutorContext, push: DailyPush, chat: Chat, day: date, question: Question) -> None:
    store = context.store
    try:
        sent = await send_question(context, chat, question, source="daily", user_id=None, priority=Priority.BULK,
                                   paid_broadcast=context.config.paid_broadcast)
    except Forbidden:
        await store.write(Store.release_delivery, chat.chat_id, day)
        await store.write(Store.set_chat_status, chat.chat_id, "blocked", context.now())
        push.outcomes["blocked"] += 1
        return
    except BadRequest as exc:
        await store.write(Store.release_delivery, chat.chat_id, day)
        if "not found" in str(exc).lower():
            await store.write(Store.set_chat_status, chat.chat_id, "left", context.now())
            push.outcomes["left"] += 1
        else:
            push.outcomes["bad_request"] += 1
            log.warning("daily push rejected: %s", exc.message)
        return
    except FateUnknown:
        # Telegram may have shown it: sending again could give the chat two questions today.
        await store.write(Store.release_delivery, chat.chat_id, day)
        push.outcomes["fate_unknown"] += 1
        return
    except TelegramError:
        push.outcomes["retry_later"] += 1  # the claim stays: the next tick after RETRY_AFTER tries again
        return
    await store.write(Store.complete_delivery, sent.chat_id, day, sent.message_id, context.now())
    push.outcomes["sent"] += 1
