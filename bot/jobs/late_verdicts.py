"""Verdicts that did not reach the learner (Telegram was down) are delivered later: on the
learner's next message or button press in that chat (`on_next_update`, any command included), or
by this job a few minutes after the answer, whichever comes first.

Storage marks each attempt's verdict as delivered (`Store.mark_reply_sent`); an attempt without
that mark after `LATE_AFTER` is one whose verdict send failed. A verdict whose fate is unknown (a
timeout after the request went out) is marked delivered: a second copy would be worse than none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError

from storage import Store
from storage.models import Attempt

from .. import texts
from ..context import TutorContext
from ..limits import Priority
from ..sending import FateUnknown, send

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=2)  # a verdict still in flight is not late yet
BATCH = 100


async def deliver(context: TutorContext, attempts: Sequence[Attempt], priority: Priority = Priority.REPLY) -> int:
    """Send "Your answer to … was graded: …" for each attempt; how many went out."""
    delivered = 0
    for attempt in attempts:
        question = context.bank.get(attempt.question_id)
        try:
            if question is not None:
                await send(context, attempt.chat_id, texts.late_verdict(question, attempt), priority=priority)
                delivered += 1
        except (Forbidden, FateUnknown):
            pass  # blocked, or maybe delivered: either way, never again
        except TelegramError as exc:
            log.info("late verdict not delivered yet (%s)", exc.__class__.__name__)
            continue
        await context.store.write(Store.mark_reply_sent, attempt.id, context.now())
    return delivered


async def on_next_update(update: Update, context: TutorContext) -> None:
    """Runs before the handlers of every update in a private chat (after the flood gate): what an
    outage held back there comes first, so "/streak" after an outage shows the verdict, then the
    streak. Only this chat's: a group verdict may still be on its way (merged verdicts wait)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return
    late = [attempt for attempt in await context.store.read(Store.unreplied_attempts, user.id) if attempt.chat_id == chat.id]
    if late:
        await deliver(context, late)


async def tick(context: TutorContext) -> None:
    """JobQueue callback: deliver what an outage held back."""
    late = await context.store.read(Store.unreplied_before, context.now() - LATE_AFTER, BATCH)
    if late and (sent := await deliver(context, late, Priority.BULK)):
        log.info("delivered %d late verdict(s)", sent)
