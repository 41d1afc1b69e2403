"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

It speaks the real HTTP protocol PTB uses (POST /bot<token>/<method>, form or JSON bodies,
`{"ok": ..., "result": ...}` answers), keeps every message the bot sends, hands out scripted
updates through long-polling getUpdates, and can inject faults: 429 with retry_after, 403
Forbidden, 400 chat migrated, 5xx, slow answers and dropped connections.

Tests script users with `message()`, `reply()`, `press()` and `bot_added()`, then wait for
what the bot sends with `wait_for()` — polling a condition, never a bare sleep.

Three switches make it behave like Telegram under pressure (docs/RELIABILITY.md uses them):

* `strict=True` — Telegram's flood limits, counted when a request arrives: at most 30
  message-sending calls (`MESSAGE_METHODS`) in any 1-second window, and at most 20 a minute into
  one group (negative chat id). A call beyond them is answered 429 with `retry_after` (the whole
  seconds until the window has room) and counted in `too_many`; it does not take effect.
* `start_outage(kind)` / `end_outage()` / `outage(seconds, kind)` — Telegram unreachable:
  "refused" closes the listening socket, so a new connection is *refused* (and a request on a
  connection opened before is answered 502); "502" answers every call 502 Bad Gateway. Both
  prove to the client that nothing was taken.
* `slow=seconds` — every message-sending call takes effect at once (the learner sees it) but is
  answered only after `slow` seconds: longer than PTB's 5 s read timeout, the bot cannot know.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 777000111
BOT_USERNAME = "dl_tutor_test_bot"

# The calls Telegram's flood limits count: each creates or changes a message in a chat.
MESSAGE_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage",
    "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
})
OVERALL_LIMIT, OVERALL_WINDOW = 30, 1.0  # messages per bot in any second
GROUP_LIMIT, GROUP_WINDOW = 20, 60.0  # messages into one group in any minute


