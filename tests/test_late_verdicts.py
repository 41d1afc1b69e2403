"""An outage does not lose verdicts (issue 18): an answer is stored even when its verdict cannot
be sent, and the verdict arrives later — on the learner's next message, or from the job."""

from __future__ import annotations

import pytest

import bot.sending
from bot.context import services_of
from bot.jobs import late_verdicts
from storage import Store
from tests.fake_telegram import Fault
from tests.learners import quiz, right_answer_for, start

USER = 7373


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(bot.sending, "BACKOFF", (0.0, 0.0, 0.0, 0.0))


async def answer_during_outage(tg, app) -> None:
    await start(tg, USER)
    question = await quiz(tg, USER)
    tg.faults.append(Fault("sendMessage", "502", count=bot.sending.ATTEMPTS))
    tg.reply(USER, question, right_answer_for(question.text))
    await tg.processed(app)
    assert len(tg.messages_to(USER)) == 2  # welcome and question: the verdict did not get through


async def test_verdict_held_back_by_an_outage_comes_with_the_next_message(tg, run_bot):
    app = await run_bot()
    await answer_during_outage(tg, app)
    tg.message(USER, "hello again")
    late = await tg.next_to(USER, 2)
    assert "was graded" in late.text and "Correct" in late.text
    await tg.processed(app)
    store = services_of(app).store
    assert store is not None
    assert (await store.read(Store.user_stats, USER)).answered == 1  # stored once, during the outage
    assert sum("was graded" in m.text for m in tg.messages_to(USER)) == 1


async def test_any_command_brings_the_held_back_verdict_first(tg, run_bot):
    app = await run_bot()
    await answer_during_outage(tg, app)
    tg.message(USER, "/streak")
    late = await tg.next_to(USER, 2)
    streak = await tg.next_to(USER, 3)
    assert "was graded" in late.text and "streak" in streak.text.lower()
    await tg.processed(app)
    assert sum("was graded" in m.text for m in tg.messages_to(USER)) == 1


async def test_the_job_delivers_late_verdicts_once(tg, run_bot, clock):
    app = await run_bot()
    await answer_during_outage(tg, app)
    clock.advance(minutes=5)
    context = app.context_types.context.from_job(next(iter(app.job_queue.jobs())), app)
    await late_verdicts.tick(context)
    await late_verdicts.tick(context)
    assert sum("was graded" in m.text for m in tg.messages_to(USER)) == 1
