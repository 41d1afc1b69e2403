"""Logging that never shows the token, and the error handler of last resort."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError
from telegram.ext import ContextTypes

from . import texts
from .sending import reply_html

log = logging.getLogger("bot.errors")


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then removes every secret from the whole line, traceback included.

    Redacting the formatted text (not just `record.msg`) also catches the token inside a
    URL in an exception message or in an argument of a third-party log call (httpx logs URLs).
    """

    def __init__(self, fmt: str, secrets: list[str]):
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (which contains the token) at INFO: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id; apologise only to the person whose own update failed."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: the user blocked the bot or it was removed from the chat", update_id)
        return
    if update is None and isinstance(error, NetworkError):
        # run_polling hands failed getUpdates calls here; PTB retries them with backoff.
        log.warning("getUpdates failed (%s: %s); polling retries with backoff", error.__class__.__name__, error)
        return
    log.error("update %s failed: %s", update_id, error.__class__.__name__, exc_info=error)
    if isinstance(update, Update) and update.callback_query is not None:
        # A button press: its effective_message is the bot's message in the chat (maybe a group);
        # the apology goes to the presser alone.
        try:
            await update.callback_query.answer(texts.clip(texts.SORRY, 190), show_alert=True)
        except Exception:  # noqa: BLE001 — the apology is best effort
            log.debug("could not send the apology for update %s", update_id)
        return
    if isinstance(update, Update) and update.effective_message is not None and update.effective_user is not None:
        try:
            await reply_html(update.effective_message, texts.SORRY)
        except Exception:  # noqa: BLE001 — the apology is best effort
            log.debug("could not send the apology for update %s", update_id)
