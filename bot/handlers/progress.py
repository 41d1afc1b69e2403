"""/streak, /stats and the group leaderboard /top."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from telegram import Update

from content.calendar import local_date, zone
from storage import Store

from .. import texts
from ..context import TutorContext
from .common import is_group, say


def week_start(now: datetime, tz_name: str) -> datetime:
    """Monday 00:00 of the current week in the chat's time zone, as an aware datetime."""
    today = local_date(now, tz_name)
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone(tz_name))


async def streak(update: Update, context: TutorContext) -> None:
    user = update.effective_user
    if user is None:
        return
    learner = await context.store.read(Store.get_user, user.id)
    tz = (learner.tz if learner else None) or context.config.default_tz
    info = await context.store.read(Store.streak_info, user.id, context.now(), tz)
    await say(update, context, texts.streak_full(info.current, info.longest, info.freezes), low=True)


async def stats(update: Update, context: TutorContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    data = await context.store.read(Store.user_stats, user.id, chat.id if is_group(update) else None)
    await say(update, context, texts.stats_text(data, context.bank.topic_titles), low=True)


async def top(update: Update, context: TutorContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    row = await context.store.read(Store.get_chat, chat.id)
    tz = row.tz if row else context.config.default_tz
    week = await context.store.read(Store.leaderboard, chat.id, week_start(context.now(), tz), 10)
    all_time = await context.store.read(Store.leaderboard, chat.id, None, 10)
    await say(update, context, texts.leaderboard_text(week, all_time), low=True)
