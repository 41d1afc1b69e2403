"""Handler tests without a port: PTB's real request serialisation over httpx.MockTransport.

Each test feeds one Update to `application.process_update` and reads what the bot would
have sent to Telegram — fast and exact, for the parsing and formatting edge cases.
"""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qs

import httpx
import pytest
from telegram import Update
from telegram.request import HTTPXRequest

from bot.app import build_application, post_init, post_shutdown
from bot.config import Config

USER = 3030


class FakeApi:
    """A synchronous stand-in for the Bot API: records calls, answers like Telegram."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.next_id = 500

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[1]
        ctype = request.headers.get("content-type", "")
        if "json" in ctype:
            params = json.loads(request.content or b"{}")
        else:
            params = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.calls.append((method, params))
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Tutor", "username": "tutor_bot"}
        elif method in ("sendMessage", "editMessageText"):
            self.next_id += 1
            result = {"message_id": self.next_id, "date": 0, "chat": {"id": int(params["chat_id"]), "type": "private"},
                      "text": params.get("text", "")}
        else:
            result = True
        return httpx.Response(200, json={"ok": True, "result": result})

    def sent(self) -> list[str]:
        return [p["text"] for m, p in self.calls if m == "sendMessage"]


@pytest.fixture
async def app(tmp_path, bank, clock):
    api = FakeApi()
    config = Config(token="1:mock", db_path=str(tmp_path / "t.db"), max_messages_per_second=0)
    request = HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(api)})
    application = build_application(config, bank=bank, clock=clock, rng=random.Random(1), request=request)
    await application.initialize()
    await post_init(application)
    application.api = api
    yield application
    await post_shutdown(application)
    await application.shutdown()


update_ids = iter(range(1, 10_000))


def message(text: str, **extra) -> dict:
    msg = {"message_id": next(update_ids), "date": 0, "chat": {"id": USER, "type": "private"},
           "from": {"id": USER, "is_bot": False, "first_name": "Ada"}, "text": text}
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    msg.update(extra)
    return {"update_id": next(update_ids), "message": msg}


async def feed(app, payload: dict) -> list[str]:
    before = len(app.api.sent())
    await app.process_update(Update.de_json(payload, app.bot))
    return app.api.sent()[before:]


async def test_start_then_a_4096_character_answer(app):
    await feed(app, message("/start"))
    await feed(app, message("/quiz"))
    (reply,) = await feed(app, message("randomly drops neurons " * 200))
    assert len(reply) <= 4096
    assert "Model answer" in reply


async def test_markup_in_an_answer_is_escaped(app):
    await feed(app, message("/start"))
    await feed(app, message("/quiz"))
    (reply,) = await feed(app, message("<b>hidden state</b> & <script>x</script>"))
    assert "<script>" not in reply


async def test_unknown_command_and_command_for_another_bot(app):
    assert "don't know that command" in (await feed(app, message("/frobnicate")))[0]
    # A command addressed to another bot is not ours to run: at most the "unknown command" pointer.
    replies = await feed(app, message("/quiz@OtherBot"))
    assert all("Question" not in r for r in replies) and len(replies) <= 1


async def test_ask_with_emoji_and_rtl(app):
    (reply,) = await feed(app, message("/ask 🙂 שלום"))
    assert "Closest topics" in reply


async def test_settime_with_garbage_gets_an_example(app):
    await feed(app, message("/start"))
    (reply,) = await feed(app, message("/settime <b>noon</b>"))
    assert "HH:MM" in reply and "<b>noon" not in reply


async def test_edited_message_is_not_graded_again(app):
    await feed(app, message("/start"))
    await feed(app, message("/quiz"))
    payload = message("hidden state")
    payload["edited_message"] = payload.pop("message")
    assert await feed(app, payload) == []


async def test_the_same_update_twice_is_handled_once(app):
    await feed(app, message("/start"))
    payload = message("/streak")
    assert len(await feed(app, payload)) == 1
    assert await feed(app, payload) == []
