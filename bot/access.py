"""Who may do what: registration, group-admin checks (cached briefly), the learner's time zone."""

from __future__ import annotations

from datetime import timedelta

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from . import texts
from .sending import reply_html
from .services import services

ADMIN_CACHE_TTL = timedelta(seconds=60)
ADMIN_STATUSES = {ChatMember.ADMINISTRATOR, ChatMember.OWNER}


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Group admins only; an anonymous admin posts as the group itself (`sender_chat`)."""
    svc = services(context)
    chat, message = update.effective_chat, update.effective_message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    key, now = (chat.id, user.id), svc.now()
    cached = svc.admin_cache.get(key)
    if cached and cached[1] > now:
        return cached[0]
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
        admin = member.status in ADMIN_STATUSES
    except TelegramError:
        admin = False
    if len(svc.admin_cache) > 10_000:
        svc.admin_cache.clear()
    svc.admin_cache[key] = (admin, now + ADMIN_CACHE_TTL)
    return admin


async def require_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    if await is_admin(update, context):
        return True
    await reply_html(update.effective_message, texts.ADMINS_ONLY)
    return False


async def ensure_registered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> dict | None:
    """The chat's row, creating it for groups; a private user who never pressed /start is told to."""
    svc = services(context)
    chat = update.effective_chat
    row = await svc.store.get_chat(chat.id)
    if row is None and is_group(update):
        row = await svc.store.ensure_chat(
            chat.id, chat.type, chat.title or "", svc.now(), svc.config.default_tz, svc.config.default_time
        )
    if row is None:
        await reply_html(update.effective_message, texts.NOT_REGISTERED)
    return row
