"""/streak, /stats (a picture in private chats), the group leaderboard /top, and /digest.

The pictures are drawn by bot/charts.py on its own thread (`render_in_worker`), never on the
event loop; if drawing fails, the learner still gets the numbers as text.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from telegram import Update

from content import Bank
from content.calendar import local_date, zone
from content.progress import StatsView, parse_weekday, stats_view
from content.streaks import displayed_current
from storage import Store
from storage.models import Progress

from .. import charts, texts
from ..context import TutorContext
from ..limits import BudgetExhausted, Priority
from ..sending import send_photo
from .common import argument, is_group, message_of, private_user, say

log = logging.getLogger(__name__)


def week_start(now: datetime, tz_name: str) -> datetime:
    """Monday 00:00 of the current week in the chat's time zone, as an aware datetime."""
    today = local_date(now, tz_name)
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone(tz_name))


async def learner_zone(context: TutorContext, user_id: int) -> tuple[str, int]:
    """The learner's zone (theirs, else their private chat's, else the default) and day start."""
    learner = await context.store.read(Store.get_user, user_id)
    tz = learner.tz if learner else None
    if tz is None:
        chat = await context.store.read(Store.get_chat, user_id)
        tz = chat.tz if chat else context.config.default_tz
    return tz, learner.day_start_hour if learner else 0


async def streak(update: Update, context: TutorContext) -> None:
    user = update.effective_user
    if user is None:
        return
    learner = await context.store.read(Store.get_user, user.id)
    tz = (learner.tz if learner else None) or context.config.default_tz
    info = await context.store.read(Store.streak_info, user.id, context.now(), tz)
    await say(update, context, texts.streak_full(info.current, info.longest, info.freezes), low=True)


def progress_view(progress: Progress, bank: Bank, now: datetime, tz: str, day_start_hour: int) -> StatsView:
    """The rules' view of a learner's progress (content/progress.py), from what storage read."""
    cards = [(q.topic, c.card) for c in progress.cards if (q := bank.get(c.question_id)) is not None]
    return stats_view(
        days=progress.days, cards=cards,
        recent={t.topic: t.accuracy for t in progress.recent_topics},
        answered={t.topic: t.answered for t in progress.stats.per_topic},
        current=displayed_current(progress.streak, now, tz, day_start_hour), longest=progress.streak.longest,
        now=now, tz=tz, day_start_hour=day_start_hour,
    )


def stats_picture(view: StatsView, topic_titles: dict[str, str]) -> charts.StatsPicture:
    return charts.StatsPicture(
        today=view.today, answers_by_day=view.answers_by_day, streak_days=view.calendar.streak_days,
        freeze_days=view.calendar.freeze_days, topics=view.topics, mastery_kind=view.mastery_kind,
        forecast=view.forecast, topic_titles=topic_titles,
    )


async def stats(update: Update, context: TutorContext) -> None:
    """Private: one picture (calendar, topics, forecast) with the headline numbers as its caption.
    In a group: the member's own numbers there, as text."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if is_group(update):
        data = await context.store.read(Store.user_stats, user.id, chat.id)
        await say(update, context, texts.stats_text(data, context.bank.topic_titles), low=True)
        return
    progress = await context.store.read(Store.progress, user.id)
    if not progress.stats.answered:
        await say(update, context, texts.STATS_NO_ANSWERS)
        return
    tz, day_start = await learner_zone(context, user.id)
    view = progress_view(progress, context.bank, context.now(), tz, day_start)
    try:
        png = await charts.render_in_worker(charts.render_stats, stats_picture(view, context.bank.topic_titles))
    except Exception:  # noqa: BLE001 — a drawing bug must not cost the learner their numbers
        log.exception("the /stats picture failed; sending text")
        await say(update, context, texts.stats_text(progress.stats, context.bank.topic_titles))
        return
    await send_photo(context, chat.id, png, texts.stats_caption(view), reply_to=message_of(update).message_id)


async def top(update: Update, context: TutorContext) -> None:
    """The leaderboard, this week and all time: a picture in groups, text in a private chat (or if
    drawing fails)."""
    chat = update.effective_chat
    if chat is None:
        return
    row = await context.store.read(Store.get_chat, chat.id)
    tz = row.tz if row else context.config.default_tz
    week = await context.store.read(Store.leaderboard, chat.id, week_start(context.now(), tz), 10)
    all_time = await context.store.read(Store.leaderboard, chat.id, None, 10)
    if not is_group(update):
        await say(update, context, texts.leaderboard_text(week, all_time), low=True)
        return
    picture = charts.LeaderboardPicture(chat.title or (row.title if row else None) or "Leaderboard",
                                        week, all_time)
    try:
        png = await charts.render_in_worker(charts.render_leaderboard, picture)
    except Exception:  # noqa: BLE001 — the text says the same
        log.exception("the /top picture failed; sending text")
        await say(update, context, texts.leaderboard_text(week, all_time), low=True)
        return
    try:
        await send_photo(context, chat.id, png, texts.leaderboard_caption(), reply_to=message_of(update).message_id,
                         priority=Priority.LOW)
    except BudgetExhausted:
        pass  # a busy group: the leaderboard is chatter next to questions and verdicts


async def digest(update: Update, context: TutorContext) -> None:
    """/digest shows the weekly digest's state; /digest on | off; /digest <weekday> moves it (and
    turns it on)."""
    user_id = await private_user(update, context)
    if user_id is None:
        return
    settings = await context.store.read(Store.digest_settings, user_id)
    if settings is None:
        await say(update, context, texts.NOT_REGISTERED)
        return
    arg = argument(update).lower()
    if not arg:
        await say(update, context, texts.digest_current(settings.on, settings.weekday))
        return
    weekday = parse_weekday(arg)
    if arg in ("on", "off"):
        settings = await context.store.write(Store.set_digest, user_id, on=arg == "on")
    elif weekday is not None:
        settings = await context.store.write(Store.set_digest, user_id, on=True, weekday=weekday)
    else:
        await say(update, context, texts.DIGEST_USAGE)
        return
    await say(update, context, texts.digest_done(settings.on, settings.weekday))
