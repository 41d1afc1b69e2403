"""Every message the bot sends goes through here: HTML that always fits, the limiter's priority,
one retry policy, and group migrations.

The retry policy, in one place (the README has the same table):

* **Retried** — errors that prove Telegram did not take the message: 429 (after its
  `retry_after`; `bot/limits.py` pauses every send meanwhile), a connection that could not be
  opened, no free connection in our pool, and a 5xx answer. Up to `ATTEMPTS` tries, with
  backoff, within about 15 seconds.
* **Not retried** — a timeout after the request was written, or a connection dropped before the
  answer: Telegram may have delivered the message, and sending it again could show the learner
  the same verdict twice. `FateUnknown` is raised; callers record it and never repeat blindly.
* **Never retried** — 400/403 (bad request, blocked, kicked): the caller decides.
* **Moved** — a group that became a supergroup (`ChatMigrated`, on *any* send): the chat's
  data moves to the new id and the message is sent there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httpx
from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from storage import Store

from .limits import Priority, retry_after_seconds
from .observability import observed_send
from .texts import fit_html

if TYPE_CHECKING:
    from .context import TutorContext

log = logging.getLogger(__name__)

ATTEMPTS = 5
BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds before tries 2..5
NOT_SENT_CAUSES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class FateUnknown(Exception):
    """The request may or may not have reached Telegram (a timeout after it was written)."""

    def __init__(self, chat_id: int | str, cause: BaseException) -> None:
        super().__init__(f"send to {chat_id}: fate unknown ({cause.__class__.__name__})")
        self.chat_id = chat_id


def not_taken(exc: BaseException) -> bool:
    """True if `exc` proves Telegram did not take the request, so sending again is safe."""
    if isinstance(exc, RetryAfter):
        return True
    if isinstance(exc, BadRequest) or not isinstance(exc, NetworkError):  # PTB's BadRequest is a NetworkError
        return False
    if isinstance(exc.__cause__, NOT_SENT_CAUSES):
        return True  # never connected, or never got a connection
    # A timeout after writing, or a connection dropped before the answer: maybe delivered. Without
    # a cause, Telegram answered with a 5xx status: it took nothing.
    return not isinstance(exc, TimedOut) and exc.__cause__ is None


async def with_retries(bot: ExtBot[Any], method: str, chat_id: int | str, params: dict[str, Any]) -> Any:
    """Call `bot.<method>(chat_id=…, **params)` under the retry policy above."""
    call = getattr(bot, method)
    for attempt in range(ATTEMPTS):
        try:
            with observed_send():
                return await call(chat_id=chat_id, **params)
        except BadRequest:
            raise  # Telegram refused it (400): the caller decides, nothing to retry
        except (NetworkError, RetryAfter) as exc:
            if not not_taken(exc):
                raise FateUnknown(chat_id, exc) from exc
            if attempt == ATTEMPTS - 1 or id(bot) in STOPPING:
                raise
            delay = retry_after_seconds(exc) if isinstance(exc, RetryAfter) else BACKOFF[attempt]
            log.debug("%s to %s not taken (%s); try %d in %.1f s", method, chat_id, exc.__class__.__name__, attempt + 2, delay)
            await asyncio.sleep(delay)
            if id(bot) in STOPPING:
                raise
    raise AssertionError("unreachable")


# Bots (by id) whose application is stopping: a send that was not taken is not tried again, so
# SIGTERM during an outage exits within seconds. The caller keeps what did not go (a daily
# push's claim, a verdict held back) for the next start.
STOPPING: set[int] = set()


def stop_retrying(bot: ExtBot[Any]) -> None:
    STOPPING.add(id(bot))


def resume_retrying(bot: ExtBot[Any]) -> None:
    STOPPING.discard(id(bot))


async def send(
    context: TutorContext,
    chat_id: int,
    text: str,
    *,
    markup: InlineKeyboardMarkup | Any = None,
    reply_to: int | None = None,
    priority: Priority = Priority.REPLY,
    **extra: Any,
) -> Message:
    """Send HTML to a chat (plain text when it would not fit), following a group's migration."""
    text, mode = fit_html(text)
    params: dict[str, Any] = {"text": text, "parse_mode": mode, "rate_limit_args": {"priority": priority}, **extra}
    if markup is not None:
        params["reply_markup"] = markup
    if reply_to is not None:
        params["reply_parameters"] = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
    return await following_migration(context, "send_message", chat_id, params)


async def send_photo(
    context: TutorContext,
    chat_id: int,
    photo: bytes,
    caption: str,
    *,
    reply_to: int | None = None,
    priority: Priority = Priority.REPLY,
) -> Message:
    """Send a picture (PNG or JPEG bytes, uploaded) with a short HTML caption, under the same
    retry policy and migration handling as `send`. Captions are built short (Telegram's limit
    is 1,024 characters)."""
    params: dict[str, Any] = {"photo": photo, "caption": caption, "parse_mode": "HTML",
                              "rate_limit_args": {"priority": priority}}
    if reply_to is not None:
        params["reply_parameters"] = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
    return await following_migration(context, "send_photo", chat_id, params)


async def following_migration(context: TutorContext, method: str, chat_id: int, params: dict[str, Any]) -> Message:
    """`bot.<method>` under the retry policy; a group that became a supergroup (`ChatMigrated`,
    on any send) has its data moved to the new id, and the message goes there."""
    try:
        message: Message = await with_retries(context.bot, method, chat_id, params)
        return message
    except ChatMigrated as exc:
        new_id = exc.new_chat_id
        log.info("chat %s became supergroup %s: moved and re-sent", chat_id, new_id)
        await context.store.write(Store.migrate_chat, chat_id, new_id, context.now())
        params.pop("reply_parameters", None)  # the old chat's message ids mean nothing there
        message = await with_retries(context.bot, method, new_id, params)
        return message


async def reply(context: TutorContext, incoming: Message, text: str, **kwargs: Any) -> Message:
    """Answer `incoming` in its chat, as a reply to it."""
    return await send(context, incoming.chat_id, text, reply_to=incoming.message_id, **kwargs)


async def edit(context: TutorContext, chat_id: int, message_id: int, text: str, **kwargs: Any) -> None:
    """Replace a message's text; "message is not modified" (a double press) is fine."""
    text, mode = fit_html(text)
    try:
        await with_retries(
            context.bot, "edit_message_text", chat_id, {"message_id": message_id, "text": text, "parse_mode": mode, **kwargs}
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
