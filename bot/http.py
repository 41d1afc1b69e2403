"""Bot API calls as JSON bodies instead of PTB's form encoding.

PTB's `HTTPXRequest` sends every call as `application/x-www-form-urlencoded`: httpx hands each
value to urllib's `quote_plus`, which walks every byte that is not plain ASCII in a Python loop.
A verdict is about 1,300 characters of HTML with emoji and a button, so the form encoding alone
cost 0.05 ms of the bot's 2.6 ms per answer (bench/answer_cost.py, docs/BENCHMARKS.md). The Bot
API takes `application/json` bodies for every method, and `json.dumps` runs in C. The body is
`RequestData.parameters` (PTB's own conversion of the call's arguments, datetimes and Telegram
objects included) as one JSON object: numbers stay numbers, a keyboard is a nested object, text
is UTF-8 rather than `\\uXXXX` escapes.

Uploads (multipart) go through PTB's own code unchanged: the bot sends none today, and one added
later needs no change here.
"""

from __future__ import annotations

import json
from contextvars import ContextVar

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

# PTB's "use the default" marker; its class is not public API, its instance is.
DefaultValue = type(BaseRequest.DEFAULT_NONE)

# HTTP connections for sending (getUpdates has its own one): one per update in flight
# (bot/app.py runs 16). At Telegram's 30 messages/s and 0.1-0.3 s a request, 3-9 are busy.
CONNECTIONS = 16

JSON_HEADERS = {"User-Agent": HTTPXRequest.USER_AGENT, "Content-Type": "application/json"}

# Set (in the calling task) around a call whose result no one reads: `TutorBot.send_message_unread`.
# A successful answer is then replaced by the smallest one PTB accepts, so PTB does not parse the
# sent message Telegram echoes back only for it to be dropped: a verdict's is about 3 KB of JSON
# (its 1,300 characters of text, their entities and the message it replies to). Errors are parsed
# as ever: PTB needs their description and parameters (retry_after, migrate_to_chat_id).
RESULT_UNREAD: ContextVar[bool] = ContextVar("RESULT_UNREAD", default=False)
UNREAD_OK = b'{"ok":true,"result":true}'
READ = httpx.ByteStream(b"")  # what a response's stream is once its body is read (see do_request)


class JSONRequest(HTTPXRequest):
    """`HTTPXRequest` (same client, pool, timeouts and errors) that posts JSON bodies."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout=BaseRequest.DEFAULT_NONE,
        write_timeout=BaseRequest.DEFAULT_NONE,
        connect_timeout=BaseRequest.DEFAULT_NONE,
        pool_timeout=BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files:
            return await super().do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        if self._client.is_closed:
            raise RuntimeError("This HTTPXRequest is not initialized!")
        # The defaults as PTB's do_request applies them (telegram/request/_httpxrequest.py).
        client_timeout = self._client.timeout
        timeout = httpx.Timeout(
            connect=client_timeout.connect if isinstance(connect_timeout, DefaultValue) else connect_timeout,
            read=client_timeout.read if isinstance(read_timeout, DefaultValue) else read_timeout,
            write=client_timeout.write if isinstance(write_timeout, DefaultValue) else write_timeout,
            pool=client_timeout.pool if isinstance(pool_timeout, DefaultValue) else pool_timeout,
        )
        body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
        try:
            res = await self._client.request(method=method, url=url, headers=JSON_HEADERS, timeout=timeout, content=body)
        except httpx.TimeoutException as err:
            if isinstance(err, httpx.PoolTimeout):
                raise TimedOut(
                    message=(
                        "Pool timeout: All connections in the connection pool are occupied. "
                        "Request was *not* sent to Telegram. Consider adjusting the connection "
                        "pool size or the pool timeout."
                    )
                ) from err
            raise TimedOut from err
        except httpx.HTTPError as err:  # the base class of httpx's errors: last, as in PTB
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        # httpx links a response and its body stream both ways, so every response outlives its
        # request until the garbage collector's next run finds the cycle (43 objects per call):
        # the body is read and closed by now, and unlinked it is freed on the spot.
        res.stream = READ
        if RESULT_UNREAD.get() and 200 <= res.status_code <= 299:  # PTB's success range
            return res.status_code, UNREAD_OK
        return res.status_code, res.content
