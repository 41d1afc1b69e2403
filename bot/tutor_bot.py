"""The bot object: PTB's ExtBot with two changes, both about what PTB parses.

* `get_updates` survives an update PTB cannot read (see bot/updates.py).
* `send_message_unread` sends a message without reading Telegram's answer beyond success or error.
  Telegram answers a sendMessage with the whole message, including the message it replies to,
  and PTB builds a dozen objects from that: about 0.1 ms for a verdict, as much as grading a
  reply (bench/answer_cost.py, docs/BENCHMARKS.md). No one reads a verdict's `Message`, so
  verdicts are sent this way. It is PTB's own request path all the same: defaults, the rate
  limiter, Telegram's errors (RetryAfter, Forbidden, ChatMigrated, ...) are what `send_message`
  gets.
"""

from __future__ import annotations

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

from .http import RESULT_UNREAD
from .updates import TolerantUpdatesRequest, readable_updates


class TutorBot(ExtBot):
    """ExtBot; `get_updates_request` must be a TolerantUpdatesRequest (it keeps the raw batch)."""

    def __init__(self, *args, get_updates_request: TolerantUpdatesRequest, **kwargs):
        super().__init__(*args, get_updates_request=get_updates_request, **kwargs)
        self._batches = get_updates_request
        self._default_lpo: dict | None = None  # the Defaults' LinkPreviewOptions as JSON

    async def get_updates(self, *args, **kwargs) -> tuple[Update, ...]:
        """PTB's getUpdates; a batch PTB cannot parse is parsed again update by update."""
        self._batches.last_batch = None
        try:
            return await super().get_updates(*args, **kwargs)
        except TelegramError:  # network, 409 Conflict, 401...: the Updater's own handling
            raise
        except Exception:  # PTB could not parse the batch it just received
            batch = self._batches.last_batch
            if batch is None:
                raise
        updates = readable_updates(batch, self)
        for update in updates:
            self.insert_callback_data(update)  # what ExtBot.get_updates does after parsing
        return tuple(updates)

    async def send_message_unread(self, chat_id: int, text: str, **params) -> None:
        """`send_message(chat_id, text, **params)` whose answer is checked, not parsed.

        `params` are sendMessage's own (parse_mode, reply_parameters, reply_markup, ...), as
        Telegram objects (PTB serialises them as for send_message) or as the Bot API's JSON
        (dicts, sent as they are). The link preview setting of the bot's Defaults applies, as it
        does to send_message.
        """
        if "link_preview_options" not in params and self.defaults is not None and self.defaults.link_preview_options is not None:
            if self._default_lpo is None:  # serialised once: Defaults do not change
                self._default_lpo = self.defaults.link_preview_options.to_dict()
            params["link_preview_options"] = self._default_lpo
        unread = RESULT_UNREAD.set(True)  # the answer is checked for errors, not parsed (bot/http.py)
        try:
            await self._post("sendMessage", {"chat_id": chat_id, "text": text, **params})
        finally:
            RESULT_UNREAD.reset(unread)
