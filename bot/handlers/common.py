"""What many handlers share: who may do what, the flood gate, and the catch-all replies."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from telegram import ChatMember, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from storage import Store
from storage.models import Chat

from .. import texts
from ..context import TutorContext
from ..limits import BudgetExhausted, Priority
from ..sending import reply

ADMIN_CACHE_TTL = timedelta(seconds=60)
ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def message_of(update: Update) -> Message:
    """The update's message; handlers registered for messages always have one."""
    message = update.effective_message
    if message is None:
        raise ValueError("a message handler got an update without a message")
    return message


def argument(update: Update) -> str:
    """The text after the command (`/settime 08:30` → "08:30")."""
    parts = (message_of(update).text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def say(update: Update, context: TutorContext, text: str, *, low: bool = False, markup: Any = None) -> None:
    """Reply to the update's message. `low` marks group chatter (help, look-ups, confirmations,
    refusals) that is dropped rather than delay a question or verdict when the group's budget
    runs short."""
    priority = Priority.LOW if low and is_group(update) else Priority.REPLY
    try:
        await reply(context, message_of(update), text, priority=priority, markup=markup)
    except BudgetExhausted:
        pass


async def own_private_message(update: Update) -> Message | None:
    """The message a button is under, if it is in the presser's own private chat; else the press
    is answered as stale and None returned (those buttons exist nowhere else: a press claimed in
    another chat was forged)."""
    query = update.callback_query
    if query is None:
        return None
    message = query.message
    if not isinstance(message, Message) or message.chat.id != query.from_user.id:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return None
    return message


async def is_admin(update: Update, context: TutorContext) -> bool:
    """Group admins only; an anonymous admin posts as the group itself (`sender_chat`)."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None:
        return False
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    cache, key, now = context.services.admin_cache, (chat.id, user.id), context.now()
    cached = cache.get(key)
    if cached and cached[1] > now:
        return cached[0]
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
        admin = member.status in ADMIN_STATUSES
    except TelegramError:
        admin = False
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (admin, now + ADMIN_CACHE_TTL)
    return admin


async def require_admin(update: Update, context: TutorContext, what: str) -> bool:
    """True for a group admin; everyone else is told what was refused (`what`: "change the time")."""
    if await is_admin(update, context):
        return True
    await say(update, context, texts.admins_only(what), low=True)
    return False


async def private_user(update: Update, context: TutorContext) -> int | None:
    """The user id of a command that works in private chat only; in a group they are told so."""
    user = update.effective_user
    if user is None:
        return None
    if is_group(update):
        await say(update, context, texts.NOT_IN_GROUP, low=True)
        return None
    return user.id


async def learner_in_chat(update: Update, context: TutorContext, admin_for: str | None = None) -> Chat | None:
    """The chat row for a command that starts something (a question, an interview), with the
    sender recorded as a learner; in a group only admins may (`admin_for` says what)."""
    if admin_for is not None and is_group(update) and not await require_admin(update, context, admin_for):
        return None
    chat = await chat_row(update, context)
    user = update.effective_user
    if chat is None or user is None:
        return None
    await context.store.write(Store.touch_user, user.id, user.first_name, user.username, user.language_code, context.now())
    return chat


async def chat_row(update: Update, context: TutorContext) -> Chat | None:
    """The chat's row, created for a group; a private user who never pressed /start is told to."""
    chat = update.effective_chat
    if chat is None:
        return None
    row = await context.store.read(Store.get_chat, chat.id)
    user = update.effective_user
    # A group registers on first use; so does the private chat of someone the bot already knows
    # (a member who only ever answered in a group has a streak: no "send /start first" for them).
    known = is_group(update) or (user is not None and await context.store.read(Store.get_user, user.id) is not None)
    if row is None and known:
        config = context.config
        row = await context.store.write(Store.ensure_chat, chat.id, chat.type, chat.title or "", context.now(),
                                        config.default_tz, config.default_time)
    if row is None:
        await say(update, context, texts.NOT_REGISTERED)
    return row


# ---------------------------------------------------------------- the flood gate
# A user sending more than LIMIT updates in WINDOW is ignored for MUTE. Kept in memory on purpose:
# it protects this process's event loop and Telegram quota, and a restart that forgets a mute is
# harmless.

WINDOW = timedelta(seconds=10)
LIMIT = 20
MUTE = timedelta(seconds=60)
PRUNE_EVERY = 1000  # hits between sweeps of idle users: memory follows the users active right now


class FloodGuard:
    def __init__(self, limit: int = LIMIT, window: timedelta = WINDOW, mute: timedelta = MUTE):
        self.limit, self.window, self.mute = limit, window, mute
        self.recent: dict[int, deque[datetime]] = {}
        self.muted_until: dict[int, datetime] = {}
        self.hits = 0

    def hit(self, user_id: int, now: datetime) -> str:
        """Count one update: "ok", "notify" (just muted: tell them once) or "ignore"."""
        self.hits += 1
        if self.hits % PRUNE_EVERY == 0:
            self.prune(now)
        until = self.muted_until.get(user_id)
        if until is not None:
            if now < until:
                return "ignore"
            del self.muted_until[user_id]
        times = self.recent.setdefault(user_id, deque())
        times.append(now)
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) > self.limit:
            self.muted_until[user_id] = now + self.mute
            times.clear()
            return "notify"
        return "ok"

    def prune(self, now: datetime) -> None:
        """Forget users idle for longer than the window, and mutes that have run out."""
        for uid in [u for u, t in self.recent.items() if not t or now - t[-1] > self.window]:
            del self.recent[uid]
        for uid in [u for u, until in self.muted_until.items() if until <= now]:
            del self.muted_until[uid]


FLOOD = "flood-guard"


async def flood_gate(update: Update, context: TutorContext) -> None:
    """Runs before every handler: a user sending more than 20 updates in 10 s is ignored for a minute."""
    user = update.effective_user
    if user is None:
        return
    guard: FloodGuard = context.bot_data.setdefault(FLOOD, FloodGuard())
    verdict = guard.hit(user.id, context.now())
    if verdict == "ok":
        return
    if verdict == "notify" and update.callback_query is not None:
        await update.callback_query.answer(texts.clip(texts.FLOODED, 190), show_alert=True)
    elif verdict == "notify" and update.effective_message is not None:
        await say(update, context, texts.FLOODED, low=True)
    raise ApplicationHandlerStop


async def unknown_command(update: Update, context: TutorContext) -> None:
    await say(update, context, texts.UNKNOWN_COMMAND)


async def not_text(update: Update, context: TutorContext) -> None:
    await say(update, context, texts.NOT_TEXT)


async def stale_button(update: Update, context: TutorContext) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(texts.STALE_BUTTON, show_alert=True)
