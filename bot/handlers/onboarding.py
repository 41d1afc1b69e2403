"""Joining and leaving: /start, /help, /stop, /forget, the bot added to or removed from a group,
and a group upgraded to a supergroup."""

from __future__ import annotations

import logging

from telegram import ChatMember, Message, Update
from telegram.constants import ChatType

from storage import Store

from .. import keyboards, texts
from ..context import TutorContext
from ..sending import edit, send
from .common import is_group, message_of, require_admin, say

log = logging.getLogger(__name__)

PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}


async def start(update: Update, context: TutorContext) -> None:
    """/start — register, subscribe at the default time, explain; in a group, (re)subscribe (admins)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    store, now, config = context.store, context.now(), context.config
    if is_group(update):
        if not await require_admin(update, context, "subscribe the group"):
            return
        await store.write(Store.ensure_chat, chat.id, chat.type, chat.title or "", now, config.default_tz, config.default_time)
        await store.write(Store.reactivate_chat, chat.id, now)
        row = await store.write(Store.update_chat_settings, chat.id, now, subscribed=True)
        await say(update, context, texts.group_welcome(row.push_time, row.tz), low=True)
        return
    if user is None:
        return
    known = await store.read(Store.get_chat, chat.id)
    await store.write(Store.touch_user, user.id, user.first_name, user.username, user.language_code, now)
    await store.write(Store.ensure_chat, chat.id, ChatType.PRIVATE, "", now, config.default_tz, config.default_time)
    await store.write(Store.reactivate_chat, chat.id, now)
    row = await store.write(Store.update_chat_settings, chat.id, now, subscribed=True)
    if known is not None:
        await say(update, context, texts.welcome_back(row.push_time, row.tz))
    else:
        await say(update, context, texts.welcome(user.first_name, row.push_time, row.tz))


async def help_command(update: Update, context: TutorContext) -> None:
    await say(update, context, texts.HELP_GROUP if is_group(update) else texts.HELP_PRIVATE, low=True)


async def stop(update: Update, context: TutorContext) -> None:
    """/stop — no more daily pushes; everything else is kept."""
    chat = update.effective_chat
    if chat is None or (is_group(update) and not await require_admin(update, context, "pause the daily question")):
        return
    if await context.store.read(Store.get_chat, chat.id) is not None:
        await context.store.write(Store.update_chat_settings, chat.id, context.now(), subscribed=False)
    await say(update, context, texts.STOPPED, low=True)


async def forget(update: Update, context: TutorContext) -> None:
    """/forget — ask for confirmation; the button below erases the pressing user's data only."""
    if is_group(update):
        await say(update, context, texts.NOT_IN_GROUP, low=True)
        return
    await send(context, message_of(update).chat_id, texts.FORGET_CONFIRM, markup=keyboards.forget_confirm())


async def forget_button(update: Update, context: TutorContext) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    message = query.message
    # Only in the private chat of the pressing user: the data erased is always query.from_user's.
    if not isinstance(message, Message) or message.chat.id != query.from_user.id:
        return
    if query.data == keyboards.FORGET_YES:
        await context.store.write(Store.delete_user, query.from_user.id)
        log.info("user data erased on request")
        await edit(context, message.chat.id, message.message_id, texts.FORGOTTEN)
    else:
        await edit(context, message.chat.id, message.message_id, texts.FORGET_CANCELLED)


async def my_chat_member(update: Update, context: TutorContext) -> None:
    """The bot was added to, removed from, blocked or unblocked in a chat."""
    change = update.my_chat_member
    if change is None:
        return
    chat, now, store, config = change.chat, context.now(), context.store, context.config
    was, is_now = change.old_chat_member.status, change.new_chat_member.status
    if chat.type == ChatType.PRIVATE:
        if is_now == ChatMember.BANNED and await store.read(Store.get_chat, chat.id) is not None:
            await store.write(Store.set_chat_status, chat.id, "blocked", now)
        return
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return  # channels are not study groups
    if is_now in PRESENT and was not in PRESENT:
        await store.write(Store.ensure_chat, chat.id, chat.type, chat.title or "", now, config.default_tz, config.default_time)
        await store.write(Store.reactivate_chat, chat.id, now)
        row = await store.write(Store.update_chat_settings, chat.id, now, subscribed=True)
        await send(context, chat.id, texts.group_welcome(row.push_time, row.tz))
    elif is_now not in PRESENT and await store.read(Store.get_chat, chat.id) is not None:
        await store.write(Store.set_chat_status, chat.id, "left", now)


async def chat_migrated(update: Update, context: TutorContext) -> None:
    """A group became a supergroup: its history moves to the new id."""
    message = message_of(update)
    new_id = message.migrate_to_chat_id
    if new_id and await context.store.read(Store.get_chat, message.chat_id) is not None:
        await context.store.write(Store.migrate_chat, message.chat_id, new_id, context.now())
