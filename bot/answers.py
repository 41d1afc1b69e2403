"""A learner's free-text answer: find the question it answers, grade it, record it, reply.

Private chat: plain text answers the open question; a reply to an older question answers that
one. Group: members reply to the question message (or use /answer); each is graded on their own,
one graded answer per member per question.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes

from content import grade_reply

from . import interview, review, texts
from .access import is_group
from .learning import record_graded
from .group_verdicts import GroupVerdict
from .sending import inline_keyboard, reply_html, reply_to, send_html
from .services import services

DISPUTE = "d:"

MAX_GRADED_CHARS = 4096


def answer_text_of_command(message: Message) -> str:
    """The text after `/answer` (or `/answer@Bot`), newlines and all."""
    text = message.text or ""
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    await grade_and_reply(update, context, message.text or "")


async def on_answer_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = answer_text_of_command(update.effective_message)
    if not text.strip():
        await reply_html(update.effective_message, texts.EMPTY_ANSWER)
        return
    await grade_and_reply(update, context, text)


def _replied_question_id(update: Update, context) -> int | None:
    """The message id this answer replies to, if it replies to one of the bot's messages."""
    replied = update.effective_message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
        return replied.message_id
    return None


async def grade_and_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    svc = services(context)
    message = update.effective_message
    user = update.effective_user
    group = is_group(update)
    if user is None or message.sender_chat is not None:
        return  # anonymous admins and channels have no learner to grade
    # One storage call reads the learner, the question answered, an earlier attempt, the hint
    # and the FSRS card (group members are registered on the way: they answer without /start).
    touch = (user.first_name, user.username, user.language_code, svc.now()) if group else None
    found = await svc.store.answer_context(
        user.id, message.chat_id, _replied_question_id(update, context), touch=touch
    )
    learner, record = found["user"], found["question"]
    if learner is None:
        await reply_html(message, texts.NOT_REGISTERED)
        return
    question = svc.bank.get(record["question_id"]) if record else None
    if question is None:
        if not group:
            await reply_html(message, texts.NO_OPEN_QUESTION)
        return
    qmsg = record["message_id"]
    name = texts.user_name(user.first_name, user.username)
    existing = found["attempt"]
    if existing is not None:
        await reply_html(message, texts.group_already_answered(name) if group else texts.already_answered(existing["verdict"]))
        return

    grade = grade_reply(question, text[:MAX_GRADED_CHARS])
    result = await record_graded(
        context, user_id=user.id, chat_id=message.chat_id, question=question, question_message_id=qmsg, grade=grade,
        user=learner, used_hint=found["used_hint"], card=found["card"],
    )
    if result is None:  # a concurrent duplicate of this very answer won the race
        return
    streak = result.streak.current
    freeze_note = texts.freeze_used(result.freezes_used) if getattr(result, "freezes_used", 0) else ""
    source = record.get("source")
    dispute = ("🙋 I think I was right", f"{DISPUTE}{qmsg}")
    if source == "interview":
        await interview.after_answer(context, update, record, question, grade)
        return
    if group:
        markup = inline_keyboard([model_answer_button(question.id)], [dispute])
        verdict = GroupVerdict(
            chat_id=message.chat_id, question_message_id=qmsg, question_id=question.id,
            text=texts.verdict_group(name, grade, streak) + freeze_note, line=texts.verdict_group_line(name, grade, streak),
        )
        await svc.group_verdicts.post(
            verdict,
            send_one=lambda v: reply_html(message, v.text, reply_markup=markup, unread=True),
            send_many=lambda chat_id, qmsg, question_id, lines: send_html(
                context.bot, chat_id, texts.merged_verdicts(lines),
                reply_parameters=reply_to(qmsg), reply_markup=inline_keyboard([model_answer_button(question_id)]), unread=True,
            ),
        )
        return
    body = texts.verdict_private(question, grade, streak) + freeze_note
    if len(text) > MAX_GRADED_CHARS:
        body = texts.TOO_LONG_NOTE + "\n" + body
    await reply_html(message, body, reply_markup=inline_keyboard([dispute]), unread=True)
    if source == "review":
        await review.send_next_review(context, message.chat_id, user.id)


def model_answer_button(question_id: str) -> tuple[str, str]:
    """(text, callback_data) of the button that shows a question's model answer (`inline_keyboard`)."""
    return ("📖 Model answer", f"r:{question_id}"[:64])


async def on_dispute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"I think I was right": keep the reply, verdict and matched terms for a content author.

    The attempt is looked up for the person who pressed, in the chat the button is in, so a
    forged press can only ever dispute the presser's own grade.
    """
    svc = services(context)
    query = update.callback_query
    message = query.message
    try:
        qmsg = int((query.data or "").removeprefix(DISPUTE))
    except ValueError:
        qmsg = 0
    if not 0 < qmsg < 2**31:  # Telegram message ids; forged data like "d:99999999999999999999" overflows SQLite
        qmsg = 0
    attempt = await svc.store.get_attempt(query.from_user.id, message.chat.id, qmsg) if isinstance(message, Message) else None
    question = svc.bank.get(attempt["question_id"]) if attempt else None
    if attempt is None or question is None:
        await query.answer(texts.DISPUTE_NOT_YOURS, show_alert=True)
        return
    answer_message = message.reply_to_message
    reply = (answer_message.text or "") if answer_message is not None else ""
    if reply.startswith("/answer"):
        reply = answer_text_of_command(answer_message)
    grade = grade_reply(question, reply) if reply else None
    await svc.store.record_dispute(
        user_id=query.from_user.id,
        chat_id=message.chat.id,
        question_id=question.id,
        question_message_id=qmsg,
        reply=reply[:MAX_GRADED_CHARS],
        verdict=attempt["verdict"],
        score=attempt["score"],
        matched=grade.matched_terms if grade else [],
        missed=list(grade.missed) if grade else [],
        now=svc.now(),
    )
    await query.answer(texts.DISPUTE_THANKS, show_alert=True)
