"""getUpdates that survives an update python-telegram-bot cannot read.

PTB parses a whole getUpdates batch at once; if one update fails to parse (a Bot API field it
does not know the shape of, a required field missing), it logs the raw batch — users' messages —
at CRITICAL and returns without confirming it, so the next poll fetches the same batch: a tight
loop, and the bot hears nothing ever again. This request class checks every update of a
getUpdates answer before PTB sees it and replaces one that cannot be read by a bare
`{"update_id": N}` (an empty Update the handlers ignore), with a one-line warning that names the
update id and the error, never its contents. The offset moves on; the bot keeps working.

Wire it in with `ApplicationBuilder().get_updates_request(TolerantUpdatesRequest())`.
"""

from __future__ import annotations

import logging

from telegram import Update

from .http import JSONRequest

log = logging.getLogger(__name__)


def readable_updates(result: list) -> tuple[list, int]:
    """The updates of a getUpdates result with every unreadable one replaced by its bare id."""
    clean, dropped = [], 0
    for item in result:
        try:
            Update.de_json(item, None)
        except Exception as exc:  # noqa: BLE001 — anything PTB's parser raises
            update_id = item.get("update_id") if isinstance(item, dict) else None
            log.warning("update %s could not be read (%s: %s); skipped", update_id, exc.__class__.__name__, exc)
            if not isinstance(update_id, int):
                continue
            item, dropped = {"update_id": update_id}, dropped + 1
        clean.append(item)
    return clean, dropped


class TolerantUpdatesRequest(JSONRequest):
    """PTB's HTTP client for getUpdates (one connection, as PTB's default), with unreadable
    updates replaced before PTB parses the batch. Use it for getUpdates only."""

    def __init__(self, **kwargs):
        kwargs.setdefault("connection_pool_size", 1)
        super().__init__(**kwargs)

    def parse_json_payload(self, payload: bytes) -> dict:
        """PTB's JSON parsing (its documented hook), then the check: the body is parsed once."""
        body = super().parse_json_payload(payload)
        result = body.get("result") if isinstance(body, dict) and body.get("ok") else None
        if not isinstance(result, list):  # an error, or not a getUpdates answer
            return body
        clean, dropped = readable_updates(result)
        if not dropped and len(clean) == len(result):
            return body
        return {**body, "result": clean}
