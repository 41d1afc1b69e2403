"""/history: a learner's last 10 answers, and a button under each for the model answer and the
core ideas missed that time. Reply texts are never stored (privacy), so what an answer covered
is the matched terms stored with it."""

from __future__ import annotations

from telegram import Update

from content.progress import missed_core
from storage import Store

from .. import keyboards, texts
from ..context import TutorContext
from ..sending import reply, send
from .common import message_of, private_user, say

SHOWN = 10


async def history(update: Update, context: TutorContext) -> None:
    user_id = await private_user(update, context)
    if user_id is None:
        return
    attempts = await context.store.read(Store.recent_attempts, user_id, SHOWN)
    if not attempts:
        await say(update, context, texts.HISTORY_EMPTY)
        return
    rows = [(a, context.bank.get(a.question_id)) for a in attempts]
    await reply(context, message_of(update), texts.history_list(rows),
                markup=keyboards.history_buttons([a.id for a in attempts]))


async def history_button(update: Update, context: TutorContext) -> None:
    """📖 n under /history: the answer is looked up for the learner who pressed, so a made-up
    attempt id (a modified client) finds nothing of anyone else's."""
    query = update.callback_query
    if query is None:
        return
    raw = (query.data or "").removeprefix(keyboards.HISTORY)
    attempt_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 0
    attempt = await context.store.read(Store.attempt_of, query.from_user.id, attempt_id) if attempt_id else None
    question = context.bank.get(attempt.question_id) if attempt else None
    if attempt is None or question is None:
        await query.answer(texts.HISTORY_GONE, show_alert=True)
        return
    await query.answer()
    # Always to the presser's private chat: what they answered is theirs alone.
    await send(context, query.from_user.id, texts.history_detail(question, attempt, missed_core(question, attempt.matched)))
