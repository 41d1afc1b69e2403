"""/review: the learner's FSRS cards that are due now, one after another, until none is."""

from __future__ import annotations

from telegram import Update

from storage import Store
from storage.models import Chat

from .. import texts
from ..context import TutorContext
from ..sending import send
from .common import chat_row, is_group, say
from .questions import send_question

MAX_LISTED = 50


async def review(update: Update, context: TutorContext) -> None:
    if is_group(update):
        await say(update, context, texts.NOT_IN_GROUP, low=True)
        return
    chat = await chat_row(update, context)
    user = update.effective_user
    if chat is None or user is None:
        return
    await send_next_review(context, chat, user.id, first=True)


async def send_next_review(context: TutorContext, chat: Chat, user_id: int, *, first: bool = False) -> bool:
    """Send the most overdue due card; say "all caught up" when none is left. True if one was sent.

    After the first, a card sent in the last few questions is passed over, so ➡️ Next never
    shows the card the learner just moved on from."""
    store, bank = context.store, context.bank
    cards = await store.read(Store.due_cards, user_id, context.now(), MAX_LISTED)
    recent = set() if first else set(await store.read(Store.recent_questions, chat.chat_id, 10))
    due = [q for q in (bank.get(c.question_id) for c in cards) if q is not None and q.id not in recent]
    if not due:
        await send(context, chat.chat_id, texts.REVIEW_NONE if first else texts.REVIEW_DONE)
        return False
    await send_question(context, chat, due[0], source="review", user_id=user_id, header=texts.review_header(len(due)))
    return True
