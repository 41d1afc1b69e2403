"""A learner's free-text answer: which question it answers, whether it is an answer at all,
then grade → record → verdict.

Private chat: a plain message answers the newest question; a reply answers the question replied
to (the same local day). Group: only a reply to a question message, or `/answer`, is an answer;
each member is graded on their own, once per question.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update

from content import Question
from content.tutor import AnswerOutcome, classify_message, give_up, grade_answer, still_open
from storage import Store
from storage.models import AnswerContext, AttemptResult, QuestionMessage

from .. import keyboards, texts
from ..context import TutorContext
from ..group_verdicts import GroupVerdict
from ..observability import count_verdict
from ..sending import FateUnknown, edit, reply, send
from .common import is_group, message_of, say
from .interview import after_interview_answer
from .review import send_next_review

log = logging.getLogger(__name__)


def answer_text_of_command(message: Message) -> str:
    """The text after `/answer` (or `/answer@Bot`), newlines and all."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def replied_bot_message(update: Update, context: TutorContext) -> int | None:
    """The id of the bot's message this one replies to, if any."""
    replied = message_of(update).reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
        return replied.message_id
    return None


async def private_text(update: Update, context: TutorContext) -> None:
    await handle_answer(update, context, message_of(update).text or "")


async def group_reply(update: Update, context: TutorContext) -> None:
    """In a group only a reply to a question message is an answer; replies to the welcome, /top
    or a verdict are conversation, not attempts."""
    replied = replied_bot_message(update, context)
    chat = update.effective_chat
    if replied is None or chat is None:
        return
    if await context.store.read(Store.get_question_message, chat.id, replied) is None:
        return
    await handle_answer(update, context, message_of(update).text or "")


async def answer_command(update: Update, context: TutorContext) -> None:
    text = answer_text_of_command(message_of(update))
    if not text.strip():
        await say(update, context, texts.EMPTY_ANSWER)
        return
    await handle_answer(update, context, text, explicit=True)


async def skip_command(update: Update, context: TutorContext) -> None:
    """/skip — "I don't know": the model answer, and the card comes back soon."""
    await handle_answer(update, context, "skip", explicit=False)


async def edited(update: Update, context: TutorContext) -> None:
    """An edit of an answer already graded is not graded again; an edit of a message that was not
    graded (it did not look like an answer) is graded as the final text."""
    message, user = message_of(update), update.effective_user
    if user is None:
        return
    if is_group(update):  # as for new messages: only a reply to a question message is an answer
        replied = replied_bot_message(update, context)
        if replied is None or await context.store.read(Store.get_question_message, message.chat_id, replied) is None:
            return
    # The question this text answers, resolved as for a new message. (Telegram's `date` and
    # the bot's clock are not comparable, so "graded already" is the attempt's existence.)
    found = await open_question_for(update, context, user.id)
    if found.attempt is not None:
        await say(update, context, texts.EDIT_NOT_REGRADED, low=True)
        return
    await handle_answer(update, context, message.text or "")


async def open_question_for(update: Update, context: TutorContext, user_id: int) -> AnswerContext:
    """What this message answers: the question replied to, else the chat's newest question."""
    message = message_of(update)
    replied = replied_bot_message(update, context)
    if replied is not None and await context.store.read(Store.get_question_message, message.chat_id, replied) is None:
        replied = None
    if replied is None and not is_group(update):
        latest = await context.store.read(Store.latest_question, message.chat_id)
        replied = latest.message_id if latest is not None else None
    return await context.store.read(Store.answer_context, user_id, message.chat_id, replied)


async def handle_answer(update: Update, context: TutorContext, text: str, *, explicit: bool = False) -> None:
    message, user = message_of(update), update.effective_user
    if user is None or message.sender_chat is not None:
        return  # anonymous admins and channels have no learner to grade
    group = is_group(update)
    if group:  # members answer without /start: register them on the way
        await context.store.write(Store.touch_user, user.id, user.first_name, user.username, user.language_code, context.now())
    found = await open_question_for(update, context, user.id)
    record, question = found.question, context.bank.get(found.question.question_id) if found.question else None
    if found.user is None:
        await say(update, context, texts.NOT_REGISTERED)
        return
    if record is None or question is None:
        if not group:
            await say(update, context, texts.NO_OPEN_QUESTION)
        return
    if found.attempt is not None:
        name = texts.user_name(user.first_name, user.username)
        await say(update, context, texts.group_already_answered(name) if group else texts.already_answered(found.attempt.verdict, question), low=group)
        return
    if not closes_today(context, record, found):
        await say(update, context, texts.question_closed(question))
        return
    kind = classify_message(text)
    if kind == "skip":
        await give_up_on(context, record, question, user.id, skipped=True, incoming=message)
        return
    if kind in ("chitchat", "question") and not explicit:
        if group:  # chatter in a group: dropped first when the group's budget runs short
            await say(update, context, texts.not_an_answer(question, kind), low=True)
        else:
            await reply(context, message, texts.not_an_answer(question, kind), markup=keyboards.not_an_answer())
        return
    if kind == "borderline" and not explicit:
        await reply(context, message, texts.is_this_your_answer(question), markup=keyboards.confirm_answer())
        return
    await grade_and_reply(update, context, message, record, question, found, text)


