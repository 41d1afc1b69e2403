"""Issue 19, the rest end to end: /quiz on a topic and on the weakest one, streak moments said
once, no second daily question after a zone change, a group-only member in private, /settings."""

from __future__ import annotations

from datetime import timedelta

from tests.learners import right_answer_for
from tests.test_conversation import USER, registered, say

GROUP, ADMIN = -7001, 71


async def test_quiz_on_a_topic_and_on_the_weakest_topic(tg, run_bot):
    await run_bot()
    await registered(tg)
    rnn = await say(tg, USER, "/quiz rnn")
    assert "recurrent" in rnn.text.lower()
    dropout = await say(tg, USER, "/quiz dropout")
    assert "dropout" in dropout.text.lower()
    await say(tg, USER, "it is a kind of layer I think, not sure at all really")  # a wrong answer to dropout
    weak = await say(tg, USER, "/quiz weak")
    assert "dropout" in weak.text.lower()  # dropout is the learner's weakest topic now
    assert "no topic like" in (await say(tg, USER, "/quiz quantum chromodynamics xyz")).text


async def test_a_seven_day_streak_earns_a_freeze_said_once_in_the_verdict(tg, run_bot, clock):
    await run_bot()
    await registered(tg)
    verdicts = []
    for _ in range(8):
        question = await say(tg, USER, "/quiz")
        verdicts.append(await say(tg, USER, right_answer_for(question.text)))
        clock.advance(days=1)
    assert "7-day streak" in verdicts[6].text
    assert [("earned a streak freeze" in v.text) for v in verdicts] == [False] * 6 + [True, False]
    assert [("milestone" in v.text) for v in verdicts] == [False] * 6 + [True, False]
    clock.advance(days=1)  # a day missed: the freeze covers it, said once
    question = await say(tg, USER, "/quiz")
    saved = await say(tg, USER, right_answer_for(question.text))
    assert "streak freeze covered" in saved.text and "9-day streak" in saved.text


async def test_moving_the_zone_east_brings_no_second_daily_question_within_12_hours(tg, run_bot, clock):
    """The question of the day at 09:00 in Berlin (08:00 UTC), then /timezone Pacific/Kiritimati
    (UTC+14, already 22:05 there): tomorrow's 09:00 there is 19:00 UTC, eleven hours after the
    first; the second question waits until twelve hours have passed."""
    from bot.jobs.daily_push import DailyPush, run_once

    app = await run_bot()
    await registered(tg)
    await say(tg, USER, "/timezone Europe/Berlin")
    context = app.context_types.context.from_job(next(iter(app.job_queue.jobs())), app)

    def daily() -> int:
        return sum("Question of the day" in m.text for m in tg.messages_to(USER))

    start = clock.now.replace(hour=8, minute=0)
    clock.set(start)
    await run_once(context, DailyPush())
    assert daily() == 1
    clock.set(start + timedelta(minutes=5))
    await say(tg, USER, "/timezone Pacific/Kiritimati")
    for later in (timedelta(minutes=6), timedelta(hours=11, minutes=1), timedelta(hours=11, minutes=59)):
        clock.set(start + later)
        await run_once(context, DailyPush())
        assert daily() == 1, later
    clock.set(start + timedelta(hours=12, minutes=1))
    await run_once(context, DailyPush())
    assert daily() == 2


async def test_a_member_who_only_answered_in_a_group_is_not_told_to_start(tg, run_bot):
    await run_bot()
    tg.admins[GROUP] = {ADMIN}
    tg.bot_added(GROUP, ADMIN)
    await tg.next_to(GROUP)
    question = await say(tg, ADMIN, "/quiz", GROUP)
    n = len(tg.messages_to(GROUP))
    tg.reply(USER, question, right_answer_for(question.text))
    await tg.next_to(GROUP, n)
    streak = await say(tg, USER, "/streak")
    assert "Current streak: <b>1</b>" in streak.text
    private = await say(tg, USER, "/quiz")
    assert "/start first" not in private.text and "Question" in private.text


async def test_settings_shows_every_current_setting(tg, run_bot):
    await run_bot()
    await registered(tg)
    # A time still ahead today (the clock says 08:00): a time already past would make today's
    # question due at once, and the push job's first tick could slip it in between the replies.
    await say(tg, USER, "/settime 21:15")
    await say(tg, USER, "/daystart 4")
    overview = await say(tg, USER, "/settings")
    for shown in ("21:15", "UTC", "all", "04:00", "Evening reminders", "Weekly digest"):
        assert shown in overview.text, shown


async def test_an_interview_on_a_small_topic_says_so_fills_from_related_topics_and_skips_recent_questions(
        tg, make_config, clock):
    """'dropout' has 3 questions in the real bank: the interview says it borrows from related
    topics, and a dropout question the learner got a moment ago is not asked again."""
    import random

    from bot.app import build_application, start_app, stop_app
    from bot.context import services_of
    from storage import Store
    from tests.learners import shipped_bank

    bank = shipped_bank()
    app = build_application(make_config(), bank=bank, clock=clock, rng=random.Random(5))
    await start_app(app)
    try:
        await registered(tg)
        quizzed = await say(tg, USER, "/quiz dropout")
        recent = next(q.id for q in bank.questions if q.question in quizzed.text)
        intro = await say(tg, USER, "/interview dropout")
        assert "related topics" in intro.text
        await tg.processed(app)
        interview = await services_of(app).store.read(Store.active_interview, USER, USER)
        assert interview is not None and len(interview.question_ids) == 5
        assert recent not in interview.question_ids
        dropout = [qid for qid in interview.question_ids if "dropout" in bank.get(qid).topics]
        assert len(dropout) == 2  # the other two dropout questions, then related ones
    finally:
        await stop_app(app)
