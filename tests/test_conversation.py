"""The conversation (issue 19), end to end through the fake Bot API: only real answers are
graded, against the right question; the learner steers with skips, buttons, /review, /interview
and the settings; in groups only replies to a question count and refusals say what.

Each test scripts learners with the fake server and waits on what the bot sends (`tg.next_to`,
`tg.wait_for`, `tg.processed`), never on the clock.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import keyboards, texts
from bot.context import services_of
from storage import Store
from tests.conftest import MINI_BANK
from tests.learners import right_answer_for

USER, OTHER = 6161, 6262
GROUP = -6001
ADMIN, ALICE, BOB = 61, 62, 63


def rows(db: str | Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def db(make_config) -> str:
    """The database file of the bot `run_bot` starts."""
    return make_config().db_path


async def say(tg, user: int, text: str, chat: int | None = None, **kwargs):
    """`user` writes `text` (in their private chat unless `chat`); the bot's next message there."""
    where = chat or user
    n = len(tg.messages_to(where))
    tg.message(user, text, chat, **kwargs)
    return await tg.next_to(where, n)


async def reply(tg, user: int, to, text: str, **kwargs):
    n = len(tg.messages_to(to.chat_id))
    tg.reply(user, to, text, **kwargs)
    return await tg.next_to(to.chat_id, n)


async def press(tg, user: int, on, data: str):
    """`user` presses `data` under `on`; the bot's next message in that chat."""
    n = len(tg.messages_to(on.chat_id))
    tg.press(user, on, data)
    return await tg.next_to(on.chat_id, n)


async def registered(tg, user: int = USER) -> None:
    await say(tg, user, "/start")


def bank_question(question_message):
    """The mini-bank question a question message asks (by its text)."""
    from content import load_bank

    bank = load_bank(MINI_BANK / "questions", MINI_BANK / "topics.toml")
    return next(q for q in bank.questions if q.question in question_message.text)


async def interview_question(tg, n: int, user: int = USER):
    return await tg.wait_for(lambda: next((m for m in tg.messages_to(user) if f"Interview question {n}/" in m.text), None),
                             what=f"interview question {n}")


def title(question_text: str) -> str:
    """The short title a verdict names a mini-bank question by."""
    return "Explain dropout" if "dropout" in question_text.lower() else "recurrent neural network"


# ---------------------------------------------------------------- not every message is an answer


@pytest.mark.parametrize("text, kind", [
    ("hi", "chitchat"), ("thanks!", "chitchat"), ("hmm let me think", "chitchat"), ("🤔🤷", "chitchat"),
    ("what does ReLU mean?", "question"),
    ("Hmm, let me think about this one", "chitchat"),
])
async def test_chat_is_not_graded_and_does_not_change_stats(tg, run_bot, db, text, kind):
    app = await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    answer = await say(tg, USER, text)
    assert "waiting for your answer" in answer.text and title(question.text) in answer.text
    assert ("/ask" in answer.text) == (kind == "question")
    assert answer.buttons == [keyboards.HINT, keyboards.SKIP]
    await tg.processed(app)
    assert rows(db, "SELECT COUNT(*) FROM attempts") == [(0,)]
    assert "No answers yet" in (await say(tg, USER, "/stats")).text
    verdict = await say(tg, USER, right_answer_for(question.text))  # the question is still open
    assert "Correct" in verdict.text


async def test_the_buttons_under_not_an_answer_work(tg, run_bot, db):
    await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    prompt = await say(tg, USER, "hello")
    tg.press(USER, prompt, keyboards.HINT)
    (hint,) = await tg.wait_for(lambda: tg.callback_answers, what="the hint alert")
    assert hint["text"] in (bank_question(question).hint, texts.HINT_NONE)
    shown = await press(tg, USER, prompt, keyboards.SKIP)
    assert "Model answer" in shown.text and texts.SKIPPED.split(" — ")[0] in shown.text
    assert rows(db, "SELECT question_message_id, revealed FROM attempts") == [(question.message_id, 1)]


