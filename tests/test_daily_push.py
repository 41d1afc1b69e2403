"""The daily push: once per chat per local day, in the chat's time zone, across restarts and failures."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import stop_app
from tests.fake_telegram import Fault

USER, OTHER = 5151, 5252
GROUP, SUPERGROUP = -6001, -1006001


def dailies(tg, chat_id):
    return [m for m in tg.messages_to(chat_id) if "Question of the day" in m.text]


async def subscribe(tg, user_id=USER):
    n = len(tg.messages_to(user_id))
    tg.message(user_id, "/start")
    await tg.next_to(user_id, n)


async def test_push_arrives_at_push_time_once_per_day(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    await subscribe(tg)
    clock.advance(minutes=59)  # 08:59 — not yet
    tg.message(USER, "/streak")
    await tg.next_to(USER, 1)
    assert dailies(tg, USER) == []
    clock.advance(minutes=1)  # 09:00
    await tg.wait_for(lambda: dailies(tg, USER), what="the daily question")
    clock.advance(hours=3)
    tg.message(USER, "/streak")  # a round trip = several ticks later
    await tg.next_to(USER, 3)
    assert len(dailies(tg, USER)) == 1
    clock.advance(hours=21)  # next day 09:00
    await tg.wait_for(lambda: len(dailies(tg, USER)) == 2, what="the second day's question")
    first, second = dailies(tg, USER)
    assert first.text != second.text  # not the same question two days running


async def test_push_follows_the_chats_time_zone(tg, run_bot, clock):
    """Push time 23:30: a learner who moved to Tokyo gets it at 23:30 Tokyo time, not UTC's."""
    from bot.jobs.daily_push import DailyPush, run_once

    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))  # 08:00 on Mar 3 in Tokyo: not due anywhere
    app = await run_bot(default_time="23:30")  # the push runs by hand below
    context = app.context_types.context.from_job(next(iter(app.job_queue.jobs())), app)
    await subscribe(tg)
    tg.message(USER, "/timezone Asia/Tokyo")
    await tg.next_to(USER, 1)
    clock.advance(minutes=45)  # 23:45 UTC: due, had the chat stayed on UTC
    await run_once(context, DailyPush())
    assert dailies(tg, USER) == []
    clock.set(datetime(2026, 3, 3, 14, 30, tzinfo=UTC))  # 23:30 in Tokyo
    await run_once(context, DailyPush())
    assert len(dailies(tg, USER)) == 1


async def test_restart_does_not_push_twice(tg, run_bot, clock):
    app = await run_bot(tick_seconds=0.1)
    await subscribe(tg)
    clock.advance(hours=1)
    await tg.wait_for(lambda: dailies(tg, USER), what="the daily question")
    await stop_app(app)
    await run_bot(tick_seconds=0.1)  # same database
    tg.message(USER, "/streak")
    n = len(tg.messages_to(USER))
    await tg.next_to(USER, n - 1 if n else 0)
    clock.advance(minutes=30)
    tg.message(USER, "/streak")
    await tg.wait_for(lambda: len(tg.messages_to(USER)) >= n + 1, what="the streak reply")
    assert len(dailies(tg, USER)) == 1


async def test_bot_down_at_push_time_pushes_when_back_same_day_only(tg, run_bot, clock):
    app = await run_bot()
    await subscribe(tg)
    await stop_app(app)
    clock.advance(days=2, hours=6)  # two mornings missed; now 14:00 on the third day
    await run_bot(tick_seconds=0.1)
    await tg.wait_for(lambda: dailies(tg, USER), what="today's question after the outage")
    tg.message(USER, "/streak")
    await tg.wait_for(lambda: "streak" in (tg.last_to(USER).text or "").lower(), what="streak reply")
    assert len(dailies(tg, USER)) == 1  # today's only, not the missed days'


async def test_blocked_user_is_skipped_until_they_write_again(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    await subscribe(tg)
    await subscribe(tg, OTHER)
    tg.faults.append(Fault("sendMessage", "403", count=1, chat_id=USER))
    clock.advance(hours=1)
    await tg.wait_for(lambda: dailies(tg, OTHER), what="the other user's question")
    await tg.wait_for(lambda: not tg.faults[0].count, what="the 403")
    clock.advance(days=1)
    await tg.wait_for(lambda: len(dailies(tg, OTHER)) == 2, what="day two for the other user")
    assert dailies(tg, USER) == []
    tg.message(USER, "/start")  # they unblocked us and wrote again
    await tg.wait_for(lambda: dailies(tg, USER), what="the returning user's question")


async def test_migrated_group_gets_the_push_at_its_new_id(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    tg.admins[GROUP] = {1}
    tg.bot_added(GROUP, 1)
    await tg.next_to(GROUP)
    tg.faults.append(Fault("sendMessage", "migrate", count=1, chat_id=GROUP, new_chat_id=SUPERGROUP))
    clock.advance(hours=1)
    await tg.wait_for(lambda: dailies(tg, SUPERGROUP), what="the push at the supergroup id")
    clock.advance(days=1)
    await tg.wait_for(lambda: len(dailies(tg, SUPERGROUP)) == 2, what="next day at the new id")
    assert dailies(tg, GROUP) == []


async def test_network_errors_are_retried(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    await subscribe(tg)
    tg.faults.append(Fault("sendMessage", "500", count=2, chat_id=USER))
    clock.advance(hours=1)
    await tg.wait_for(lambda: dailies(tg, USER), timeout=60, what="the question after two 500s")
    assert len(dailies(tg, USER)) == 1
