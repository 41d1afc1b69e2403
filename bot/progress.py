"""/streak, /stats and the group leaderboard /top."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from telegram import Update
from telegram.ext import ContextTypes

from storage.schedule import local_date, zone

from . import texts
from .access import is_group
from .learning import learner_zone
from .sending import reply_html
from .services import services


async def streak(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user = update.effective_user
    if user is None:
        return
    tz, _day_start = await learner_zone(context, user.id)
    info = await svc.store.streak_info(user.id, svc.now(), tz)
    await reply_html(update.effective_message, texts.streak_full(info["current"], info["longest"], info["freezes"]))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user = update.effective_user
    if user is None:
        return
    chat_id = update.effective_chat.id if is_group(update) else None
    data = await svc.store.user_stats(user.id, chat_id)
    await reply_html(update.effective_message, texts.stats_text(data, svc.bank.topic_titles))


def week_start(now: datetime, tz_name: str) -> datetime:
    """Monday 00:00 of the current week in the chat's time zone, as an aware datetime."""
    today = local_date(now, tz_name)
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone(tz_name))


async def top(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    chat = update.effective_chat
    row = await svc.store.get_chat(chat.id)
    tz = (row or {}).get("tz") or svc.config.default_tz
    week = await svc.store.leaderboard(chat.id, week_start(svc.now(), tz), 10)
    all_time = await svc.store.leaderboard(chat.id, None, 10)
    await reply_html(update.effective_message, texts.leaderboard_text(week, all_time))