# ---------------------------------------------------------------- skip


async def test_idk_skips_shows_the_model_answer_and_is_not_an_attempt(tg, run_bot, db, clock):
    await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    skipped = await say(tg, USER, "idk")
    assert skipped.text.startswith(texts.SKIPPED) and "Model answer" in skipped.text
    assert skipped.buttons == [keyboards.NEXT]
    assert "No answers yet" in (await say(tg, USER, "/stats")).text
    assert "No current streak" in (await say(tg, USER, "/streak")).text  # not a streak day either
    # The card is rated Again: it is due again within a day.
    (due,) = rows(db, "SELECT due FROM cards WHERE user_id = ?", USER)[0]
    assert datetime.fromisoformat(due) <= clock.now + timedelta(days=1)
    assert rows(db, "SELECT question_message_id, revealed FROM attempts") == [(question.message_id, 1)]


async def test_the_i_dont_know_button_skips(tg, run_bot, db):
    await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    assert keyboards.SKIP in question.buttons
    skipped = await press(tg, USER, question, keyboards.SKIP)
    assert skipped.text.startswith(texts.SKIPPED) and "Model answer" in skipped.text
    assert "No answers yet" in (await say(tg, USER, "/stats")).text
    again = await say(tg, USER, "it randomly zeroes units so they cannot co-adapt")
    assert again.text == texts.already_answered("incorrect", bank_question(question))  # skipped: closed


# ---------------------------------------------------------------- borderline: ask first


async def test_a_borderline_answer_is_graded_after_grade_it(tg, run_bot, db):
    await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    short = "sequences" if "recurrent" in question.text else "regularisation"
    ask = await say(tg, USER, short)
    assert ask.text == texts.is_this_your_answer(bank_question(question))
    assert ask.buttons == [keyboards.GRADE_IT, keyboards.NOT_ANSWER]
    assert rows(db, "SELECT COUNT(*) FROM attempts") == [(0,)]
    verdict = await press(tg, USER, ask, keyboards.GRADE_IT)
    assert "Partly right" in verdict.text or "Correct" in verdict.text or "Not quite" in verdict.text
    assert title(question.text) in verdict.text
    assert rows(db, "SELECT COUNT(*) FROM attempts WHERE revealed = 0") == [(1,)]


async def test_not_an_answer_under_a_borderline_message_grades_nothing(tg, run_bot, db):
    app = await run_bot()
    await registered(tg)
    await say(tg, USER, "/quiz")
    ask = await say(tg, USER, "ok cool")
    if keyboards.NOT_ANSWER not in ask.buttons:  # "ok cool" may read as plain chat: a two-word answer asks
        ask = await say(tg, USER, "gradients maybe")
    n = len(tg.messages_to(USER))
    tg.press(USER, ask, keyboards.NOT_ANSWER)
    await tg.wait_for(lambda: tg.messages_to(USER, "editMessageReplyMarkup"), what="the buttons removed")
    await tg.processed(app)
    assert len(tg.messages_to(USER)) == n and rows(db, "SELECT COUNT(*) FROM attempts") == [(0,)]
    tg.press(OTHER, ask, keyboards.GRADE_IT)  # someone else's press (a forged one: it is my chat)
    await tg.processed(app)
    assert rows(db, "SELECT COUNT(*) FROM attempts") == [(0,)]


# ---------------------------------------------------------------- the right question


async def test_a_plain_answer_answers_the_newest_question_and_the_verdict_names_it(tg, run_bot, db):
    app = await run_bot()
    await registered(tg)
    first = await say(tg, USER, "/quiz")
    second = await say(tg, USER, "/quiz")
    assert title(first.text) != title(second.text)
    verdict = await say(tg, USER, right_answer_for(second.text))
    assert "Correct" in verdict.text and title(second.text) in verdict.text and title(first.text) not in verdict.text
    assert verdict.reply_to is not None
    thanks = await say(tg, USER, "Also, it's symmetric, hence the U shape. Thanks!")
    assert "Not quite" not in thanks.text  # not graded against the first question
    await tg.processed(app)
    assert rows(db, "SELECT question_message_id, verdict FROM attempts") == [(second.message_id, "correct")]
    # Telegram's reply to the older question still answers it, the same day.
    late = await reply(tg, USER, first, right_answer_for(first.text))
    assert "Correct" in late.text and title(first.text) in late.text


