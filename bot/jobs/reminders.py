"""The evening reminder: one message when a learner's streak is at risk and today is unanswered
(the rule: content/tutor.py `reminder_day`). `mark_reminded` is insert-once per learner and local
day, so a restart or an overlapping tick never sends a second one."""

from __future__ import annotations

import logging

from telegram.error import Forbidden, TelegramError

from content.tutor import reminder_day
from storage import Store

from .. import texts
from ..context import TutorContext
from ..limits import Priority
from ..sending import send

log = logging.getLogger(__name__)


async def tick(context: TutorContext) -> int:
    now, store = context.now(), context.store
    sent = 0
    for candidate in await store.read(Store.reminder_candidates, now, 1000):
        day = reminder_day(tz=candidate.tz, day_start_hour=candidate.day_start_hour, last_day=candidate.last_day,
                           current=candidate.current, now=now)
        if day is None or not await store.write(Store.mark_reminded, candidate.user_id, day, now):
            continue
        try:
            await send(context, candidate.user_id, texts.reminder(candidate.current), priority=Priority.BULK)
            sent += 1
        except Forbidden:
            await store.write(Store.set_chat_status, candidate.user_id, "blocked", now)
        except TelegramError as exc:
            log.warning("reminder not sent: %s", exc.__class__.__name__)
    if sent:
        log.info("sent %d evening reminder(s)", sent)
    return sent
