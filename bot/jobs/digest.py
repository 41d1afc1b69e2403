"""The weekly digest: on each learner's chosen weekday, from 18:00 in their zone, one message
with the week's practice, the streak, the best and weakest topic and one `/quiz <topic>` to do
next (rules: content/progress.py `digest_due`, `weekly_digest`).

Like the daily push and the reminder: storage prefilters (`digest_candidates`: digest on, an
active private chat, practice in the last 4 weeks), the rule decides, and `claim_digest` is a
once-per-learner-and-week compare-and-set taken *before* sending, so overlapping ticks, two
processes or a restart never send a week's digest twice. Digests are `BULK` sends: a learner
waiting for a verdict goes first. A blocked bot (Forbidden) marks the chat blocked, which takes
the learner out of every later run; a send that provably never reached Telegram gives its claim
back for a later tick; one whose fate is unknown keeps it (better none than two).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import date

from telegram.error import BadRequest, Forbidden, TelegramError

from content.calendar import local_date
from content.progress import digest_due, digest_window, topic_mastery, weekly_digest
from content.streaks import displayed_current
from storage import Store
from storage.models import DigestCandidate

from .. import texts
from ..context import TutorContext
from ..limits import Priority
from ..sending import FateUnknown, send

log = logging.getLogger(__name__)

PAGE = 500
IN_FLIGHT = 16
STATE = "weekly-digest"


def lock_of(context: TutorContext) -> asyncio.Lock:
    lock: asyncio.Lock | None = context.bot_data.get(STATE)
    if lock is None:
        lock = context.bot_data[STATE] = asyncio.Lock()
    return lock


async def tick(context: TutorContext) -> Counter[str]:
    """JobQueue callback. An overlapping tick returns at once: one run at a time."""
    lock = lock_of(context)
    if lock.locked():
        return Counter()
    async with lock:
        return await run_once(context)


async def run_once(context: TutorContext) -> Counter[str]:
    now, store = context.now(), context.store
    weekdays, before_week, active_since = digest_window(now)
    outcomes: Counter[str] = Counter()
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    after = 0
    while True:
        page = await store.read(Store.digest_candidates, weekdays=weekdays, before_week=before_week,
                                active_since=active_since, after_user_id=after, limit=PAGE)
        if not page:
            break
        after = page[-1].user_id
        due = [(c, week) for c in page if (week := digest_due(now, c.tz, c.weekday, c.last_week)) is not None]
        await asyncio.gather(*(guarded(context, in_flight, outcomes, c, week) for c, week in due))
    if outcomes:
        log.info("weekly digest: %s", ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    return outcomes


async def guarded(context: TutorContext, in_flight: asyncio.Semaphore, outcomes: Counter[str],
                  candidate: DigestCandidate, week: date) -> None:
    async with in_flight:
        if not context.application.running:
            return  # stopping: unclaimed digests are still due on the next start (same evening)
        try:
            outcomes[await send_digest(context, candidate, week)] += 1
        except Exception:  # noqa: BLE001 — one learner's failure must not stop the others
            outcomes["error"] += 1
            log.exception("weekly digest to a learner failed")


async def send_digest(context: TutorContext, candidate: DigestCandidate, week: date) -> str:
    store, now, user_id = context.store, context.now(), candidate.user_id
    if not await store.write(Store.claim_digest, user_id, week):
        return "already"
    progress = await store.read(Store.progress, user_id)
    bank = context.bank
    cards = [(q.topic, c.card) for c in progress.cards if (q := bank.get(c.question_id)) is not None]
    topics = topic_mastery(cards, {t.topic: t.accuracy for t in progress.recent_topics},
                           {t.topic: t.answered for t in progress.stats.per_topic}, now)
    digest = weekly_digest(
        days=progress.days, topics=topics, longest=progress.streak.longest,
        current=displayed_current(progress.streak, now, candidate.tz, candidate.day_start_hour),
        today=local_date(now, candidate.tz, candidate.day_start_hour),
    )
    try:
        await send(context, user_id, texts.weekly_digest(digest, bank.topic_titles), priority=Priority.BULK)
    except Forbidden:
        await store.write(Store.set_chat_status, user_id, "blocked", context.now())
        return "blocked"
    except FateUnknown:
        return "fate_unknown"  # Telegram may have shown it: the claim stays
    except BadRequest as exc:
        log.warning("weekly digest rejected: %s", exc.message)
        return "bad_request"
    except TelegramError:
        await store.write(Store.release_digest, user_id, week, candidate.last_week)
        return "retry_later"
    return "sent"
