"""/ask <topic>: the best-matching question with its model answer, and buttons for the next two."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from content import closest_topics, find_questions

from . import texts
from .sending import reply_html, send_html
from .services import services
from .settings import argument

PREFIX = "ask:"
PATTERN = r"^ask:"


def _more_buttons(hits) -> InlineKeyboardMarkup | None:
    if not hits:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.clip(h.question, 60), callback_data=(PREFIX + h.question_id)[:64])] for h in hits]
    )


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    query = texts.clip(argument(update), 200)
    if not query:
        titles = [(t.slug, t.title) for t in svc.bank.topics]
        await reply_html(message, texts.topic_list(titles))
        return
    hits = find_questions(svc.bank, query, limit=3)
    if not hits:
        await reply_html(message, texts.ask_no_match(query, closest_topics(svc.bank, query)))
        return
    best = svc.bank.get(hits[0].question_id)
    await reply_html(message, texts.ask_result(best, len(hits) - 1), reply_markup=_more_buttons(hits[1:]))


async def ask_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    question = svc.bank.get((query.data or "").removeprefix(PREFIX))
    if question is None or query.message is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await send_html(context.bot, query.message.chat.id, texts.ask_result(question, 0))
