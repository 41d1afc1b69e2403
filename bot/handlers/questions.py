"""Choosing and sending questions: the same rule for /quiz, ➡️ Next, /review and the daily push.

A question message is recorded under (chat, message id), so a reply or button press is always
resolved from what Telegram says the message is, never from data the client sent.
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from content import Question, find_questions
from content.tutor import next_question, weakest_topic
from storage import Store
from storage.models import Chat, Source

from .. import keyboards, texts
from ..context import TutorContext
from ..limits import Priority
from ..sending import send


async def choose_for(context: TutorContext, chat: Chat, topic: str | None = None) -> Question:
    """The chat's next question: a learner's most overdue card, else one they have not seen;
    a group keeps its rotation."""
    store = context.store
    recent = await store.read(Store.recent_questions, chat.chat_id, 10)
    if chat.type != "private":
        return next_question(context.bank, level=chat.level, recent=recent, rng=context.rng, topic=topic)
    due = [card.question_id for card in await store.read(Store.due_cards, chat.chat_id, context.now(), 10)]
    seen = await store.read(Store.card_question_ids, chat.chat_id)
    return next_question(context.bank, level=chat.level, recent=recent, due=due, seen=seen, rng=context.rng, topic=topic)


async def send_question(
    context: TutorContext, chat: Chat, question: Question, *, source: Source, user_id: int | None,
    header: str = "", priority: Priority = Priority.REPLY, interview_id: int | None = None, paid_broadcast: bool = False,
) -> Message:
    """Send a question (private: with its buttons; group: with the reply box open) and record it."""
    group = chat.type != "private"
    text = (header + "\n\n" if header else "") + texts.question_text(question, daily=source == "daily", group=group)
    if group:
        markup: Any = keyboards.group_reply_box()
    else:
        markup = keyboards.interview_buttons() if source == "interview" else keyboards.question_buttons()
    extra = {"allow_paid_broadcast": True} if paid_broadcast else {}
    sent = await send(context, chat.chat_id, text, markup=markup, priority=priority, **extra)
    await context.store.write(Store.record_question_message, sent.chat_id, sent.message_id, question.id, source, user_id,
                              context.now(), interview_id=interview_id)
    return sent


async def topic_from(context: TutorContext, update: Update, arg: str) -> str | None:
    """The topic slug `/quiz <arg>` asks for: "weak" is the learner's weakest topic."""
    user = update.effective_user
    if arg.lower() == "weak" and user is not None:
        stats = await context.store.read(Store.user_stats, user.id, None)
        accuracy = {t.topic: t.accuracy for t in stats.per_topic}
        answered = {t.topic: t.answered for t in stats.per_topic}
        return weakest_topic(accuracy, answered)
    wanted = arg.lower().strip()
    for topic in context.bank.topics:  # a topic named exactly, by slug or title
        if wanted in (topic.slug, topic.slug.replace("-", " "), topic.title.lower()):
            return topic.slug
    # Otherwise the main topic of the question /ask would show ("kv cache", "vanishing grads");
    # nothing when no question is close enough.
    hits = find_questions(context.bank, arg, 1)
    question = context.bank.get(hits[0].question_id) if hits else None
    return question.topic if question is not None else None


async def drop_buttons(context: TutorContext, message: Message) -> None:
    """Remove the buttons of a message the learner moved on from (cosmetic: failures are fine)."""
    if message.reply_markup is None:
        return
    try:
        await context.bot.edit_message_reply_markup(message.chat_id, message.message_id, reply_markup=None)
    except Exception:  # noqa: BLE001 — an old or deleted message is fine to leave as it is
        pass


