"""Tools for the bot's owner (Telegram ids in TUTOR_OWNER_IDS): /admin and /announce.

Anyone else gets the usual "I don't know that command": the tools are not advertised.
"""

from __future__ import annotations

import time
from typing import cast

from telegram import Message, Update

from storage import Store

from .. import keyboards, texts
from ..context import TutorApp, TutorContext, run_in_background
from ..jobs.announce import run_announcement
from ..sending import edit, send
from .common import argument, is_group, message_of, say

STARTED = time.monotonic()


def is_owner(update: Update, context: TutorContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.config.owner_ids and not is_group(update)


async def admin(update: Update, context: TutorContext) -> None:
    """/admin — how the bot is doing."""
    if not is_owner(update, context):
        await say(update, context, texts.UNKNOWN_COMMAND)
        return
    overview = await context.store.read(Store.admin_overview, context.now())
    await say(update, context, texts.admin_overview(overview, uptime=time.monotonic() - STARTED))


async def announce(update: Update, context: TutorContext) -> None:
    """/announce <text> — a preview with Send / Cancel; nothing goes out before Send."""
    if not is_owner(update, context):
        await say(update, context, texts.UNKNOWN_COMMAND)
        return
    text = argument(update)
    if not text:
        await say(update, context, texts.ANNOUNCE_USAGE)
        return
    user = update.effective_user
    assert user is not None
    draft = await context.store.write(Store.create_announcement, text[:3500], user.id, context.now())
    await send(context, message_of(update).chat_id, texts.announcement(draft.text, preview=True), markup=keyboards.announce_confirm(draft.id))


async def announce_button(update: Update, context: TutorContext) -> None:
    """Send or Cancel under the preview: Send fixes the recipients, then the message goes out."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    if not isinstance(message, Message) or query.from_user.id not in context.config.owner_ids:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    action, _, raw = (query.data or "").removeprefix(keyboards.ANNOUNCE).partition(":")
    announcement_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    await query.answer()
    if action != "send":
        await edit(context, message.chat_id, message.message_id, texts.ANNOUNCE_CANCELLED)
        return
    progress = await context.store.write(Store.confirm_announcement, announcement_id, message.chat_id, message.message_id,
                                         context.now())
    if progress is None:
        return  # a double press: it is going out already
    await edit(context, message.chat_id, message.message_id, texts.announce_progress(progress))
    app = cast(TutorApp, context.application)
    run_in_background(app, run_announcement(app, announcement_id), f"announce-{announcement_id}")