# ---------------------------------------------------------------- edits


async def test_an_edit_of_a_graded_answer_gets_one_not_regraded_reply(tg, run_bot, db):
    app = await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    verdict = await say(tg, USER, "it is about neurons somehow")
    assert "Not quite" in verdict.text
    n = len(tg.messages_to(USER))
    tg.edit(USER, USER, verdict.reply_to, right_answer_for(question.text))
    assert (await tg.next_to(USER, n)).text == texts.EDIT_NOT_REGRADED
    await tg.processed(app)
    assert len(tg.messages_to(USER)) == n + 1
    assert rows(db, "SELECT verdict FROM attempts") == [("incorrect",)]


async def test_an_edit_before_grading_is_graded_as_the_final_text(tg, run_bot, db):
    await run_bot()
    await registered(tg)
    question = await say(tg, USER, "/quiz")
    prompt = await say(tg, USER, "hmm let me think")
    assert "waiting for your answer" in prompt.text
    n = len(tg.messages_to(USER))
    tg.edit(USER, USER, prompt.reply_to, right_answer_for(question.text))
    assert "Correct" in (await tg.next_to(USER, n)).text
    assert rows(db, "SELECT verdict FROM attempts") == [("correct",)]


# ---------------------------------------------------------------- /review and ➡️ Next


async def test_next_inside_review_walks_the_due_cards_and_never_repeats_one(tg, run_bot, clock):
    await run_bot()
    await registered(tg)
    for _ in range(2):  # miss both questions of the bank: both cards come back
        question = await say(tg, USER, "/quiz")
        await say(tg, USER, "it is about neurons somehow" if "dropout" in question.text else "no clue whatsoever here")
    clock.advance(days=3)
    first = await say(tg, USER, "/review")
    assert "Review" in first.text and "2 due" in first.text
    second = await press(tg, USER, first, keyboards.NEXT)
    assert "Review" in second.text and title(second.text) != title(first.text)
    done = await press(tg, USER, second, keyboards.NEXT)
    assert done.text == texts.REVIEW_PASSED  # no repeat, and no new quiz question: the review ends
    again = await say(tg, USER, "/review")  # a new /review starts over with what is due
    assert "2 due" in again.text
    await tg.wait_for(lambda: len(tg.messages_to(USER, "editMessageReplyMarkup")) >= 2, what="old buttons removed")


# ---------------------------------------------------------------- interviews


async def test_interview_stop_ends_a_private_interview_with_a_summary(tg, run_bot):
    await run_bot()
    await registered(tg)
    intro = await say(tg, USER, "/interview")
    assert "Mock interview" in intro.text
    q1 = await interview_question(tg, 1)
    assert keyboards.INTERVIEW_STOP in q1.buttons
    await say(tg, USER, right_answer_for(q1.text))  # the one-line verdict
    await interview_question(tg, 2)
    summary = await say(tg, USER, "/interview stop")
    assert "Interview summary" in summary.text and "✅" in summary.text and "⏭" in summary.text
    assert all(b.startswith(keyboards.ASK) for b in summary.buttons) and summary.buttons
    assert texts.INTERVIEW_NONE in (await say(tg, USER, "/interview stop")).text  # it is over


async def test_the_stop_button_ends_a_private_interview_with_a_summary(tg, run_bot):
    await run_bot()
    await registered(tg)
    await say(tg, USER, "/interview")
    q1 = await interview_question(tg, 1)
    summary = await press(tg, USER, q1, keyboards.INTERVIEW_STOP)
    assert "Interview summary" in summary.text and "⏭" in summary.text
    # The summary's 📖 button shows the model answer.
    answer = await press(tg, USER, summary, summary.buttons[0])
    assert "Model answer" in answer.text


