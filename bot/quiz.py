"""Sending questions (/quiz, the Next button, the daily push) and the question's buttons.

A question message is recorded in storage under (chat, message id), so every later reply or
button press on it is resolved from what Telegram says the message is — never from data the
client sent — and a forged callback cannot reach another chat's question.
"""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from content.selection import choose_question

from . import texts
from .access import ensure_registered, is_group, require_admin
from .learning import record_graded
from .sending import edit_html, send_html
from .services import services

HINT, SHOW, NEXT = "q:hint", "q:show", "q:next"
PATTERN = r"^q:(hint|show|next)$"


def private_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton("💡 Hint", callback_data=HINT),
            InlineKeyboardButton("📖 Show answer", callback_data=SHOW),
            InlineKeyboardButton("➡️ Next", callback_data=NEXT),
        ]]
    )


def group_markup() -> ForceReply:
    # Privacy mode lets the bot see replies to its own messages: ForceReply opens the reply box.
    return ForceReply(selective=False, input_field_placeholder="Your answer…")


async def pick_question(context: ContextTypes.DEFAULT_TYPE, chat: dict):
    """A learner gets their most overdue FSRS card first, else a question they have never seen;
    a group keeps its rotation (level, not the last 10, not the same topic twice in a row)."""
    svc = services(context)
    level = chat.get("level") or "all"
    recent = await svc.store.recent_questions(chat["chat_id"], 10)
    if chat["type"] != ChatType.PRIVATE:
        return choose_question(svc.bank, level=level, recent=recent, rng=svc.rng)
    learner = chat["chat_id"]
    for card in await svc.store.due_cards(learner, svc.now(), 10):
        question = svc.bank.get(card["question_id"])
        if question is not None and (level == "all" or question.level == level):
            return question
    seen = await svc.store.card_question_ids(learner)
    return choose_question(svc.bank, level=level, recent=recent, rng=svc.rng, avoid=seen)


async def send_question(context, chat: dict, question, *, source: str, user_id: int | None, daily: bool = False, **kwargs) -> Message:
    """Send a question to a chat (private: with buttons; group: with the reply box open)."""
    group = chat["type"] != ChatType.PRIVATE
    text = texts.question_text(question, daily=daily, group=group)
    markup = group_markup() if group else private_keyboard()
    return await send_html(context.bot, chat["chat_id"], text, reply_markup=markup, **kwargs)


async def quiz(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/quiz — a question now, chosen by the same rule as the daily push."""
    svc = services(context)
    message = update.effective_message
    if is_group(update) and not await require_admin(update, context):
        return
    chat = await ensure_registered(update, context)
    if chat is None:
        return
    user = update.effective_user
    await svc.store.touch_user(user.id, user.first_name, user.username, user.language_code, svc.now())
    question = await pick_question(context, chat)
    sent = await send_question(context, chat, question, source="quiz", user_id=update.effective_user.id)
    await svc.store.record_question_message(
        message.chat_id, sent.message_id, question.id, "quiz", update.effective_user.id, svc.now()
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Hint / Show answer / Next under a private question."""
    svc = services(context)
    query = update.callback_query
    message = query.message
    # These buttons only exist in the presser's own private chat: a press claimed anywhere else
    # (another learner's chat, or a group, where a new question is for admins) is forged.
    if message is None or not isinstance(message, Message) or message.chat.id != query.from_user.id:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    user_id = query.from_user.id
    if await svc.store.get_user(user_id) is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if query.data == NEXT:  # needs only the chat, so it also works under a revealed answer
        chat = await svc.store.get_chat(message.chat_id)
        if chat is None:
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        await query.answer()
        nxt = await pick_question(context, chat)
        sent = await send_question(context, chat, nxt, source="quiz", user_id=user_id)
        await svc.store.record_question_message(message.chat_id, sent.message_id, nxt.id, "quiz", user_id, svc.now())
        # Drop the buttons of the message the learner moved on from (a question can still be answered by reply).
        await _drop_buttons(context, message)
        return
    record = await svc.store.get_question_message(message.chat_id, message.message_id)
    question = svc.bank.get(record["question_id"]) if record else None
    if question is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if query.data == HINT:
        await svc.store.mark_hint_used(user_id, message.chat_id, message.message_id, svc.now())
        await query.answer(texts.clip(question.hint or texts.HINT_NONE, 190), show_alert=True)
    else:
        await query.answer()
        await reveal(context, message.chat_id, message.message_id, question, user_id)


async def reveal(context, chat_id: int, message_id: int, question, user_id: int) -> None:
    """Show the model answer; if the learner had not answered yet, it counts as a miss (FSRS: Again)."""
    svc = services(context)
    existing = await svc.store.get_attempt(user_id, chat_id, message_id)
    note = ""
    if existing is None:
        await record_graded(
            context, user_id=user_id, chat_id=chat_id, question=question,
            question_message_id=message_id, grade=None, revealed=True,
        )
        note = texts.REVEALED_COUNTS + "\n\n"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("➡️ Next", callback_data=NEXT)]])
    await send_html(context.bot, chat_id, note + texts.model_answer(question), reply_markup=markup)


async def _drop_buttons(context, message: Message) -> None:
    try:
        await context.bot.edit_message_reply_markup(message.chat_id, message.message_id, reply_markup=None)
    except Exception:  # noqa: BLE001 — cosmetic; an old or deleted message is fine to leave
        pass


def _is_button_of(message: Message, data: str | None) -> bool:
    """Telegram attaches the message a button is under, keyboard included: data that is none of
    its buttons was made up by a modified client (e.g. another question's id under a verdict)."""
    markup = message.reply_markup
    return markup is not None and any(b.callback_data == data for row in markup.inline_keyboard for b in row)


async def show_group_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The 📖 button under a member's verdict in a group: append the model answer to that message."""
    svc = services(context)
    query = update.callback_query
    qid = (query.data or "").removeprefix("r:")
    question = svc.bank.get(qid)
    message = query.message
    if question is None or not isinstance(message, Message) or not _is_button_of(message, query.data):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await edit_html(context.bot, message.chat_id, message.message_id, (message.text_html or "") + "\n\n" + texts.model_answer(question))
