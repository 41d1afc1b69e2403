"""/review: drill the learner's FSRS cards that are due now, one after another, until none is."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from . import texts
from .access import ensure_registered, is_group
from .quiz import private_keyboard
from .sending import reply_html, send_html
from .services import services

MAX_LISTED = 50


async def _due_questions(context, user_id: int) -> list:
    svc = services(context)
    cards = await svc.store.due_cards(user_id, svc.now(), MAX_LISTED)
    return [q for q in (svc.bank.get(c["question_id"]) for c in cards) if q is not None]


async def review(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if is_group(update):
        await reply_html(update.effective_message, texts.NOT_IN_GROUP)
        return
    if await ensure_registered(update, context) is None:
        return
    await send_next_review(context, update.effective_chat.id, update.effective_user.id, first=True)


async def send_next_review(context, chat_id: int, user_id: int, *, first: bool = False) -> bool:
    """Send the most overdue due card; say "all caught up" when none is left. True if one was sent."""
    svc = services(context)
    due = await _due_questions(context, user_id)
    if not due:
        await send_html(context.bot, chat_id, texts.REVIEW_NONE if first else texts.REVIEW_DONE)
        return False
    question = due[0]
    text = texts.review_header(len(due)) + "\n\n" + texts.question_text(question)
    sent = await send_html(context.bot, chat_id, text, reply_markup=private_keyboard())
    await svc.store.record_question_message(chat_id, sent.message_id, question.id, "review", user_id, svc.now())
    return True
