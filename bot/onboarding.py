"""Joining and leaving: /start, /help, /stop, /forget, and the bot being added to or removed from a group."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from . import texts
from .access import is_group, require_admin
from .sending import edit_html, reply_html, send_html
from .services import services

log = logging.getLogger(__name__)

FORGET_YES, FORGET_NO = "f:yes", "f:no"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start — register, subscribe at the default time, explain; in a group, (re)subscribe (admins)."""
    svc = services(context)
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    now = svc.now()
    if is_group(update):
        if not await require_admin(update, context):
            return
        row = await svc.store.ensure_chat(chat.id, chat.type, chat.title or "", now, svc.config.default_tz, svc.config.default_time)
        row = await svc.store.update_chat_settings(chat.id, now, subscribed=True)
        await svc.store.reactivate_chat(chat.id, now)
        await reply_html(message, texts.group_welcome(row["push_time"], row["tz"]))
        return
    if user is None:
        return
    known = await svc.store.get_chat(chat.id)
    await svc.store.touch_user(user.id, user.first_name, user.username, user.language_code, now)
    row = await svc.store.ensure_chat(chat.id, ChatType.PRIVATE, "", now, svc.config.default_tz, svc.config.default_time)
    await svc.store.reactivate_chat(chat.id, now)
    if known is not None:
        row = await svc.store.update_chat_settings(chat.id, now, subscribed=True)
        await reply_html(message, texts.welcome_back(row["push_time"], row["tz"]))
    else:
        await reply_html(message, texts.welcome(user.first_name, row["push_time"], row["tz"]))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply_html(update.effective_message, texts.HELP_GROUP if is_group(update) else texts.HELP_PRIVATE)


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stop — no more daily pushes; everything else is kept."""
    svc = services(context)
    if is_group(update) and not await require_admin(update, context):
        return
    chat = update.effective_chat
    if await svc.store.get_chat(chat.id) is not None:
        await svc.store.update_chat_settings(chat.id, svc.now(), subscribed=False)
    await reply_html(update.effective_message, texts.STOPPED)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget — ask for confirmation; the button below erases the pressing user's data only."""
    if is_group(update):
        await reply_html(update.effective_message, texts.NOT_IN_GROUP)
        return
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("🗑 Yes, erase everything", callback_data=FORGET_YES),
          InlineKeyboardButton("Cancel", callback_data=FORGET_NO)]]
    )
    await reply_html(update.effective_message, texts.FORGET_CONFIRM, reply_markup=keyboard)


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    await query.answer()
    message = query.message
    # Only in the private chat of the pressing user: the data erased is always query.from_user's.
    if message is None or message.chat.id != query.from_user.id:
        return
    if query.data == FORGET_YES:
        await svc.store.delete_user(query.from_user.id)
        log.info("user data erased on request")
        await edit_html(context.bot, message.chat.id, message.message_id, texts.FORGOTTEN)
    else:
        await edit_html(context.bot, message.chat.id, message.message_id, texts.FORGET_CANCELLED)


async def my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was added to, removed from, blocked or unblocked in a chat."""
    svc = services(context)
    change: ChatMemberUpdated = update.my_chat_member
    chat, now = change.chat, svc.now()
    was = change.old_chat_member.status
    is_now = change.new_chat_member.status
    present = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}
    if chat.type == ChatType.PRIVATE:
        if is_now == ChatMember.BANNED and await svc.store.get_chat(chat.id) is not None:
            await svc.store.set_chat_status(chat.id, "blocked", now)
        return
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return  # channels are not study groups
    if is_now in present and was not in present:
        row = await svc.store.ensure_chat(chat.id, chat.type, chat.title or "", now, svc.config.default_tz, svc.config.default_time)
        await svc.store.reactivate_chat(chat.id, now)
        await svc.store.update_chat_settings(chat.id, now, subscribed=True)
        await send_html(context.bot, chat.id, texts.group_welcome(row["push_time"], row["tz"]))
    elif is_now not in present and await svc.store.get_chat(chat.id) is not None:
        await svc.store.set_chat_status(chat.id, "left", now)