async def test_interview_on_a_topic_draws_only_that_topic(tg, make_config, clock):
    """The real bank (the mini bank has no attention questions)."""
    from bot.app import build_application, start_app, stop_app
    from tests.learners import shipped_bank

    bank = shipped_bank()
    attention = {q.id for q in bank.questions if "attention" in q.topics}
    assert len(attention) >= 5
    app = build_application(make_config(), bank=bank, clock=clock, rng=random.Random(3))
    await start_app(app)
    try:
        await registered(tg)
        intro = await say(tg, USER, "/interview attention")
        assert "Mock interview" in intro.text and "related topics" not in intro.text
        await tg.processed(app)
        interview = await services_of(app).store.read(Store.active_interview, USER, USER)
        assert interview is not None and len(interview.question_ids) == 5
        assert set(interview.question_ids) <= attention
    finally:
        await stop_app(app)


# ---------------------------------------------------------------- settings


async def test_settings_without_an_argument_show_the_current_value(tg, run_bot, db):
    await run_bot()
    await registered(tg)
    ((level,),) = rows(db, "SELECT level FROM chats WHERE chat_id = ?", USER)
    assert (await say(tg, USER, "/settime")).text == texts.settime_current("09:00", "UTC")
    assert (await say(tg, USER, "/level")).text == texts.level_current(level)
    assert (await say(tg, USER, "/reminders")).text == texts.reminders_current(True)
    assert (await say(tg, USER, "/daystart")).text == texts.daystart_current(0)
    assert (await say(tg, USER, "/timezone")).text == texts.timezone_current("UTC")
    await say(tg, USER, "/settime 07:45")
    await say(tg, USER, "/reminders off")
    assert (await say(tg, USER, "/settime")).text == texts.settime_current("07:45", "UTC")
    assert (await say(tg, USER, "/reminders")).text == texts.reminders_current(False)
    await say(tg, USER, "/level advanced")
    assert (await say(tg, USER, "/level")).text == texts.level_current("advanced")
    overview = (await say(tg, USER, "/settings")).text
    assert "07:45" in overview and "UTC" in overview and "advanced" in overview and "off" in overview


async def test_zone_names_are_case_insensitive(tg, run_bot, db):
    await run_bot()
    await registered(tg)
    done = await say(tg, USER, "/timezone europe/berlin")
    assert "Europe/Berlin" in done.text
    assert rows(db, "SELECT tz FROM chats WHERE chat_id = ?", USER) == [("Europe/Berlin",)]


async def test_daystart_with_a_unicode_digit_gets_the_usage_line(tg, run_bot):
    await run_bot()
    await registered(tg)
    assert (await say(tg, USER, "/daystart ①")).text == texts.DAYSTART_USAGE
    assert (await say(tg, USER, "/daystart ²")).text == texts.DAYSTART_USAGE
    assert "04:00" in (await say(tg, USER, "/daystart 4")).text


# ---------------------------------------------------------------- groups


async def join_group(tg) -> object:
    tg.admins[GROUP] = {ADMIN}
    tg.bot_added(GROUP, ADMIN)
    return await tg.next_to(GROUP)