def closes_today(context: TutorContext, record: QuestionMessage, found: AnswerContext) -> bool:
    tz = (found.user.tz if found.user else None) or context.config.default_tz
    return still_open(record.sent_at, record.source, context.now(), tz, found.user.day_start_hour if found.user else 0)


async def grade_and_reply(
    update: Update, context: TutorContext, message: Message, record: QuestionMessage, question: Question,
    found: AnswerContext, text: str,
) -> None:
    user = update.effective_user
    assert user is not None and found.user is not None
    outcome = grade_answer(question, text, user_id=user.id, card=found.card, used_hint=found.used_hint, now=context.now())
    count_verdict(outcome.verdict)
    result = await store_attempt(context, record, outcome, user.id, found, update.update_id)
    if result is None:
        return  # a re-delivered copy of this very answer was recorded first
    if record.source == "interview":
        await after_interview_answer(context, message, record, outcome, user.id)
    elif is_group(update):
        await post_group_verdict(context, message, record, question, outcome, result)
    else:
        body = texts.verdict_private(question, outcome, result)
        await reply_once(context, message, body, markup=keyboards.private_verdict(record.message_id))
    await context.store.write(Store.mark_reply_sent, result.attempt_id, context.now())
    if record.source == "review" and not is_group(update):
        chat = await context.store.read(Store.get_chat, message.chat_id)
        if chat is not None:
            await send_next_review(context, chat, user.id, moved_from=record.question_id)


async def reply_once(context: TutorContext, message: Message, text: str, **kwargs: Any) -> None:
    """A verdict whose send may or may not have arrived (a timeout) is not sent again."""
    try:
        await reply(context, message, text, **kwargs)
    except FateUnknown as exc:
        log.warning("verdict: %s; not sent again", exc)


async def store_attempt(
    context: TutorContext, question_message: QuestionMessage, outcome: AnswerOutcome, user_id: int,
    found: AnswerContext, update_id: int | None = None,
) -> AttemptResult | None:
    """Store the attempt, its streak day and its FSRS review in one transaction (and mark the
    update done in it, so a crash cannot record one without the other)."""
    tz = (found.user.tz if found.user else None) or context.config.default_tz
    return await context.store.write(
        Store.record_attempt,
        user_id=user_id, chat_id=question_message.chat_id, question_id=outcome.question.id,
        question_message_id=question_message.message_id, topic=outcome.question.topic, score=outcome.score,
        verdict=outcome.verdict, matched=outcome.matched, used_hint=found.used_hint, revealed=outcome.revealed,
        now=context.now(), tz_name=tz, day_start_hour=found.user.day_start_hour if found.user else 0,
        card=outcome.card, review=outcome.review, inbox_update_id=update_id,
    )


async def post_group_verdict(
    context: TutorContext, message: Message, record: QuestionMessage, question: Question,
    outcome: AnswerOutcome, result: AttemptResult,
) -> None:
    """One verdict per member while the group is quiet, merged lines when it is busy (bot/group_verdicts.py)."""
    user = message.from_user
    name = texts.user_name(user.first_name if user else None, user.username if user else None)
    verdict = GroupVerdict(
        chat_id=message.chat_id, question_message_id=record.message_id, question_id=question.id,
        text=texts.verdict_group(name, question, outcome, result), line=texts.verdict_group_line(name, outcome, result),
    )

    async def send_one(v: GroupVerdict) -> object:
        return await reply(context, message, v.text, markup=keyboards.group_verdict(question.id, record.message_id))

    async def send_many(chat_id: int, question_message_id: int, question_id: str, lines: list[str]) -> object:
        return await send(context, chat_id, texts.merged_verdicts(lines), reply_to=question_message_id,
                          markup=keyboards.model_answer_only(question_id))

    await context.services.group_verdicts.post(verdict, send_one=send_one, send_many=send_many)


