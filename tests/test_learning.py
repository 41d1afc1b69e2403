"""The learning engine end to end: FSRS reviews rated by the grader, /review, reminders,
mock interviews, disputes, humane streaks — on the real bot with an injected clock."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Rating

from content.srs import card_id_for, rating_for, review
from tests.learners import answer, quiz, right_answer_for, start

USER = 8181


def daily(tg, chat_id):
    return [m for m in tg.messages_to(chat_id) if "Question of the day" in m.text]


# ---------------------------------------------------------------- the rating mapping


@pytest.mark.parametrize(
    "verdict, revealed, hint, complete, rating",
    [
        ("incorrect", False, False, False, Rating.Again),
        ("correct", True, False, True, Rating.Again),  # "Show answer" is a miss
        ("partial", False, False, False, Rating.Hard),
        ("correct", False, False, False, Rating.Good),
        ("correct", False, True, True, Rating.Good),  # a hint costs the Easy
        ("correct", False, False, True, Rating.Easy),
    ],
)
def test_rating_comes_from_the_grade(verdict, revealed, hint, complete, rating):
    assert rating_for(verdict, revealed=revealed, used_hint=hint, complete=complete) == rating


def test_intervals_grow_with_the_rating_and_a_miss_comes_back_tomorrow():
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    due = {}
    for r in (Rating.Again, Rating.Hard, Rating.Good, Rating.Easy):
        card, _ = review(None, r, now, card_id=card_id_for(1, "q"))
        due[r] = datetime.fromisoformat(card["due"])
    assert due[Rating.Again] <= now + timedelta(days=1)
    assert due[Rating.Again] <= due[Rating.Hard] <= due[Rating.Good] < due[Rating.Easy]


# ---------------------------------------------------------------- end to end


async def test_a_missed_question_comes_back_before_new_ones(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    await start(tg, USER)
    clock.advance(hours=1)  # 09:00: day 1's question
    first = (await tg.wait_for(lambda: daily(tg, USER), what="day 1 question"))[0]
    tg.reply(USER, first, "no idea, sorry")
    await tg.wait_for(lambda: any("Not quite" in m.text for m in tg.messages_to(USER)), what="the verdict")
    clock.advance(days=1)  # day 2: the missed card is due (FSRS: Again → tomorrow)
    await tg.wait_for(lambda: len(daily(tg, USER)) == 2, what="day 2 question")
    assert daily(tg, USER)[1].text.split("\n\n")[1] == first.text.split("\n\n")[1]


async def test_review_drills_due_cards_until_none_is_left(tg, run_bot, clock):
    await run_bot()
    await start(tg, USER)
    for _ in range(2):  # miss both questions of the bank
        await answer(tg, USER, await quiz(tg, USER), "pass")
    clock.advance(days=10)  # away for ten days: a backlog, but no flood
    n = len(tg.messages_to(USER))
    tg.message(USER, "/review")
    r1 = await tg.next_to(USER, n)
    assert "Review" in r1.text and "2 due" in r1.text
    tg.reply(USER, r1, right_answer_for(r1.text))
    await tg.next_to(USER, n + 1)  # verdict
    r2 = await tg.next_to(USER, n + 2)  # the next due card follows by itself
    assert "1 due" in r2.text
    tg.reply(USER, r2, right_answer_for(r2.text))
    await tg.next_to(USER, n + 3)
    done = await tg.next_to(USER, n + 4)
    assert "All caught up" in done.text


async def test_evening_reminder_once_when_the_streak_is_at_risk(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    await start(tg, USER)
    await answer(tg, USER, await quiz(tg, USER))
    clock.set(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))  # next day, 18:00: not evening yet
    tg.message(USER, "/streak")
    await tg.wait_for(lambda: any("Current streak" in m.text for m in tg.messages_to(USER)), what="streak")
    assert not [m for m in tg.messages_to(USER) if "is waiting for today's answer" in m.text]
    clock.set(datetime(2026, 3, 3, 19, 30, tzinfo=UTC))
    await tg.wait_for(lambda: [m for m in tg.messages_to(USER) if "waiting for today's answer" in m.text], what="reminder")
    clock.advance(minutes=30)
    tg.message(USER, "/help")
    await tg.wait_for(lambda: any("How it works" in m.text for m in tg.messages_to(USER)), what="help")
    assert len([m for m in tg.messages_to(USER) if "waiting for today's answer" in m.text]) == 1


async def test_reminders_off_means_none(tg, run_bot, clock):
    await run_bot(tick_seconds=0.1)
    await start(tg, USER)
    tg.message(USER, "/reminders off")
    await tg.wait_for(lambda: any("reminders are off" in m.text for m in tg.messages_to(USER)), what="confirmation")
    await answer(tg, USER, await quiz(tg, USER))
    clock.set(datetime(2026, 3, 3, 20, 0, tzinfo=UTC))
    tg.message(USER, "/help")  # a round trip: by its answer, several reminder ticks have run
    await tg.wait_for(lambda: any("How it works" in m.text for m in tg.messages_to(USER)), what="help")
    assert not [m for m in tg.messages_to(USER) if "waiting for today's answer" in m.text]


async def test_daystart_makes_a_late_night_answer_count_for_yesterday(tg, run_bot, clock):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/daystart 4")
    await tg.wait_for(lambda: any("04:00" in m.text for m in tg.messages_to(USER)), what="confirmation")
    n = len(tg.messages_to(USER))
    tg.message(USER, "/quiz")  # Monday 08:00
    q = await tg.next_to(USER, n)
    tg.reply(USER, q, right_answer_for(q.text))
    await tg.next_to(USER, n + 1)
    clock.set(datetime(2026, 3, 4, 1, 0, tzinfo=UTC))  # Wednesday 01:00 = still Tuesday for this learner
    n = len(tg.messages_to(USER))
    tg.message(USER, "/quiz")
    q = await tg.next_to(USER, n)
    tg.reply(USER, q, right_answer_for(q.text))
    verdict = await tg.next_to(USER, n + 1)
    assert "2-day streak" in verdict.text


async def test_mock_interview_then_summary(tg, run_bot, clock):
    await run_bot()
    await start(tg, USER)
    n = len(tg.messages_to(USER))
    tg.message(USER, "/interview")
    intro = await tg.next_to(USER, n)
    assert "Mock interview" in intro.text
    q1 = await tg.next_to(USER, n + 1)
    assert "Interview question 1/2" in q1.text
    tg.message(USER, right_answer_for(q1.text))
    assert "Correct" in (await tg.next_to(USER, n + 2)).text
    q2 = await tg.next_to(USER, n + 3)
    assert "Interview question 2/2" in q2.text
    tg.message(USER, "I am not sure")
    await tg.next_to(USER, n + 4)
    summary = await tg.next_to(USER, n + 5)
    assert "Interview summary" in summary.text
    assert "Weakest" in summary.text and "Review next" in summary.text


async def test_dispute_is_stored_for_content_authors(tg, run_bot, clock, make_config):
    await run_bot()
    await start(tg, USER)
    n = len(tg.messages_to(USER))
    tg.message(USER, "/quiz")
    q = await tg.next_to(USER, n)
    tg.reply(USER, q, "it is about neurons somehow")
    verdict = await tg.next_to(USER, n + 1)
    dispute = [b for b in verdict.buttons if b.startswith("d:")]
    assert dispute
    tg.press(USER + 1, verdict, dispute[0])  # someone else cannot dispute my grade
    tg.press(USER, verdict, dispute[0])
    await tg.wait_for(lambda: len(tg.callback_answers) == 2, what="both callback answers")
    db = sqlite3.connect(make_config().db_path)
    rows = db.execute("SELECT user_id, reply, verdict FROM disputes").fetchall()
    assert rows == [(USER, "it is about neurons somehow", "incorrect")]


async def test_streak_shows_freezes(tg, run_bot, clock):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/streak")
    await tg.wait_for(lambda: any("Freezes held: 0" in m.text for m in tg.messages_to(USER)), what="freezes")


async def test_export_reviews_reads_back_as_fsrs_review_logs(tg, run_bot, clock, make_config):
    from fsrs import ReviewLog

    from bot.cli import main

    await run_bot()
    await start(tg, USER)
    await answer(tg, USER, await quiz(tg, USER))
    out = make_config().db_path + ".json"
    assert main(["export-reviews", "--db", make_config().db_path, "--out", out]) == 0
    with open(out) as f:
        logs = [ReviewLog.from_dict(d) for d in json.load(f)]
    assert len(logs) == 1 and logs[0].rating in (Rating.Good, Rating.Easy)


async def test_group_interview_run_by_an_admin(tg, run_bot, clock):
    group, admin, alice = -7001, 71, 72
    await run_bot()
    tg.admins[group] = {admin}
    tg.bot_added(group, admin)
    await tg.next_to(group)
    tg.message(alice, "/interview", group)
    assert "Only group admins" in (await tg.next_to(group, 1)).text
    tg.message(admin, "/interview", group)
    assert "Mock interview" in (await tg.next_to(group, 2)).text
    q1 = await tg.next_to(group, 3)
    assert "Interview question 1/2" in q1.text
    tg.reply(alice, q1, right_answer_for(q1.text), first_name="Alice")
    assert "Correct" in (await tg.next_to(group, 4)).text
    tg.message(admin, "/interview next", group)
    q2 = await tg.next_to(group, 5)
    assert "Interview question 2/2" in q2.text
    tg.message(admin, "/interview next", group)
    summary = await tg.next_to(group, 6)
    assert "Interview over" in summary.text and "Alice" in summary.text