@dataclass
class Sent:
    """One message (or edit) the bot sent."""

    method: str
    chat_id: int
    message_id: int
    text: str
    params: dict
    at: float

    @property
    def reply_markup(self) -> dict | None:
        raw = self.params.get("reply_markup")
        return json.loads(raw) if isinstance(raw, str) else raw

    @property
    def buttons(self) -> list[str]:
        markup = self.reply_markup or {}
        return [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def reply_to(self) -> int | None:
        raw = self.params.get("reply_parameters")
        if raw:
            data = json.loads(raw) if isinstance(raw, str) else raw
            return data.get("message_id")
        return None


@dataclass
class Fault:
    """Answer `count` calls of `method` (optionally only to `chat_id`) with an error."""

    method: str
    # "429" | "403" | "migrate" | "500" | "502" | "503" | "504" | "drop" | "slow" | "400-notfound"
    # | "hang": hold the request for `delay` seconds, then close the connection without
    #   processing it (the client times out first if `delay` exceeds its read timeout)
    kind: str
    count: int = 1
    chat_id: int | None = None
    retry_after: int = 1
    new_chat_id: int | None = None
    delay: float = 0.0


@dataclass
class FakeTelegram:
    host: str = "127.0.0.1"
    port: int = 0
    token: str = "123456:TEST-token-for-the-fake-server_abcdefghij"
    updates: deque = field(default_factory=deque)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)
    callback_answers: list[dict] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    admins: dict[int, set[int]] = field(default_factory=dict)  # chat id -> admin user ids
    fault_policy: Callable[[str, dict], dict | None] | None = None
    strict: bool = False  # enforce Telegram's flood limits (module docstring)
    slow: float = 0.0  # seconds before answering a message-sending call (it takes effect at once)

    def __post_init__(self):
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.confirmed_offset = 0
        self.user_messages: dict[tuple[int, int], dict] = {}
        self.handed_out: dict[int, float] = {}  # update id -> when getUpdates returned it
        self.delivered_at: dict[int, float] = {}
        self.in_flight: Counter = Counter()  # method -> requests being handled right now
        self.body_types: Counter = Counter()  # (method, Content-Type of the request body) -> calls
        self.too_many = 0  # 429s the strict limits answered
        self.accepted_at: list[float] = []  # monotonic arrival of every message call that took effect
        self._recent: deque[float] = deque()  # strict: arrivals in the last second
        self._group_recent: dict[int, deque[float]] = {}  # strict: arrivals per group in the last minute
        self.outage_kind: str | None = None
        self.outage_calls = 0  # calls answered 502 during an outage
        self._site: web.TCPSite | None = None

    # ---------------------------------------------------------------- server lifecycle
    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        self._site = site
        return self

    async def stop(self) -> None:
        self._stopping = True  # a long poll in progress returns at once: no wait at teardown
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------------------------------------------------------------- outages
    async def start_outage(self, kind: str = "refused") -> None:
        """Telegram unreachable until `end_outage()`. "refused": stop listening, so a new
        connection is refused (a request on a connection opened before gets 502); "502": answer
        every call 502 Bad Gateway. Requests being handled when it starts still get their answer."""
        if kind not in ("refused", "502"):
            raise ValueError(f"unknown outage kind {kind!r}")
        self.outage_kind = kind
        if kind == "refused" and self._site is not None:
            await self._site.stop()
            self._site = None
            # Connections already open stay open, and a request on one is answered 502 (see
            # `_handle_counted`): closing them would race a request being written, whose fate
            # the client could not know. Either way, nothing sent during the outage is taken.

    async def end_outage(self) -> None:
        if self.outage_kind == "refused" and self._runner is not None:
            site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
            await site.start()
            self._site = site
        self.outage_kind = None

    async def outage(self, seconds: float, kind: str = "refused") -> None:
        """An outage of `seconds` (run it as a task to keep the test going meanwhile)."""
        await self.start_outage(kind)
        try:
            await asyncio.sleep(seconds)  # the length of the fault, not a wait for the bot
        finally:
            await self.end_outage()

    # ---------------------------------------------------------------- strict limits
    def _flood_wait(self, chat_id: int | None, now: float) -> float:
        """Seconds until this message fits Telegram's limits (0: it fits, and is counted)."""
        recent = self._recent
        while recent and recent[0] <= now - OVERALL_WINDOW:
            recent.popleft()
        wait = recent[0] + OVERALL_WINDOW - now if len(recent) >= OVERALL_LIMIT else 0.0
        group = None
        if chat_id is not None and chat_id < 0:
            group = self._group_recent.setdefault(chat_id, deque())
            while group and group[0] <= now - GROUP_WINDOW:
                group.popleft()
            if len(group) >= GROUP_LIMIT:
                wait = max(wait, group[0] + GROUP_WINDOW - now)
        if wait > 0:
            return wait
        recent.append(now)
        if group is not None:
            group.append(now)
        return 0.0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    # ---------------------------------------------------------------- scripting users
    def _push(self, payload: dict) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **payload})
        self._new_update.set()
        return update_id

    def push_raw(self, payload: dict, update_id: int | None = None) -> int:
        """Queue an arbitrary update (any kind); reuse `update_id` to simulate a re-delivery."""
        if update_id is None:
            return self._push(payload)
        self.updates.append({"update_id": update_id, **payload})
        self._new_update.set()
        return update_id

    @staticmethod
    def user(user_id: int, first_name: str = "Ada", username: str | None = None) -> dict:
        u = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if username:
            u["username"] = username
        return u

    @staticmethod
    def chat_of(chat_id: int, title: str = "Study group", type_: str | None = None) -> dict:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Ada"}
        return {"id": chat_id, "type": type_ or ("supergroup" if str(chat_id).startswith("-100") else "group"), "title": title}

    def _message_payload(self, user: dict, chat_id: int, text: str, reply_to: Sent | dict | None = None, **extra) -> dict:
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat_of(chat_id),
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            cmd = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        if reply_to is not None:
            msg["reply_to_message"] = self._as_message(reply_to)
        msg.update(extra)
        self.user_messages[(chat_id, msg["message_id"])] = msg
        return msg

    def message(self, user_id: int, text: str, chat_id: int | None = None, *, first_name: str = "Ada", reply_to=None, **extra) -> int:
        """A user writes `text` in a chat (their private chat by default); returns the update id."""
        payload = self._message_payload(self.user(user_id, first_name), chat_id or user_id, text, reply_to, **extra)
        return self._push({"message": payload})

    def reply(self, user_id: int, to: Sent, text: str, *, first_name: str = "Ada") -> int:
        return self.message(user_id, text, to.chat_id, first_name=first_name, reply_to=to)

    def edit(self, user_id: int, chat_id: int, message_id: int, text: str) -> int:
        payload = self._message_payload(self.user(user_id), chat_id, text)
        payload["message_id"] = message_id
        payload["edit_date"] = int(time.time())
        return self._push({"edited_message": payload})

    def press(self, user_id: int, on: Sent, data: str, *, first_name: str = "Ada") -> int:
        """A user presses an inline button with callback `data` under the bot's message `on`."""
        return self._push(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": self.user(user_id, first_name),
                    "chat_instance": "ci",
                    "message": self._as_message(on),
                    "data": data,
                }
            }
        )

    def bot_added(self, chat_id: int, by_user: int, *, title: str = "Study group") -> int:
        return self._member_change(chat_id, by_user, "left", "member", title)

    def bot_removed(self, chat_id: int, by_user: int, *, title: str = "Study group") -> int:
        return self._member_change(chat_id, by_user, "member", "left", title)

    def bot_blocked(self, user_id: int) -> int:
        return self._member_change(user_id, user_id, "member", "kicked", "")

    def _member_change(self, chat_id: int, by_user: int, old: str, new: str, title: str) -> int:
        me = {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME}
        member = lambda status: {"status": status, "user": me, **({"until_date": 0} if status == "kicked" else {})}  # noqa: E731
        return self._push(
            {
                "my_chat_member": {
                    "chat": self.chat_of(chat_id, title),
                    "from": self.user(by_user),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _as_message(self, m: Sent | dict) -> dict:
        if isinstance(m, dict):
            return m
        message = {
            "message_id": m.message_id,
            "date": int(m.at),
            "chat": self.chat_of(m.chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME},
            "text": m.text,
        }
        # Like Telegram, a message carries its inline keyboard (what a callback query's message shows).
        markup = m.reply_markup
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        # Like Telegram, a bot message that replied to a user's message carries that message.
        original = self.user_messages.get((m.chat_id, m.reply_to)) if m.reply_to else None
        if original is not None:
            message["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
        return message

    # ---------------------------------------------------------------- inspecting
    def messages_to(self, chat_id: int, method: str = "sendMessage") -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id and s.method == method]

    def last_to(self, chat_id: int) -> Sent | None:
        sent = self.messages_to(chat_id)
        return sent[-1] if sent else None

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition"):
        """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.02)

    async def next_to(self, chat_id: int, after: int = 0, timeout: float = 30.0, method: str = "sendMessage") -> Sent:
        """The first message to `chat_id` beyond the first `after` ones."""
        return await self.wait_for(
            lambda: (lambda m: m[after] if len(m) > after else None)(self.messages_to(chat_id, method)),
            timeout,
            f"message #{after + 1} to chat {chat_id}",
        )

    async def drained(self, timeout: float = 30.0) -> None:
        """Wait until the bot has fetched and confirmed every queued update."""
        await self.wait_for(lambda: not self.updates, timeout, "updates drained")

    async def processed(self, app, timeout: float = 30.0) -> None:
        """Wait until an in-process application has fetched *and finished handling* every queued
        update: confirmed by its next getUpdates (the bot stores a batch before confirming it),
        then its inbox idle (nothing pending or being handled)."""
        from bot.app import inbox_of

        await self.drained(timeout)
        await inbox_of(app).wait_idle(timeout)

    # ---------------------------------------------------------------- the API
    def _fault_for(self, method: str, params: dict) -> Fault | None:
        chat_id = _int(params.get("chat_id"))
        for fault in self.faults:
            if fault.count > 0 and fault.method == method and (fault.chat_id is None or fault.chat_id == chat_id):
                fault.count -= 1
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.in_flight[method] += 1
        try:
            return await self._handle_counted(method, request)
        finally:
            self.in_flight[method] -= 1

    async def _handle_counted(self, method: str, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if self.outage_kind is not None:  # "refused" reaches here only on a connection opened before it
            self.outage_calls += 1
            return _err(502, "Bad Gateway")
        self.body_types[method, request.content_type] += 1
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        arrived = time.monotonic()
        self.calls.append((method, params))
        policy = self.fault_policy(method, params) if self.fault_policy else None
        if policy is not None:
            if policy.get("drop"):
                _close(request)
                return web.Response(status=500)
            return web.json_response(policy, status=policy.get("error_code", 200))
        fault = self._fault_for(method, params)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "hang":
                await asyncio.sleep(fault.delay)
                _close(request)
                return web.Response(status=504)
            else:
                return self._fault_response(fault, request)
        if method in MESSAGE_METHODS:
            if self.strict and (wait := self._flood_wait(_int(params.get("chat_id")), arrived)) > 0:
                self.too_many += 1
                retry = max(1, math.ceil(wait))
                return _err(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
            self.accepted_at.append(arrived)
        handler = getattr(self, "api_" + method, None)
        response = _ok(True) if handler is None else await handler(params)
        if self.slow and method in MESSAGE_METHODS:
            await asyncio.sleep(self.slow)  # it took effect; only the answer is late
        return response

    def _fault_response(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        if fault.kind == "429":
            return _err(429, f"Too Many Requests: retry after {fault.retry_after}", {"retry_after": fault.retry_after})
        if fault.kind == "403":
            return _err(403, "Forbidden: bot was blocked by the user")
        if fault.kind == "migrate":
            return _err(400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": fault.new_chat_id})
        if fault.kind == "400-notfound":
            return _err(400, "Bad Request: chat not found")
        if fault.kind == "drop":
            _close(request)
            return web.Response(status=502)
        if fault.kind in ("502", "503", "504"):
            return _err(int(fault.kind), {"502": "Bad Gateway", "503": "Service Unavailable", "504": "Gateway Timeout"}[fault.kind])
        return _err(500, "Internal Server Error")

    async def api_getMe(self, params):
        return _ok({"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False})

    async def api_getUpdates(self, params):
        """Telegram's semantics: every update with id >= offset, until an offset confirms it."""
        offset = _int(params.get("offset")) or 0
        timeout = min(float(params.get("timeout") or 0), 2.0)
        limit = _int(params.get("limit")) or 100
        if offset:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            while self.updates and self.updates[0]["update_id"] < offset:
                self.updates.popleft()
        deadline = time.monotonic() + timeout
        while not self.updates and not self._stopping and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                pass
        batch = list(itertools.islice(self.updates, limit))
        now = time.perf_counter()
        for u in batch:
            self.handed_out.setdefault(u["update_id"], now)
        return _ok(batch)

    async def api_sendMessage(self, params):
        chat_id = _int(params["chat_id"])
        text = str(params.get("text", ""))
        message_id = next(self._message_ids)
        self.sent.append(Sent("sendMessage", chat_id, message_id, text, params, time.time()))
        result = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat_of(chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME},
            "text": text,
        }
        if "reply_markup" in params:
            markup = params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in markup:
                result["reply_markup"] = markup
        return _ok(result)

    async def api_sendPhoto(self, params):
        """A photo upload (multipart): the Sent keeps the caption as its text and the uploaded
        bytes in params["photo"]."""
        chat_id = _int(params["chat_id"])
        photo = next((v.file.read() for v in params.values() if hasattr(v, "file")), params.get("photo"))
        message_id = next(self._message_ids)
        caption = str(params.get("caption", ""))
        self.sent.append(Sent("sendPhoto", chat_id, message_id, caption, {**params, "photo": photo}, time.time()))
        size = {"file_id": f"photo{message_id}", "file_unique_id": f"p{message_id}", "width": 1, "height": 1}
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": self.chat_of(chat_id),
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME},
                    "photo": [size], "caption": caption})

    async def api_editMessageText(self, params):
        chat_id = _int(params["chat_id"])
        message_id = _int(params["message_id"])
        self.sent.append(Sent("editMessageText", chat_id, message_id, str(params.get("text", "")), params, time.time()))
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": self.chat_of(chat_id), "text": params.get("text", "")})

    async def api_editMessageReplyMarkup(self, params):
        chat_id = _int(params["chat_id"])
        message_id = _int(params["message_id"])
        self.sent.append(Sent("editMessageReplyMarkup", chat_id, message_id, "", params, time.time()))
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": self.chat_of(chat_id), "text": ""})

    async def api_answerCallbackQuery(self, params):
        self.callback_answers.append(params)
        return _ok(True)

    async def api_getChatMember(self, params):
        chat_id, user_id = _int(params["chat_id"]), _int(params["user_id"])
        status = "administrator" if user_id in self.admins.get(chat_id, set()) else "member"
        user = self.user(user_id)
        member = {"status": status, "user": user}
        if status == "administrator":
            member.update({k: True for k in (
                "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
                "can_post_stories", "can_edit_stories", "can_delete_stories")})
            member["can_be_edited"] = False
            member["is_anonymous"] = False
        return _ok(member)


def _int(value) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _close(request: web.Request) -> None:
    """Drop the connection without an answer (the client may have gone already)."""
    if request.transport is not None:
        request.transport.close()


def _ok(result) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _err(code: int, description: str, parameters: dict | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
