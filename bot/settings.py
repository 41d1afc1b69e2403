"""/settime, /timezone, /level: the learner's own settings in private, the admins' in a group."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from storage.schedule import format_push_time, parse_tz

from . import texts
from .access import ensure_registered, is_group, require_admin
from .sending import reply_html
from .services import services

LEVELS = ("intermediate", "advanced", "all")


def argument(update: Update) -> str:
    parts = (update.effective_message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _chat_for_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> dict | None:
    if is_group(update) and not await require_admin(update, context):
        return None
    return await ensure_registered(update, context)


async def settime(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    try:
        push_time = format_push_time(argument(update))
    except ValueError:
        await reply_html(message, texts.SETTIME_USAGE)
        return
    if await _chat_for_settings(update, context) is None:
        return
    row = await svc.store.update_chat_settings(message.chat_id, svc.now(), push_time=push_time)
    await reply_html(message, texts.settime_done(row["push_time"], row["tz"]))


async def timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    try:
        tz = parse_tz(argument(update))
    except ValueError:
        await reply_html(message, texts.TIMEZONE_USAGE)
        return
    if await _chat_for_settings(update, context) is None:
        return
    row = await svc.store.update_chat_settings(message.chat_id, svc.now(), tz=tz)
    if not is_group(update):
        await svc.store.set_user_tz(update.effective_user.id, tz)  # streak days follow the learner's zone
    await reply_html(message, texts.timezone_done(row["tz"], row["push_time"]))


async def level(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    choice = argument(update).lower()
    if choice not in LEVELS:
        await reply_html(message, texts.LEVEL_USAGE)
        return
    if await _chat_for_settings(update, context) is None:
        return
    await svc.store.update_chat_settings(message.chat_id, svc.now(), level=choice)
    if not is_group(update):
        await svc.store.set_user_level(update.effective_user.id, choice)
    await reply_html(message, texts.level_done(choice))


async def daystart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/daystart 4 — the learner's day starts at 04:00: a 1 a.m. answer counts for yesterday."""
    svc = services(context)
    message = update.effective_message
    raw = argument(update)
    if is_group(update):
        await reply_html(message, texts.NOT_IN_GROUP)
        return
    if not raw.isdigit() or not 0 <= int(raw) <= 23:
        await reply_html(message, texts.DAYSTART_USAGE)
        return
    if await ensure_registered(update, context) is None:
        return
    await svc.store.set_user_day_start_hour(update.effective_user.id, int(raw))
    await reply_html(message, texts.daystart_done(int(raw)))


async def reminders(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reminders on|off — the evening streak reminder."""
    svc = services(context)
    message = update.effective_message
    choice = argument(update).lower()
    if is_group(update):
        await reply_html(message, texts.NOT_IN_GROUP)
        return
    if choice not in ("on", "off"):
        await reply_html(message, texts.REMINDERS_USAGE)
        return
    if await ensure_registered(update, context) is None:
        return
    await svc.store.set_user_reminders(update.effective_user.id, choice == "on")
    await reply_html(message, texts.reminders_done(choice == "on"))
