"""The evening reminder: one message when a learner's streak is at risk and today is unanswered.

"At risk" means the last day that counted was yesterday (in the learner's zone and day-start
hour), so an answer today keeps the streak alive; it is evening there (from 19:00 local);
the learner has not turned reminders off. `mark_reminded` is insert-once per learner and
local day, so a restart or an overlapping tick can never send a second one.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from storage.schedule import local_date, zone

from . import texts
from .sending import send_html
from .services import services

log = logging.getLogger(__name__)

EVENING_HOUR = 19


def reminder_day(candidate: dict, now: datetime) -> date | None:
    """The local day to remind the learner about, or None when no reminder is due now."""
    tz = candidate.get("tz") or "UTC"
    day_start = int(candidate.get("day_start_hour") or 0)
    today = local_date(now, tz, day_start)
    last_day = candidate.get("last_day")
    if last_day is None or int(candidate.get("current") or 0) <= 0:
        return None
    if str(last_day) != str(today - timedelta(days=1)):
        return None  # answered today already, or the streak is already broken
    if now.astimezone(zone(tz)).hour < EVENING_HOUR:
        return None
    return today


async def send_reminders(context: ContextTypes.DEFAULT_TYPE) -> int:
    svc = services(context)
    now = svc.now()
    sent = 0
    for candidate in await svc.store.reminder_candidates(now, 1000):
        day = reminder_day(candidate, now)
        if day is None or not await svc.store.mark_reminded(candidate["user_id"], day, now):
            continue
        try:
            await send_html(context.bot, candidate["user_id"], texts.reminder(int(candidate["current"])))
            sent += 1
        except Forbidden:
            await svc.store.set_chat_status(candidate["user_id"], "blocked", now)
        except TelegramError as exc:
            log.warning("reminder not sent: %s", exc.__class__.__name__)
    if sent:
        log.info("sent %d evening reminder(s)", sent)
    return sent
