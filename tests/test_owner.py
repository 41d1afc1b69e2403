"""Owner tools: /admin and /announce, for the ids in TUTOR_OWNER_IDS only (issue 21)."""

from __future__ import annotations

import random

from bot.app import build_application, start_app, stop_app
from bot.context import services_of
from storage import Store
from tests.learners import answer, quiz, start

OWNER, LEARNERS = 9000, [9101, 9102, 9103, 9104, 9105]


async def test_admin_shows_the_figures_to_the_owner_only(tg, run_bot):
    await run_bot(owner_ids=frozenset({OWNER}))
    await start(tg, OWNER)
    await start(tg, LEARNERS[0])
    await answer(tg, LEARNERS[0], await quiz(tg, LEARNERS[0]))
    tg.message(OWNER, "/admin")
    overview = await tg.next_to(OWNER, 1)
    assert "Users: 2" in overview.text and "subscribed chats: 2" in overview.text
    assert "Active today: 1" in overview.text and "Uptime:" in overview.text
    tg.message(LEARNERS[0], "/admin")
    refused = await tg.next_to(LEARNERS[0], 3)
    assert "don't know that command" in refused.text


async def test_announce_previews_then_reaches_every_subscribed_chat_once(tg, run_bot):
    await run_bot(owner_ids=frozenset({OWNER}))
    for user in [OWNER, *LEARNERS]:
        await start(tg, user)
    tg.message(LEARNERS[1], "/stop")
    await tg.next_to(LEARNERS[1], 1)
    tg.message(OWNER, "/announce New: questions on <b>diffusion</b>!")
    preview = await tg.next_to(OWNER, 1)
    assert "Preview" in preview.text and "&lt;b&gt;diffusion" in preview.text
    assert all(len(tg.messages_to(u)) == 1 for u in LEARNERS if u != LEARNERS[1])  # nothing sent yet
    tg.press(OWNER, preview, preview.buttons[0])
    receivers = [OWNER, *(u for u in LEARNERS if u != LEARNERS[1])]
    await tg.wait_for(lambda: all(any("📣" in m.text for m in tg.messages_to(u)) for u in receivers), what="announcement")
    await tg.wait_for(lambda: any("Announcement sent" in m.text for m in tg.sent if m.chat_id == OWNER), what="progress")
    assert not any("📣" in m.text for m in tg.messages_to(LEARNERS[1]))  # stopped: not subscribed
    tg.press(OWNER, preview, preview.buttons[0])  # a second press sends nothing more
    tg.message(OWNER, "/help")
    await tg.next_to(OWNER, len(tg.messages_to(OWNER)))
    for user in receivers:
        assert sum(m.text.startswith("📣 New") for m in tg.messages_to(user)) == 1


async def test_an_interrupted_announcement_resumes_after_restart_without_duplicates(tg, make_config, bank, clock):
    config = make_config(owner_ids=frozenset({OWNER}))
    app = build_application(config, bank=bank, clock=clock, rng=random.Random(1))
    await start_app(app)
    for user in [OWNER, *LEARNERS]:
        await start(tg, user)
    store = services_of(app).store
    assert store is not None
    draft = await store.write(Store.create_announcement, "Resume me", OWNER, clock())
    # Confirmed, but the process stops before a single send: every recipient is still pending.
    progress = await store.write(Store.confirm_announcement, draft.id, OWNER, 1, clock())
    assert progress is not None and progress.pending == 6 and progress.sent == 0
    await stop_app(app)

    again = build_application(config, bank=bank, clock=clock, rng=random.Random(2))
    await start_app(again)
    try:
        await tg.wait_for(lambda: all(any("Resume me" in m.text for m in tg.messages_to(u)) for u in [OWNER, *LEARNERS]),
                          what="resumed announcement")
        store = services_of(again).store
        assert store is not None
        # The progress message is edited to "sent" after the last recipient is recorded.
        await tg.wait_for(lambda: any("Announcement sent" in m.text for m in tg.sent if m.method == "editMessageText"),
                          what="finished")
        assert (await store.read(Store.announcement_progress, draft.id)).sent == 6
        assert all(sum("Resume me" in m.text for m in tg.messages_to(u)) == 1 for u in [OWNER, *LEARNERS])
    finally:
        await stop_app(again)
