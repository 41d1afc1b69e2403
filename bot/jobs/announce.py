"""Sending an announcement to every subscribed chat: paced as bulk (a learner waiting for a
verdict goes first), one progress message edited as it goes, resumable after a restart, and
never twice to a chat (storage/admin.py records each recipient's fate once)."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram.error import BadRequest, Forbidden, TelegramError

from storage import Store

from .. import texts
from ..context import TutorApp, run_in_background, services_of
from ..limits import Priority
from ..sending import FateUnknown, with_retries

log = logging.getLogger(__name__)

BATCH = 50
PROGRESS_EVERY = 3.0  # seconds between edits of the progress message


async def run_announcement(application: TutorApp, announcement_id: int) -> None:
    svc = services_of(application)
    store = svc.store
    if store is None:
        return
    announcement = await store.read(Store.get_announcement, announcement_id)
    if announcement is None or announcement.confirmed_at is None or announcement.finished_at is not None:
        return
    last_edit = time.monotonic()
    while chats := await store.read(Store.pending_announcement_chats, announcement_id, BATCH):
        await asyncio.gather(*(deliver(application, announcement_id, chat_id, announcement.text) for chat_id in chats))
        if time.monotonic() - last_edit > PROGRESS_EVERY:
            last_edit = time.monotonic()
            await show_progress(application, announcement_id)
    progress = await store.write(Store.finish_announcement, announcement_id, svc.clock())
    log.info("announcement %d: sent %d, failed %d", announcement_id, progress.sent, progress.failed)
    await show_progress(application, announcement_id, done=True)


async def deliver(application: TutorApp, announcement_id: int, chat_id: int, text: str) -> None:
    svc = services_of(application)
    store = svc.store
    assert store is not None
    params = {"text": texts.announcement(text), "parse_mode": "HTML", "rate_limit_args": {"priority": Priority.BULK}}
    try:
        sent = await with_retries(application.bot, "send_message", chat_id, params)
    except Forbidden:
        await store.write(Store.mark_announcement_send, announcement_id, chat_id, "blocked", svc.clock())
        await store.write(Store.set_chat_status, chat_id, "blocked", svc.clock())
        return
    except FateUnknown:
        await store.write(Store.mark_announcement_send, announcement_id, chat_id, "unknown", svc.clock())
        return
    except (BadRequest, TelegramError) as exc:
        log.warning("announcement to a chat failed: %s", exc.__class__.__name__)
        await store.write(Store.mark_announcement_send, announcement_id, chat_id, "failed", svc.clock())
        return
    await store.write(Store.mark_announcement_send, announcement_id, chat_id, "sent", svc.clock(), sent.message_id)


async def show_progress(application: TutorApp, announcement_id: int, *, done: bool = False) -> None:
    store = services_of(application).store
    assert store is not None
    announcement = await store.read(Store.get_announcement, announcement_id)
    if announcement is None or announcement.progress_chat_id is None or announcement.progress_message_id is None:
        return
    progress = await store.read(Store.announcement_progress, announcement_id)
    try:
        await application.bot.edit_message_text(texts.announce_progress(progress, done=done), chat_id=announcement.progress_chat_id,
                                                message_id=announcement.progress_message_id, parse_mode="HTML")
    except TelegramError:
        pass  # the progress line is a courtesy; the sends themselves are recorded


async def resume_announcements(application: TutorApp) -> None:
    """On start: finish what a previous run was sending."""
    store = services_of(application).store
    assert store is not None
    for announcement in await store.read(Store.unfinished_announcements):
        run_in_background(application, run_announcement(application, announcement.id), f"announce-{announcement.id}")
