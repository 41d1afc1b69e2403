"""A group's 20-messages-a-minute budget goes to questions and verdicts first (issue 19).

The bot's real limiter runs here (30 messages a second, 20 a minute per group): help texts,
confirmations and refusals are low priority and dropped when the group's budget runs short, so a
member's verdict is never queued behind them.
"""

from __future__ import annotations

import time

from tests.learners import right_answer_for

GROUP, ADMINS, MEMBER = -100777, (71, 73), 72
# Two admins, each below the flood limit (20 updates in 10 s), together more than the group's 20
# messages a minute: queued instead of dropped, the replies would hold the question back a minute.
ADMIN_COMMANDS = ["/help", "/settime 18:00", "/level all", "/timezone Europe/Paris", "/settings", "/top", "/ask dropout"] * 2


async def test_verdict_arrives_quickly_after_a_burst_of_admin_commands(tg, run_bot):
    app = await run_bot(max_messages_per_second=30)
    tg.admins[GROUP] = set(ADMINS)
    tg.bot_added(GROUP, ADMINS[0])
    await tg.next_to(GROUP)  # the welcome
    for command in ADMIN_COMMANDS:
        for admin in ADMINS:
            tg.message(admin, command, GROUP)
    await tg.processed(app)
    chatter = len(tg.messages_to(GROUP)) - 1
    assert chatter < 2 * len(ADMIN_COMMANDS)  # some low-priority replies were dropped, not queued
    tg.message(ADMINS[0], "/quiz", GROUP)
    question = await tg.wait_for(
        lambda: next((m for m in tg.messages_to(GROUP) if "Question" in m.text and "Reply to this message" in m.text), None),
        timeout=5, what="the question")
    sent_before = len(tg.messages_to(GROUP))
    started = time.monotonic()
    tg.reply(MEMBER, question, right_answer_for(question.text))
    verdict = await tg.next_to(GROUP, sent_before, timeout=5)
    assert time.monotonic() - started < 5
    assert "Correct" in verdict.text