async def give_up_on(
    context: TutorContext, record: QuestionMessage, question: Question, user_id: int, *, skipped: bool,
    incoming: Message | None = None,
) -> None:
    """📖 Show answer, 🤷 I don't know, "idk": the model answer; the card comes back soon (Again).
    Not a graded attempt: accuracy and the streak do not move."""
    found = await context.store.read(Store.answer_context, user_id, record.chat_id, record.message_id)
    note = ""
    result = None
    if found.attempt is None:
        outcome = give_up(question, user_id=user_id, card=found.card, now=context.now())
        result = await store_attempt(context, record, outcome, user_id, found)
        note = (texts.SKIPPED if skipped else texts.REVEALED) + "\n\n"
    if record.chat_id < 0:  # a group: one line and the 📖 button, not the model answer for everyone still answering
        text, markup = texts.GROUP_SKIPPED, keyboards.model_answer_only(question.id)
    else:
        text, markup = note + texts.model_answer(question), keyboards.next_only()
    if incoming is not None:
        await reply(context, incoming, text, markup=markup)
    else:
        await send(context, record.chat_id, text, markup=markup)
    if result is not None:
        await context.store.write(Store.mark_reply_sent, result.attempt_id, context.now())
    if record.source == "review" and found.attempt is None:
        chat = await context.store.read(Store.get_chat, record.chat_id)
        if chat is not None:
            await send_next_review(context, chat, user_id, moved_from=record.question_id)


async def confirm_button(update: Update, context: TutorContext) -> None:
    """**Grade it** / **Not an answer** under "Is this your answer to …?". The text to grade is
    the learner's message the question replied to, as Telegram attaches it."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    original = message.reply_to_message if isinstance(message, Message) else None
    if original is None or original.from_user is None or original.from_user.id != query.from_user.id:
        await query.answer(texts.NOT_YOURS, show_alert=True)
        return
    await query.answer()
    if isinstance(message, Message):
        await drop_keyboard(context, message)
    if query.data == keyboards.NOT_ANSWER:
        return
    fake = Update(update.update_id, message=original)
    await handle_answer(fake, context, original.text or "", explicit=True)


async def drop_keyboard(context: TutorContext, message: Message) -> None:
    try:
        await context.bot.edit_message_reply_markup(message.chat_id, message.message_id, reply_markup=None)
    except Exception:  # noqa: BLE001 — cosmetic
        pass


async def model_answer_button(update: Update, context: TutorContext) -> None:
    """📖 under a group verdict: append the model answer to that message."""
    query = update.callback_query
    if query is None:
        return
    question = context.bank.get((query.data or "").removeprefix(keyboards.MODEL_ANSWER))
    message = query.message
    if question is None or not isinstance(message, Message) or not keyboards.is_button_of(message.reply_markup, query.data):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await edit(context, message.chat_id, message.message_id, (message.text_html or "") + "\n\n" + texts.model_answer(question))


async def dispute_button(update: Update, context: TutorContext) -> None:
    """🙋 "I think I was right": keep the reply, verdict and matched terms for a content author.

    Only the member who gave the answer may press it: the verdict replies to their message."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    answer = message.reply_to_message if isinstance(message, Message) else None
    if not isinstance(message, Message) or answer is None or answer.from_user is None or answer.from_user.id != query.from_user.id:
        await query.answer(texts.DISPUTE_NOT_YOURS, show_alert=True)
        return
    raw = (query.data or "").removeprefix(keyboards.DISPUTE)
    qmsg = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    attempt = await context.store.read(Store.get_attempt, query.from_user.id, message.chat.id, qmsg)
    question = context.bank.get(attempt.question_id) if attempt else None
    if attempt is None or question is None:
        await query.answer(texts.DISPUTE_NOT_YOURS, show_alert=True)
        return
    text = answer.text or ""
    if text.startswith("/answer"):
        text = answer_text_of_command(answer)
    outcome = grade_answer(question, text, user_id=query.from_user.id, card=None, used_hint=False, now=context.now())
    grade = outcome.grade
    await context.store.write(
        Store.record_dispute, user_id=query.from_user.id, chat_id=message.chat.id, question_id=question.id,
        question_message_id=qmsg, reply=text[:4096], verdict=attempt.verdict, score=attempt.score,
        matched=grade.matched_terms if grade else [], missed=list(grade.missed) if grade else [], now=context.now(),
    )
    await query.answer(texts.DISPUTE_THANKS, show_alert=True)
