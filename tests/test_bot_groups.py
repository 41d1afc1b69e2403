"""Group study chats end to end: joining, admin-only settings, member answers, leaderboard, leaving."""

from __future__ import annotations

from tests.learners import right_answer_for

GROUP = -4001
ADMIN, ALICE, BOB = 11, 12, 13


async def join_group(tg, run_bot, clock, **overrides):
    app = await run_bot(tick_seconds=0.1, **overrides)
    tg.admins[GROUP] = {ADMIN}
    tg.bot_added(GROUP, ADMIN)
    welcome = await tg.next_to(GROUP)
    return app, welcome


async def test_added_to_group_subscribes_with_welcome(tg, run_bot, clock):
    _, welcome = await join_group(tg, run_bot, clock)
    assert "study group" in welcome.text and "replying to the question" in welcome.text


async def test_group_settings_are_admin_only(tg, run_bot, clock):
    await join_group(tg, run_bot, clock)
    tg.message(ALICE, "/settime 18:00", GROUP)
    refusal = await tg.next_to(GROUP, 1)
    assert "Only group admins" in refusal.text
    tg.message(ADMIN, "/settime 18:00", GROUP)
    done = await tg.next_to(GROUP, 2)
    assert "18:00" in done.text


async def test_anonymous_admin_may_change_settings(tg, run_bot, clock):
    await join_group(tg, run_bot, clock)
    tg.message(ADMIN, "/level advanced", GROUP, sender_chat=tg.chat_of(GROUP))
    assert "advanced" in (await tg.next_to(GROUP, 1)).text


async def test_members_answer_daily_question_each_graded_once_and_top(tg, run_bot, clock):
    await join_group(tg, run_bot, clock)
    clock.advance(hours=1, seconds=1)  # 09:00:01 UTC: the group's push time has come
    question = await tg.next_to(GROUP, 1)
    assert "Question of the day" in question.text
    assert question.reply_markup["force_reply"] is True
    tg.reply(ALICE, question, right_answer_for(question.text), first_name="Alice")
    alice = await tg.next_to(GROUP, 2)
    assert "Alice" in alice.text and "Correct" in alice.text
    assert "Model answer" not in alice.text  # no flood of model answers in groups
    assert alice.buttons and alice.buttons[0].startswith("r:")
    tg.reply(BOB, question, "no idea honestly", first_name="Bob")
    bob = await tg.next_to(GROUP, 3)
    assert "Bob" in bob.text and "Not quite" in bob.text
    tg.reply(ALICE, question, "second try", first_name="Alice")
    again = await tg.next_to(GROUP, 4)
    assert "already answered" in again.text
    tg.message(BOB, "/top", GROUP)  # a picture since issue 20 (tests/test_progress.py)
    top = await tg.next_to(GROUP, method="sendPhoto")
    assert "Leaderboard" in top.text and top.params["photo"].startswith(b"\x89PNG")
    tg.press(BOB, alice, alice.buttons[0])
    edited = await tg.next_to(GROUP, 0, method="editMessageText")
    assert "Model answer" in edited.text


async def test_answer_command_in_group(tg, run_bot, clock):
    await join_group(tg, run_bot, clock)
    clock.advance(hours=1, seconds=1)
    question = await tg.next_to(GROUP, 1)
    tg.message(ALICE, "/answer " + right_answer_for(question.text), GROUP, first_name="Alice")
    assert "Correct" in (await tg.next_to(GROUP, 2)).text
    tg.message(BOB, "/answer", GROUP)
    assert "empty" in (await tg.next_to(GROUP, 3)).text


async def test_group_answers_count_for_members_streak(tg, run_bot, clock):
    await join_group(tg, run_bot, clock)
    clock.advance(hours=1, seconds=1)
    question = await tg.next_to(GROUP, 1)
    tg.reply(ALICE, question, right_answer_for(question.text), first_name="Alice")
    assert "1-day streak" in (await tg.next_to(GROUP, 2)).text


async def test_removed_from_group_stops_pushes(tg, run_bot, clock):
    await join_group(tg, run_bot, clock)
    tg.bot_removed(GROUP, ADMIN)
    await tg.drained()
    clock.advance(hours=1, seconds=1)
    tg.message(ADMIN + 1000, "/start")  # a private user's push goes out; the group's must not
    await tg.next_to(ADMIN + 1000)
    await tg.next_to(ADMIN + 1000, 1)  # their daily question (09:00 has passed)
    assert len(tg.messages_to(GROUP)) == 1  # only the welcome


async def test_a_busy_group_gets_merged_verdicts_instead_of_a_queue(tg, run_bot, clock, monkeypatch):
    """Telegram allows ~20 messages a minute into one group (shortened here to 3 in 0.3 s). When
    30 members answer at once, the first ten get a reply each; after that the group is busy and
    verdicts that are ready while another is being sent go out together, one line each, so
    nobody waits minutes and no update piles up in memory."""
    from bot import limits

    monkeypatch.setattr(limits, "GROUP_RATE", 3)
    monkeypatch.setattr(limits, "GROUP_PERIOD", 0.3)
    await join_group(tg, run_bot, clock, max_messages_per_second=30)
    n = len(tg.messages_to(GROUP))
    tg.message(ADMIN, "/quiz", GROUP)
    question = await tg.next_to(GROUP, n)
    members = range(100, 130)
    for member in members:
        text = right_answer_for(question.text) if member % 2 else "it is about neurons somehow"
        tg.reply(member, question, text, first_name=f"M{member}")

    def verdicts() -> str:
        return "\n".join(m.text for m in tg.messages_to(GROUP)[n + 1:])

    await tg.wait_for(lambda: all(f"M{m}:" in verdicts() for m in members), timeout=60, what="30 verdicts")
    sent = tg.messages_to(GROUP)[n + 1:]
    assert all(verdicts().count(f"M{m}:") == 1 for m in members)  # each member graded exactly once
    assert len(sent) <= 20  # not one message per member
    merged = [m for m in sent if "Answers so far" in m.text]
    assert merged and all(m.reply_to == question.message_id for m in merged)
    assert all(m.buttons == [b for b in question_buttons(sent) if b.startswith("r:")][:1] for m in merged)
    assert "Correct" in verdicts() and "Not quite" in verdicts()


def question_buttons(sent) -> list[str]:
    """The buttons under the single verdicts (each: the model answer, then the dispute)."""
    return next(m.buttons for m in sent if "Answers so far" not in m.text)
