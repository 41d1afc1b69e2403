"""/interview [topic|level], /interview stop (and ⏹ Stop), /interview next (groups).

Private: each answer gets a one-line verdict and the next question follows; after the last, or
on ⏹ Stop, a summary: every question's verdict and missed core ideas, with a 📖 button for each
model answer. Group: an admin starts it and moves on with `/interview next`; members answer each
question by reply; the summary ranks the members.
"""

from __future__ import annotations

from collections import defaultdict

from telegram import InlineKeyboardMarkup, Message, Update

from content import Question, closest_topics
from content.tutor import INTERVIEW_AVOID_DAYS, AnswerOutcome, interview_questions, interview_summary
from storage import Store
from storage.models import Chat, Interview, QuestionMessage

from .. import keyboards, texts
from ..context import TutorContext
from ..sending import reply, send
from .common import argument, learner_in_chat, own_private_message, say
from .questions import send_question

LEVELS = ("intermediate", "advanced")
RECENT_FOR_AVOIDING = 10 * INTERVIEW_AVOID_DAYS  # question messages the chat saw lately (about a week's worth)


async def interview(update: Update, context: TutorContext) -> None:
    arg = argument(update)
    command = arg.lower()
    chat = await learner_in_chat(update, context, admin_for="run a mock interview")
    user = update.effective_user
    if chat is None or user is None:
        return
    active = await context.store.read(Store.active_interview, chat.chat_id, user.id)
    if command in ("stop", "next"):
        if active is None:
            await say(update, context, texts.INTERVIEW_NONE)
        elif command == "stop":
            await finish(context, chat, active)
        else:
            await advance(context, chat, active)
        return
    if active is not None:
        await say(update, context, texts.INTERVIEW_RUNNING)
        return
    await begin(update, context, chat, user.id, arg)


async def begin(update: Update, context: TutorContext, chat: Chat, user_id: int, arg: str) -> None:
    level: str = chat.level
    topic: str | None = None
    if arg.lower() in LEVELS:
        level = arg.lower()
    elif arg:
        wanted = arg.lower().strip()  # a topic named exactly (slug or title) first, else the closest
        exact = [t.slug for t in context.bank.topics if wanted in (t.slug, t.slug.replace("-", " "), t.title.lower())]
        near = exact or closest_topics(context.bank, arg, 3)
        topic = near[0] if near else None
        if topic is None:
            await say(update, context, texts.interview_no_questions(arg))
            return
    recent = await context.store.read(Store.recent_questions, chat.chat_id, RECENT_FOR_AVOIDING)
    related = closest_topics(context.bank, arg, 4)[1:] if topic else []
    questions, filled = interview_questions(context.bank, level=level, topic=topic, recent=recent, rng=context.rng, related=related)
    if not questions:
        await say(update, context, texts.interview_no_questions(arg))
        return
    label = context.bank.topic_titles.get(topic, topic) if topic else (level if level in LEVELS else "mixed")
    started = await context.store.write(Store.start_interview, chat.chat_id, user_id, [q.id for q in questions], label, context.now())
    if started is None:
        await say(update, context, texts.INTERVIEW_RUNNING)
        return
    await say(update, context, texts.interview_intro(label, len(questions), chat.type != "private", filled))
    await ask_current(context, chat, started)


async def ask_current(context: TutorContext, chat: Chat, iv: Interview) -> None:
    question_id = iv.current_question_id
    question = context.bank.get(question_id) if question_id else None
    if question is None:
        await finish(context, chat, iv)
        return
    header = texts.interview_header(iv.position + 1, len(iv.question_ids))
    await send_question(context, chat, question, source="interview", user_id=iv.user_id, header=header, interview_id=iv.id)


async def advance(context: TutorContext, chat: Chat, iv: Interview) -> None:
    iv = await context.store.write(Store.advance_interview, iv.id, context.now())
    if iv.finished:
        await send_summary(context, chat, iv)
    else:
        await ask_current(context, chat, iv)


async def finish(context: TutorContext, chat: Chat, iv: Interview) -> None:
    """⏹ Stop: the interview ends here, with a summary of what was answered."""
    while not iv.finished:
        iv = await context.store.write(Store.advance_interview, iv.id, context.now())
    await send_summary(context, chat, iv)


async def after_interview_answer(
    context: TutorContext, message: Message, record: QuestionMessage, outcome: AnswerOutcome, user_id: int,
) -> None:
    """A graded interview answer: a one-line verdict, then (private) the next question."""
    await reply(context, message, texts.interview_verdict(outcome))
    if is_group_chat(message):
        return  # the admin moves the group on with /interview next
    iv = await context.store.read(Store.active_interview, message.chat_id, user_id)
    chat = await context.store.read(Store.get_chat, message.chat_id)
    if iv is None or chat is None or iv.current_question_id != record.question_id:
        return
    await advance(context, chat, iv)


def is_group_chat(message: Message) -> bool:
    return message.chat.type in ("group", "supergroup")


async def send_summary(context: TutorContext, chat: Chat, iv: Interview) -> None:
    results = await context.store.read(Store.interview_results, iv.id)
    bank = context.bank
    if chat.type != "private":
        per_member: dict[str, float] = defaultdict(float)
        for r in results:
            per_member[texts.user_name(r.first_name, r.username)] += r.score
        ranking = sorted(per_member.items(), key=lambda kv: -kv[1])
        await send(context, chat.chat_id, texts.interview_group_summary(ranking, len(iv.question_ids)))
        return
    scores = {r.question_id: (r.verdict, r.score) for r in results}
    missed: dict[str, list[str]] = {}
    for r in results:
        attempt = await context.store.read(Store.get_attempt, r.user_id, chat.chat_id, r.message_id)
        question = bank.get(r.question_id)
        if attempt is not None and question is not None:
            missed[r.question_id] = missed_core(question, attempt.matched)
    summary = interview_summary(bank, iv.question_ids, scores, missed)
    buttons = [[keyboards.button(texts.summary_button(line.number), keyboards.ASK + line.question.id)] for line in summary.lines]
    await send(context, chat.chat_id, texts.interview_summary(summary, bank.topic_titles), markup=InlineKeyboardMarkup(buttons))


def missed_core(question: Question, matched: tuple[str, ...]) -> list[str]:
    """The core ideas of `question` a stored attempt did not match."""
    core = [t.term for t in question.key_terms if getattr(t, "core", False)] or [t.term for t in question.key_terms]
    return [term for term in core if term not in matched]




async def stop_button(update: Update, context: TutorContext) -> None:
    """⏹ Stop under a private interview question."""
    query, message = update.callback_query, await own_private_message(update)
    if query is None or message is None:
        return
    active = await context.store.read(Store.active_interview, message.chat_id, query.from_user.id)
    chat = await context.store.read(Store.get_chat, message.chat_id)
    await query.answer()
    if active is None or chat is None:
        await send(context, message.chat_id, texts.INTERVIEW_NONE)
        return
    await finish(context, chat, active)
