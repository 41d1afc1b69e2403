"""Progress end to end (issue 20): the /stats picture, /history, the group /top picture and the
weekly digest — the real application against the fake Bot API, with the injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.charts import WIDTH_PX, png_size
from bot.context import services_of
from storage.store import Store
from tests.learners import answer, quiz, start

USER, OTHER = 6161, 6262
GROUP, ADMIN = -7001, 71


def db_of(app) -> Path:
    return Path(services_of(app).config.db_path)


def chat_status(app, chat_id):
    store = Store.open_reader(db_of(app))
    try:
        return store.get_chat(chat_id).status
    finally:
        store.close()


def photos_to(tg, chat_id):
    return tg.messages_to(chat_id, method="sendPhoto")


def digests(tg, chat_id):
    return [m for m in tg.messages_to(chat_id) if "Your week" in m.text]


async def said(tg, user, text):
    """The first message to `user` containing `text` (other messages may come in between)."""
    found = await tg.wait_for(lambda: [m for m in tg.messages_to(user) if text in m.text], what=repr(text))
    return found[0]


async def round_trip(tg, app, user=USER):
    """Every update handled, and two more runs of the digest job after that (its ticks are
    0.1 s apart): what was due by now has been sent."""
    await tg.processed(app)
    job = app.job_queue.get_jobs_by_name("weekly-digest")[0]
    for _ in range(2):
        before = job.next_t
        await tg.wait_for(lambda before=before: job.next_t != before, what="a digest tick")
    n = len(tg.messages_to(user))
    tg.message(user, "/digest")
    await tg.next_to(user, n)


async def test_stats_without_answers_is_a_friendly_text_and_no_chart(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/stats")
    reply = await tg.next_to(USER, 1)
    assert "No answers yet" in reply.text and "practice calendar" in reply.text and "/quiz" in reply.text
    assert photos_to(tg, USER) == []


async def test_stats_sends_a_picture_whose_caption_matches_the_stored_numbers(tg, run_bot, clock):
    app = await run_bot()
    await start(tg, USER)
    await answer(tg, USER, await quiz(tg, USER))  # right
    await answer(tg, USER, await quiz(tg, USER), "no idea honestly, something with layers")
    clock.advance(days=1)
    await answer(tg, USER, await quiz(tg, USER))
    tg.message(USER, "/stats")
    photo = await tg.next_to(USER, method="sendPhoto")
    png = photo.params["photo"]
    assert isinstance(png, bytes) and png_size(png)[0] == WIDTH_PX == 1080
    assert len(png) < 200_000

    store = Store.open_reader(db_of(app))
    try:
        stats = store.user_stats(USER)
        info = store.streak_info(USER, clock.now, "UTC")
        tomorrow = (clock.now + timedelta(days=1)).replace(hour=0, minute=0, second=0)
        due = [c.card["due"] for c in store.progress(USER).cards]
    finally:
        store.close()
    numbers = [int(n) for n in re.findall(r"\d+", photo.text)]
    assert numbers == [info.current, info.longest, stats.answered, round(stats.accuracy * 100),
                       sum(1 for d in due if datetime.fromisoformat(d) < tomorrow),
                       sum(1 for d in due if tomorrow <= datetime.fromisoformat(d) < tomorrow + timedelta(days=1))]
    assert stats.answered == 3 and info.current == 2
    assert "Streak" in photo.text and "Reviews due today" in photo.text
    assert photo.reply_to is not None


async def test_history_lists_the_answers_and_a_button_shows_the_model_answer_and_what_was_missed(tg, run_bot):
    await run_bot()
    await start(tg, USER)
    tg.message(USER, "/history")
    assert "No answers yet" in (await tg.next_to(USER, 1)).text
    question = await quiz(tg, USER)
    dropout = "dropout" in question.text.lower()
    reply = "Dropout is a regularisation technique." if dropout else "RNNs handle sequential data."
    covered, missed = ("regularization", "randomly zeroes units") if dropout else ("sequential data", "hidden state")
    verdict = await answer(tg, USER, question, reply)
    assert "Partly right" in verdict.text
    n = len(tg.messages_to(USER))
    tg.message(USER, "/history")
    listing = await tg.next_to(USER, n)
    assert "Your last answers" in listing.text
    score = re.search(r"(\d+)%", verdict.text).group(0)
    assert f"1. 🟡 {score} · {question.text.split(chr(10) * 2)[1]} · Mon 2 Mar" in listing.text
    [data] = listing.buttons
    assert data.startswith("h:")

    tg.press(OTHER, listing, data, first_name="Mallory")  # someone else's attempt id: nothing
    await tg.wait_for(lambda: tg.callback_answers, what="the refusal")
    assert "no longer in your history" in tg.callback_answers[-1]["text"]
    assert tg.messages_to(OTHER) == []

    tg.press(USER, listing, data)
    detail = await tg.next_to(USER, n + 1)
    assert "Model answer" in detail.text and ("fraction p of the units" if dropout else "one step at a time") in detail.text
    assert f"Core ideas you missed: <b>{missed}</b>" in detail.text
    assert f"You covered: {covered}" in detail.text
    assert reply not in detail.text  # the reply was never stored


async def test_top_in_a_group_is_a_picture_and_stats_there_stays_text(tg, run_bot):
    await run_bot()
    tg.admins[GROUP] = {ADMIN}
    tg.bot_added(GROUP, ADMIN)
    await tg.next_to(GROUP)
    tg.message(ADMIN, "/top", GROUP)
    photo = await tg.next_to(GROUP, method="sendPhoto")
    assert png_size(photo.params["photo"])[0] == WIDTH_PX
    assert "Leaderboard" in photo.text
    tg.message(ADMIN, "/stats", GROUP)
    assert "No answers yet" in (await tg.next_to(GROUP, 1)).text
    assert len(photos_to(tg, GROUP)) == 1


async def test_top_falls_back_to_text_when_the_picture_fails(tg, run_bot, monkeypatch):
    import bot.charts

    def broken(data):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(bot.charts, "render_leaderboard", broken)
    await run_bot()
    tg.bot_added(GROUP, ADMIN)
    await tg.next_to(GROUP)
    tg.message(ADMIN, "/top", GROUP)
    text = await tg.next_to(GROUP, 1)
    assert "This week" in text.text and "All time" in text.text
    assert photos_to(tg, GROUP) == []


async def test_digest_arrives_once_a_week_on_sunday_evening_in_the_learners_zone(tg, run_bot, clock):
    app = await run_bot(tick_seconds=0.1, default_time="23:30")  # daily pushes out of the way
    await start(tg, USER)
    tg.message(USER, "/timezone Asia/Tokyo")
    await said(tg, USER, "Time zone set")
    await answer(tg, USER, await quiz(tg, USER))  # Monday 2 March
    tg.message(USER, "/digest")
    await said(tg, USER, "on</b>: Sunday evenings")

    clock.set(datetime(2026, 3, 8, 8, 59, tzinfo=UTC))  # Sunday 17:59 in Tokyo
    await round_trip(tg, app)
    assert digests(tg, USER) == []
    clock.set(datetime(2026, 3, 8, 9, 0, tzinfo=UTC))  # 18:00 in Tokyo (still 09:00 in UTC)
    [digest] = await tg.wait_for(lambda: digests(tg, USER), what="the digest")
    assert "1 answer on 1 day" in digest.text and "/quiz" in digest.text
    assert "Mon 2 Mar – Sun 8 Mar" in digest.text
    clock.advance(hours=3)
    await round_trip(tg, app)
    assert len(digests(tg, USER)) == 1  # never twice in a week

    clock.set(datetime(2026, 3, 15, 9, 0, tzinfo=UTC))  # next Sunday, 18:00 in Tokyo
    await tg.wait_for(lambda: len(digests(tg, USER)) == 2, what="the next week's digest")
    tg.message(USER, "/digest off")
    await said(tg, USER, "Weekly digest off")
    clock.set(datetime(2026, 3, 22, 10, 0, tzinfo=UTC))
    await round_trip(tg, app)
    assert len(digests(tg, USER)) == 2


async def test_digest_moves_to_the_chosen_weekday_and_a_blocked_learner_gets_none(tg, run_bot, clock):
    app = await run_bot(tick_seconds=0.1, default_time="23:30")
    for user in (USER, OTHER):
        await start(tg, user)
        await answer(tg, user, await quiz(tg, user))
    tg.message(USER, "/digest wednesday")
    await said(tg, USER, "Wednesday evenings")
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    tg.fault_policy = lambda method, params: (
        blocked if str(params.get("chat_id")) == str(OTHER) and "Your week" in str(params.get("text")) else None)
    clock.set(datetime(2026, 3, 4, 18, 0, tzinfo=UTC))  # Wednesday 18:00 UTC
    await tg.wait_for(lambda: digests(tg, USER), what="Wednesday's digest")
    assert chat_status(app, OTHER) == "active"  # OTHER's digest day is Sunday
    clock.set(datetime(2026, 3, 8, 18, 0, tzinfo=UTC))  # Sunday: OTHER's digest, refused
    await tg.wait_for(lambda: chat_status(app, OTHER) == "blocked", what="OTHER marked blocked")
    await round_trip(tg, app)
    assert digests(tg, OTHER) == [] and len(digests(tg, USER)) == 1
    assert len([c for c in tg.calls if c[0] == "sendMessage" and "Your week" in str(c[1].get("text"))
                and str(c[1].get("chat_id")) == str(OTHER)]) == 1  # tried once, never again


def test_history_and_digest_are_documented_where_learners_look():
    from bot import texts

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    listed = dict(texts.COMMANDS_PRIVATE)
    for command in ("stats", "history", "digest"):
        assert command in listed and f"/{command}" in texts.HELP_PRIVATE and f"`/{command}" in readme
    assert (Path(__file__).parent.parent / "docs" / "images" / "stats-example.png").read_bytes()[:4] == b"\x89PNG"


def test_leaderboard_names_are_plain_text():
    from bot.texts import plain_user_name

    names = [("<b>Bob</b>", "bob"), (None, "ada"), (" ", None)]
    assert [plain_user_name(first, username) for first, username in names] == ["<b>Bob</b>", "@ada", "someone"]
