"""A learner in a private chat, end to end: the real application, over HTTP, against the fake Bot API."""

from __future__ import annotations

import pytest

from tests.learners import right_answer_for, start

USER = 4242



async def test_start_registers_and_explains(tg, run_bot):
    await run_bot()
    tg.message(USER, "/start")
    welcome = await tg.next_to(USER)
    assert "interview coach" in welcome.text
    assert "09:00" in welcome.text


async def test_quiz_answer_gets_verdict_terms_model_answer_and_streak(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/quiz")
    question = await tg.next_to(USER, 1)
    assert question.buttons == ["q:hint", "q:skip", "q:show", "q:next"]
    tg.message(USER, right_answer_for(question.text))
    verdict = await tg.next_to(USER, 2)
    assert "Correct" in verdict.text
    assert "Core ideas you covered:" in verdict.text
    assert "Model answer" in verdict.text
    assert "🔥 1-day streak" in verdict.text


async def test_text_without_open_question_points_to_quiz(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "hello there")
    pointer = await tg.next_to(USER, 1)
    assert "/quiz" in pointer.text and "/ask" in pointer.text


async def test_user_who_never_pressed_start_is_told_to(tg, run_bot):
    await run_bot()
    tg.message(USER, "some answer")
    reply = await tg.next_to(USER)
    assert "/start" in reply.text


async def test_reply_to_older_question_answers_that_one(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/quiz")
    first = await tg.next_to(USER, 1)
    tg.message(USER, "/quiz")
    second = await tg.next_to(USER, 2)
    assert first.text != second.text  # two questions, two topics
    tg.reply(USER, first, right_answer_for(first.text))
    verdict = await tg.next_to(USER, 3)
    assert "Correct" in verdict.text
    assert verdict.reply_to is not None
    # The second question is still open: a plain message answers it.
    tg.message(USER, right_answer_for(second.text))
    verdict2 = await tg.next_to(USER, 4)
    assert "Correct" in verdict2.text


async def test_hint_show_answer_and_next_buttons(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/quiz")
    question = await tg.next_to(USER, 1)
    tg.press(USER, question, "q:hint")
    await tg.wait_for(lambda: tg.callback_answers, what="hint answer")
    assert tg.callback_answers[-1].get("show_alert") in ("true", True, "True")
    tg.press(USER, question, "q:show")
    shown = await tg.next_to(USER, 2)
    assert "not counted as an attempt" in shown.text and "Model answer" in shown.text
    assert shown.buttons == ["q:next"]
    tg.press(USER, shown, "q:next")
    nxt = await tg.next_to(USER, 3)
    assert nxt.buttons == ["q:hint", "q:skip", "q:show", "q:next"]
    tg.message(USER, "/stats")
    stats = await tg.next_to(USER, 4)
    assert "No answers yet" in stats.text  # giving up is not a graded attempt


async def test_answering_twice_counts_once(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/quiz")
    question = await tg.next_to(USER, 1)
    tg.reply(USER, question, right_answer_for(question.text))
    await tg.next_to(USER, 2)
    tg.reply(USER, question, right_answer_for(question.text))
    again = await tg.next_to(USER, 3)
    assert "already answered" in again.text


@pytest.mark.parametrize(
    "command, expected",
    [
        ("/settime 7:30", "07:30"),
        ("/settime 25:00", "HH:MM"),
        ("/settime", "09:00"),
        ("/timezone Europe/Berlin", "Europe/Berlin"),
        ("/timezone +05:30", "UTC+05:30"),
        ("/timezone Mars/Olympus", "/timezone Europe/Berlin"),
        ("/level advanced", "advanced"),
        ("/level expert", "/level intermediate"),
    ],
)
async def test_settings_commands_confirm_or_correct(tg, run_bot, command, expected):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, command)
    reply = await tg.next_to(USER, 1)
    assert expected in reply.text


async def test_ask_finds_topic_and_offers_more(tg, run_bot):
    await run_bot()
    tg.message(USER, "/ask dropuot")
    found = await tg.next_to(USER)
    assert "Explain dropout" in found.text
    tg.message(USER, "/ask")
    topics = await tg.next_to(USER, 1)
    assert "Topics" in topics.text
    tg.message(USER, "/ask quantum chromodynamics")
    nothing = await tg.next_to(USER, 2)
    assert "Closest topics" in nothing.text


async def test_stop_then_start_resumes(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/stop")
    assert "Paused" in (await tg.next_to(USER, 1)).text
    tg.message(USER, "/start")
    assert "Welcome back" in (await tg.next_to(USER, 2)).text


async def test_forget_erases_after_confirmation(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/forget")
    confirm = await tg.next_to(USER, 1)
    assert confirm.buttons == ["f:yes", "f:no"]
    tg.press(USER, confirm, "f:yes")
    await tg.wait_for(lambda: tg.messages_to(USER, "editMessageText"), what="erased confirmation")
    assert "erased" in tg.messages_to(USER, "editMessageText")[-1].text
    tg.message(USER, "/stats")
    assert "/start" in (await tg.next_to(USER, 2)).text or "No answers" in (await tg.next_to(USER, 2)).text


async def test_unknown_command_and_non_text(tg, run_bot):
    await run_bot()
    tg.message(USER, "/frobnicate")
    assert "don't know that command" in (await tg.next_to(USER)).text
    tg._push({"message": {"message_id": 5, "date": 0, "chat": tg.chat_of(USER), "from": tg.user(USER),
                          "sticker": {"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1,
                                      "is_animated": False, "is_video": False, "type": "regular"}}})
    assert "text answers" in (await tg.next_to(USER, 1)).text
