"""Logging that never shows the token, and the error handler of last resort."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError

from storage import StorageError

from . import texts
from .context import TutorContext
from .sending import FateUnknown, reply

log = logging.getLogger("bot.errors")


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then removes every secret from the whole line, traceback included.

    Redacting the formatted text (not just `record.msg`) also catches the token inside a URL in
    an exception message or in an argument of a third-party log call (httpx logs URLs).
    """

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


def setup_logging(level: str, secrets: list[str], formatter: logging.Formatter | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter or RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (which contains the token) at INFO: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def on_error(update: object, context: TutorContext) -> None:
    """Log with the update id; tell only the person whose own update failed, honestly."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: the user blocked the bot or it was removed from the chat", update_id)
        return
    if isinstance(error, FateUnknown):
        log.warning("update %s: %s; not sent again", update_id, error)
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # Telegram unreachable: an apology would not get through either
        log.warning("update %s: Telegram unreachable (%s); what was stored is delivered later", update_id,
                    error.__class__.__name__)
        return
    if isinstance(error, StorageError):
        log.error("update %s: storage failed: %s", update_id, error)
        apology = texts.NOT_SAVED
    else:
        log.error("update %s failed: %s", update_id, error.__class__.__name__, exc_info=error)
        apology = texts.SORRY
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:  # the apology goes to the presser alone
            await update.callback_query.answer(texts.clip(apology, 190), show_alert=True)
        elif update.effective_message is not None and update.effective_user is not None:
            await reply(context, update.effective_message, apology)
    except Exception:  # noqa: BLE001 — the apology is best effort
        log.debug("could not send the apology for update %s", update_id)
