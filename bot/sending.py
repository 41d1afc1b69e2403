"""Sending with retries: transient network failures are retried with backoff; the rest is raised.

429 (RetryAfter) is retried by PTB's AIORateLimiter, which also pauses every other request
for the `retry_after` it was told. What reaches here are timeouts, dropped connections and
5xx answers (PTB raises them as NetworkError), which are worth a few more tries.

A 429 storm is logged once, not once per message: the first 429 says what is happening, the
rest are counted, and one line sums the storm up after it is over (see `RateLimitLog`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from datetime import timedelta

from telegram import Message, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from .texts import fit_html

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class RateLimitLog:
    """Says once that Telegram is rate limiting us, counts the 429s that follow, and sums the
    storm up once it is over: no 429 for `quiet` seconds (60; or twice the last retry_after).

    Fed by `with_retries` (no rate limiter) and by the filter below on the log of PTB's
    AIORateLimiter, which otherwise writes one line per 429. Time is `time.monotonic`, not the
    injected clock: this is about the process's own pace, not about learners' days.
    """

    def __init__(self, quiet: float = 60.0) -> None:
        self.started: float | None = None
        self.last = 0.0
        self.min_quiet = self.quiet = quiet
        self.hits = 0

    def hit(self, retry_after: float) -> None:
        now = time.monotonic()
        self.settle(now)
        if self.started is None:
            self.started, self.hits = now, 0
            log.warning(
                "Telegram is rate limiting the bot (429, retry after %.0f s): sends pause and are retried; "
                "further 429s are counted and summed up when it is over",
                retry_after,
            )
        self.hits += 1
        self.last = now
        self.quiet = max(self.min_quiet, 2 * retry_after)

    def settle(self, now: float | None = None) -> None:
        """Close the storm if it has been quiet long enough (called after every successful send)."""
        if self.started is None:
            return
        now = time.monotonic() if now is None else now
        if now - self.last > self.quiet:
            log.warning("rate limiting over: %d request(s) got 429 in %.0f s; each was retried", self.hits, self.last - self.started)
            self.started = None


RATE_LIMITS = RateLimitLog()


class _AIORateLimiterLog(logging.Filter):
    """PTB's AIORateLimiter logs "Rate limit hit. Retrying after %f seconds" for every 429: count
    those in RATE_LIMITS instead. Its other lines (e.g. giving up after max retries) pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Rate limit hit. Retrying"):
            RATE_LIMITS.hit(float(record.args[0]) if record.args else 0.0)
            return False
        return True


_ptb_limiter_log = logging.getLogger("telegram.ext.AIORateLimiter")
_ptb_limiter_log.addFilter(_AIORateLimiterLog())
_ptb_limiter_log.setLevel(logging.INFO)  # so the filter sees every 429 even at LOG_LEVEL=WARNING


def retry_after_seconds(exc: RetryAfter) -> float:
    """`retry_after` is an int in PTB 22 and becomes a timedelta later; accept both, quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retries(call, *, what: str):
    """Run `call()` (a coroutine factory), retrying transient failures; permanent errors propagate."""
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            result = await call()
            RATE_LIMITS.settle()
            return result
        except (Forbidden, ChatMigrated, BadRequest, InvalidToken):
            raise
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            RATE_LIMITS.hit(seconds)
            if delay is None:
                raise
            await asyncio.sleep(seconds)
        except NetworkError as exc:  # includes TimedOut
            if delay is None:
                raise
            log.debug("%s failed (%s), retry %d in %.1fs", what, exc.__class__.__name__, attempt + 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def inline_keyboard(*rows: list[tuple[str, str]]) -> dict:
    """An inline keyboard of (text, callback_data) buttons as the Bot API's own JSON.

    For unread sends (verdicts): building PTB's InlineKeyboardMarkup only for PTB to turn it back
    into this dict costs about 20 µs a verdict, a tenth of what grading one costs.
    """
    return {"inline_keyboard": [[{"text": text, "callback_data": data[:64]} for text, data in row] for row in rows]}


def reply_to(message_id: int) -> dict:
    """ReplyParameters(message_id, allow_sending_without_reply=True) as the Bot API's JSON (see above)."""
    return {"message_id": message_id, "allow_sending_without_reply": True}


async def send_html(bot, chat_id: int, text: str, *, unread: bool = False, **kwargs) -> Message | None:
    """Send HTML (plain text if it does not fit), with retries. `unread=True` for a message whose
    `Message` nobody uses (a verdict): Telegram's answer is then not parsed, and None is returned
    (bot/tutor_bot.py); its parameters may then be the Bot API's JSON (`inline_keyboard`)."""
    text, mode = fit_html(text)
    send = bot.send_message_unread if unread else bot.send_message
    return await with_retries(lambda: send(chat_id, text, parse_mode=mode, **kwargs), what=f"sendMessage to {chat_id}")


async def reply_html(message: Message, text: str, *, unread: bool = False, **kwargs) -> Message | None:
    """Reply to `message`; if that message is gone by now, send without the reference."""
    where = (reply_to(message.message_id) if unread
             else ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True))
    return await send_html(message.get_bot(), message.chat_id, text, reply_parameters=where, unread=unread, **kwargs)


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
