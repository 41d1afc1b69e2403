"""/review: the learner's FSRS cards that are due now, one after another, until none is."""

from __future__ import annotations

from telegram import Update

from storage import Store
from storage.models import Chat

from .. import texts
from ..context import TutorContext
from ..sending import send
from .common import chat_row, is_group, say
from .questions import send_question

MAX_LISTED = 50
REVIEW_SESSIONS = "review-passed-over"  # bot_data key: chat id -> question ids passed over with ➡️ Next
MAX_SESSIONS = 10_000


async def review(update: Update, context: TutorContext) -> None:
    if is_group(update):
        await say(update, context, texts.NOT_IN_GROUP, low=True)
        return
    chat = await chat_row(update, context)
    user = update.effective_user
    if chat is None or user is None:
        return
    await send_next_review(context, chat, user.id, first=True)


async def send_next_review(
    context: TutorContext, chat: Chat, user_id: int, *, first: bool = False, moved_from: str | None = None,
    passed_over: bool = False,
) -> bool:
    """Send the most overdue due card; say "all caught up" when none is left. True if one was sent.

    `moved_from` is the card the learner just answered or left: it is never shown again right
    away, and one left with ➡️ Next (`passed_over`) not again in this /review at all, so Next
    walks through the due cards and never repeats one. (Which cards were passed over is kept in
    memory, a few ids per chat: a restart forgets it, which costs at most one repeat.)"""
    store, bank = context.store, context.bank
    passed = passed_in_review(context, chat.chat_id, reset=first)
    if moved_from is not None and passed_over:
        passed.add(moved_from)
    cards = await store.read(Store.due_cards, user_id, context.now(), MAX_LISTED)
    skip = passed | ({moved_from} if moved_from else set())
    due = [q for q in (bank.get(c.question_id) for c in cards) if q is not None and q.id not in skip]
    if not due:
        passed_in_review(context, chat.chat_id, reset=True)
        done = texts.REVIEW_PASSED if passed and not first else texts.REVIEW_DONE
        await send(context, chat.chat_id, texts.REVIEW_NONE if first else done)
        return False
    await send_question(context, chat, due[0], source="review", user_id=user_id, header=texts.review_header(len(due)))
    return True


def passed_in_review(context: TutorContext, chat_id: int, *, reset: bool = False) -> set[str]:
    """The cards passed over with ➡️ Next in the chat's current /review (bounded: oldest chats go first)."""
    sessions: dict[int, set[str]] = context.bot_data.setdefault(REVIEW_SESSIONS, {})
    if reset:
        sessions.pop(chat_id, None)
        return set()
    if chat_id not in sessions and len(sessions) >= MAX_SESSIONS:
        del sessions[next(iter(sessions))]
    return sessions.setdefault(chat_id, set())
