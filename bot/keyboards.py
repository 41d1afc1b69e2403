"""Every button the bot shows, and the callback data behind it, in one place.

Callback data is a short prefix and at most one value (`"r:dropout-role"`): Telegram caps it at
64 bytes, and a modified client can send any data it likes, so handlers resolve what a button
means from storage and from the message it is under, never from the data alone. Each handler is
registered with `pattern(PREFIX)`.
"""

from __future__ import annotations

import re

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from . import texts

HINT, SHOW, NEXT, SKIP = "q:hint", "q:show", "q:next", "q:skip"  # under a private question
QUESTION_BUTTONS = r"^q:(hint|show|next|skip)$"
MODEL_ANSWER = "r:"  # + question id: the model answer under a group verdict
DISPUTE = "d:"  # + question message id: "I think I was right" under a verdict
FORGET_YES, FORGET_NO = "f:yes", "f:no"
FORGET_BUTTONS = r"^f:(yes|no)$"
ASK = "ask:"  # + question id: another /ask match
GRADE_IT, NOT_ANSWER = "c:grade", "c:not"  # "Is this your answer?" under a borderline message
CONFIRM_BUTTONS = r"^c:(grade|not)$"
INTERVIEW_STOP = "i:stop"  # ⏹ under a private interview question
ANNOUNCE = "o:"  # + "send:<id>" or "cancel:<id>" under an /announce preview (owners only)
HISTORY = "h:"  # + attempt id: one /history answer (resolved for the presser only)

MAX_DATA = 64  # bytes, Telegram's limit


def pattern(prefix: str) -> str:
    """The CallbackQueryHandler pattern for every button with this prefix."""
    return "^" + re.escape(prefix)


def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.encode()[:MAX_DATA].decode(errors="ignore"))


def question_buttons() -> InlineKeyboardMarkup:
    """Under a private question: hint, I don't know, show the answer, move on."""
    return InlineKeyboardMarkup([
        [button(texts.BUTTON_HINT, HINT), button(texts.BUTTON_SKIP, SKIP)],
        [button(texts.BUTTON_SHOW, SHOW), button(texts.BUTTON_NEXT, NEXT)],
    ])


def interview_buttons() -> InlineKeyboardMarkup:
    """Under a private interview question: I don't know, stop the interview."""
    return InlineKeyboardMarkup([[button(texts.BUTTON_SKIP, SKIP), button(texts.BUTTON_STOP, INTERVIEW_STOP)]])


def next_only() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(texts.BUTTON_NEXT, NEXT)]])


def group_reply_box() -> ForceReply:
    """In a group the bot sees only replies to its own messages: open the reply box."""
    return ForceReply(selective=False, input_field_placeholder=texts.REPLY_PLACEHOLDER)


def private_verdict(question_message_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [button(texts.BUTTON_DISPUTE, f"{DISPUTE}{question_message_id}")],
        [button(texts.BUTTON_NEXT, NEXT)],
    ])


def group_verdict(question_id: str, question_message_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [button(texts.BUTTON_MODEL_ANSWER, f"{MODEL_ANSWER}{question_id}")],
        [button(texts.BUTTON_DISPUTE, f"{DISPUTE}{question_message_id}")],
    ])


def model_answer_only(question_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(texts.BUTTON_MODEL_ANSWER, f"{MODEL_ANSWER}{question_id}")]])


def forget_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(texts.BUTTON_FORGET_YES, FORGET_YES), button(texts.BUTTON_CANCEL, FORGET_NO)]])


def ask_more(hits: list[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    """One button per further /ask match: (question id, question text)."""
    if not hits:
        return None
    return InlineKeyboardMarkup([[button(texts.clip(text, 60), ASK + qid)] for qid, text in hits])


def confirm_answer() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(texts.BUTTON_GRADE_IT, GRADE_IT), button(texts.BUTTON_NOT_ANSWER, NOT_ANSWER)]])


def not_an_answer() -> InlineKeyboardMarkup:
    """Under "that didn't look like an answer": what the learner can do instead."""
    return InlineKeyboardMarkup([[button(texts.BUTTON_HINT, HINT), button(texts.BUTTON_SKIP, SKIP)]])


def announce_confirm(announcement_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(texts.BUTTON_SEND, f"{ANNOUNCE}send:{announcement_id}"),
                                  button(texts.BUTTON_CANCEL, f"{ANNOUNCE}cancel:{announcement_id}")]])


def history_buttons(attempt_ids: list[int]) -> InlineKeyboardMarkup | None:
    """Under /history: one numbered button per answer listed, five to a row."""
    if not attempt_ids:
        return None
    buttons = [button(texts.summary_button(n), f"{HISTORY}{a}") for n, a in enumerate(attempt_ids, 1)]
    return InlineKeyboardMarkup([buttons[i:i + 5] for i in range(0, len(buttons), 5)])


def is_button_of(markup: InlineKeyboardMarkup | None, data: str | None) -> bool:
    """Telegram attaches the message a button is under, keyboard included: data that is none of
    its buttons was made up by a modified client."""
    return markup is not None and any(b.callback_data == data for row in markup.inline_keyboard for b in row)
