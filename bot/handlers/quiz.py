"""/quiz [topic|weak], and the buttons under a private question: 💡 Hint, 🤷 I don't know,
📖 Show answer, ➡️ Next."""

from __future__ import annotations

from telegram import Message, Update

from storage import Store

from .. import keyboards, texts
from ..context import TutorContext
from .answers import give_up_on
from .common import argument, learner_in_chat, own_private_message, say
from .questions import choose_for, drop_buttons, send_question, topic_from
from .review import send_next_review


async def quiz(update: Update, context: TutorContext) -> None:
    """/quiz, /quiz <topic>, /quiz weak — a question now."""
    chat = await learner_in_chat(update, context, admin_for="post a question now")
    user = update.effective_user
    if chat is None or user is None:
        return
    arg = argument(update)
    topic = await topic_from(context, update, arg) if arg else None
    if arg and topic is None:
        await say(update, context, texts.quiz_no_topic(arg, arg.lower() == "weak"))
        return
    question = await choose_for(context, chat, topic)
    await send_question(context, chat, question, source="quiz", user_id=user.id)


async def question_button(update: Update, context: TutorContext) -> None:
    """💡 Hint · 🤷 I don't know · 📖 Show answer · ➡️ Next, under a private question."""
    query, message = update.callback_query, await own_private_message(update)
    if query is None or message is None:
        return
    user_id = query.from_user.id
    if query.data == keyboards.NEXT:
        await next_button(update, context, message)
        return
    record = await context.store.read(Store.get_question_message, message.chat_id, message.message_id)
    if record is None and message.reply_to_message is not None:
        # Under "that didn't look like an answer" (a reply to the learner): the question it named, the newest.
        record = await context.store.read(Store.latest_question, message.chat_id)
    question = context.bank.get(record.question_id) if record else None
    if record is None or question is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if query.data == keyboards.HINT:
        await context.store.write(Store.mark_hint_used, user_id, record.chat_id, record.message_id, context.now())
        await query.answer(texts.clip(question.hint or texts.HINT_NONE, 190), show_alert=True)
        return
    await query.answer()
    await give_up_on(context, record, question, user_id, skipped=query.data == keyboards.SKIP)


async def next_button(update: Update, context: TutorContext, message: Message) -> None:
    """➡️ Next: inside /review the next due card, else a new question; the old buttons go away."""
    query = update.callback_query
    assert query is not None
    chat = await context.store.read(Store.get_chat, message.chat_id)
    if chat is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    record = await context.store.read(Store.get_question_message, message.chat_id, message.message_id)
    if record is not None and record.source == "review":  # stay in /review: the next due card, or "all caught up"
        await send_next_review(context, chat, query.from_user.id, moved_from=record.question_id, passed_over=True)
    else:
        question = await choose_for(context, chat)
        await send_question(context, chat, question, source="quiz", user_id=query.from_user.id)
    await drop_buttons(context, message)
