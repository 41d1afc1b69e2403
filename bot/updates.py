"""getUpdates that survives an update python-telegram-bot cannot read, parsing each update once.

PTB parses a whole getUpdates batch at once. If one update fails to parse (a Bot API field it
does not know the shape of, a required field missing), `Bot.get_updates` logs the raw batch —
users' messages — at CRITICAL and raises; the Updater does not confirm the batch, so the next
poll fetches the same one: a tight loop, and the bot hears nothing ever again.

Three small pieces fix that, and cost nothing while every update is readable:

* `TolerantUpdatesRequest`, the HTTP client for getUpdates, keeps the last batch it received,
  as Telegram sent it.
* `TutorBot.get_updates` (bot/tutor_bot.py) lets PTB parse the batch as usual. Only if that
  fails does it parse the kept batch update by update (`readable_updates`), replacing each
  unreadable one by an empty Update with its id (the handlers ignore it) and logging one line
  that names the id and the error, never the contents. The offset moves on; the bot keeps
  working.
* `RawBatchFilter` drops PTB's CRITICAL line carrying the raw batch.

An earlier version checked every update before PTB parsed the batch: PTB's parser ran twice for
every update, 0.06 ms of the bot's 2.6 ms per answer (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import logging

from telegram import Update

from .http import JSONRequest

log = logging.getLogger(__name__)


class TolerantUpdatesRequest(JSONRequest):
    """The getUpdates HTTP client (one connection, as PTB's default) that keeps the last batch.

    Use it for getUpdates only: PTB sends nothing else through the `get_updates_request`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("connection_pool_size", 1)
        super().__init__(**kwargs)
        self.last_batch: list | None = None

    def parse_json_payload(self, payload: bytes) -> dict:
        """PTB's JSON parsing (its documented hook); the batch is kept, not copied or checked."""
        body = super().parse_json_payload(payload)
        result = body.get("result") if isinstance(body, dict) and body.get("ok") else None
        self.last_batch = result if isinstance(result, list) else None
        return body


def readable_updates(batch: list, bot) -> list[Update]:
    """Each update of a raw getUpdates batch, parsed on its own; an unreadable one becomes the
    empty Update with its id (one without an id is left out)."""
    updates = []
    for item in batch:
        try:
            update = Update.de_json(item, bot)
        except Exception as exc:  # noqa: BLE001 — anything PTB's parser raises
            update_id = item.get("update_id") if isinstance(item, dict) else None
            log.warning("update %s could not be read (%s: %s); skipped", update_id, exc.__class__.__name__, exc)
            if not isinstance(update_id, int):
                continue
            update = Update(update_id)
            update.set_bot(bot)
        updates.append(update)
    return updates


class RawBatchFilter(logging.Filter):
    """Drops PTB's "Error while parsing updates! Received data was ..." (the raw batch: users'
    messages, at CRITICAL). `TutorBot.get_updates` recovers and logs the ids instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Error while parsing updates"))


for _name in ("telegram.ext.ExtBot", "telegram.Bot"):  # the logger of PTB's bot classes (ExtBot: ours)
    logging.getLogger(_name).addFilter(RawBatchFilter())