async def test_in_a_group_replies_to_the_welcome_or_top_are_not_answers(tg, run_bot, db):
    app = await run_bot()
    welcome = await join_group(tg)
    question = await say(tg, ADMIN, "/quiz", GROUP)
    assert "Question" in question.text
    tg.message(BOB, "/top", GROUP)
    top = await tg.next_to(GROUP, method="sendPhoto")  # in a group, the leaderboard is a picture
    n = len(tg.messages_to(GROUP))
    tg.reply(ALICE, welcome, "thanks, excited to learn about dropout and regularisation!", first_name="Alice")
    tg.reply(ALICE, top, "haha nice leaderboard, randomly drops neurons to reduce overfitting", first_name="Alice")
    await tg.processed(app)
    assert len(tg.messages_to(GROUP)) == n and rows(db, "SELECT COUNT(*) FROM attempts") == [(0,)]
    chat = await reply(tg, ALICE, question, "thanks!", first_name="Alice")  # a reply to the question, but chat
    assert "waiting for your answer" in chat.text and chat.buttons == []
    verdict = await reply(tg, ALICE, question, right_answer_for(question.text), first_name="Alice")
    assert "Alice" in verdict.text and "Correct" in verdict.text  # an answer to the question is graded
    assert title(question.text) in verdict.text  # and the verdict names the question
    tg.reply(BOB, verdict, "congrats Alice, well explained", first_name="Bob")  # a reply to a verdict is not
    await tg.processed(app)
    assert rows(db, "SELECT user_id FROM attempts") == [(ALICE,)]


async def test_only_the_member_who_answered_may_dispute(tg, run_bot, db):
    app = await run_bot()
    await join_group(tg)
    question = await say(tg, ADMIN, "/quiz", GROUP)
    verdict = await reply(tg, ALICE, question, "it is about neurons somehow", first_name="Alice")
    dispute = next(b for b in verdict.buttons if b.startswith(keyboards.DISPUTE))
    tg.press(BOB, verdict, dispute)
    alert = await tg.wait_for(lambda: tg.callback_answers, what="Bob's alert")
    assert alert[-1]["text"] == texts.DISPUTE_NOT_YOURS and alert[-1].get("show_alert") in (True, "true")
    await tg.processed(app)
    assert rows(db, "SELECT COUNT(*) FROM disputes") == [(0,)]
    tg.press(ALICE, verdict, dispute)
    await tg.wait_for(lambda: len(tg.callback_answers) == 2, what="Alice's thanks")
    assert tg.callback_answers[-1]["text"] == texts.DISPUTE_THANKS
    assert rows(db, "SELECT user_id, reply FROM disputes") == [(ALICE, "it is about neurons somehow")]
    confirm = await say(tg, ALICE, "/forget")  # the dispute is Alice's: her /forget erases it
    tg.press(ALICE, confirm, keyboards.FORGET_YES)
    await tg.wait_for(lambda: tg.messages_to(ALICE, "editMessageText"), what="the erasure")
    await tg.processed(app)
    assert rows(db, "SELECT COUNT(*) FROM disputes") == [(0,)]


async def test_a_non_admins_refusal_says_what_was_refused(tg, run_bot, db):
    await run_bot()
    await join_group(tg)
    assert (await say(tg, ALICE, "/quiz", GROUP)).text == texts.admins_only("post a question now")
    assert (await say(tg, ALICE, "/interview", GROUP)).text == texts.admins_only("run a mock interview")
    assert (await say(tg, ALICE, "/settime 18:00", GROUP)).text == texts.admins_only("change the question time")
    assert rows(db, "SELECT COUNT(*) FROM question_messages") == [(0,)]


async def test_a_group_member_saying_idk_skips_without_an_attempt(tg, run_bot, db):
    app = await run_bot()
    await join_group(tg)
    question = await say(tg, ADMIN, "/quiz", GROUP)
    skipped = await reply(tg, ALICE, question, "idk", first_name="Alice")
    assert skipped.text == texts.GROUP_SKIPPED  # the model answer is not posted for everyone still answering
    assert skipped.buttons == [keyboards.MODEL_ANSWER + bank_question(question).id]  # no private buttons
    tg.press(ALICE, skipped, skipped.buttons[0])
    assert "Model answer" in (await tg.next_to(GROUP, method="editMessageText")).text
    verdict = await reply(tg, BOB, question, right_answer_for(question.text), first_name="Bob")
    assert "Bob" in verdict.text and "Correct" in verdict.text
    await tg.processed(app)
    assert rows(db, "SELECT user_id, revealed FROM attempts ORDER BY revealed") == [(BOB, 0), (ALICE, 1)]

