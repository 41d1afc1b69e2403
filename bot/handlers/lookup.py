"""/ask <topic>: the best-matching question with its model answer, and buttons for the next two."""

from __future__ import annotations

from telegram import Update

from content import closest_topics, find_questions

from .. import keyboards, texts
from ..context import TutorContext
from ..sending import send
from .common import argument, say


async def ask(update: Update, context: TutorContext) -> None:
    bank = context.bank
    query = texts.clip(argument(update), 200)
    if not query:
        await say(update, context, texts.topic_list([(t.slug, t.title) for t in bank.topics]), low=True)
        return
    hits = find_questions(bank, query, limit=3)
    best = bank.get(hits[0].question_id) if hits else None
    if best is None:
        await say(update, context, texts.ask_no_match(query, closest_topics(bank, query)), low=True)
        return
    more = keyboards.ask_more([(h.question_id, h.question) for h in hits[1:]])
    await say(update, context, texts.ask_result(best, len(hits) - 1), low=True, markup=more)


async def ask_button(update: Update, context: TutorContext) -> None:
    """Another /ask match, or a 📖 under an interview summary: the question and its model answer."""
    query = update.callback_query
    if query is None:
        return
    question = context.bank.get((query.data or "").removeprefix(keyboards.ASK))
    if question is None or query.message is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await send(context, query.message.chat.id, texts.ask_result(question, 0))
