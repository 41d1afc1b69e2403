"""Sending with retries: transient network failures are retried with backoff; the rest is raised.

429 (RetryAfter) is retried by PTB's AIORateLimiter, which also pauses every other request
for the `retry_after` it was told. What reaches here are timeouts, dropped connections and
5xx answers (PTB raises them as NetworkError), which are worth a few more tries.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter

from .texts import fit_html

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


async def with_retries(call, *, what: str):
    """Run `call()` (a coroutine factory), retrying transient failures; permanent errors propagate."""
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            return await call()
        except (Forbidden, ChatMigrated, BadRequest, InvalidToken):
            raise
        except RetryAfter as exc:
            if delay is None:
                raise
            await asyncio.sleep(exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after)
        except NetworkError as exc:  # includes TimedOut
            if delay is None:
                raise
            log.debug("%s failed (%s), retry %d in %.1fs", what, exc.__class__.__name__, attempt + 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def send_html(bot, chat_id: int, text: str, **kwargs) -> Message:
    text, mode = fit_html(text)
    return await with_retries(
        lambda: bot.send_message(chat_id, text, parse_mode=mode, **kwargs), what=f"sendMessage to {chat_id}"
    )


async def reply_html(message: Message, text: str, **kwargs) -> Message:
    """Reply to `message`; if that message is gone by now, send without the reference."""
    where = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
    return await send_html(message.get_bot(), message.chat_id, text, reply_parameters=where, **kwargs)


async def edit_html(bot, chat_id: int, message_id: int, text: str, **kwargs) -> None:
    text, mode = fit_html(text)
    try:
        await with_retries(
            lambda: bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, parse_mode=mode, **kwargs),
            what="editMessageText",
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
