"""Handler tests without a port: PTB's real request serialisation over httpx.MockTransport.

Each test hands raw updates to the application's durable inbox (as getUpdates or a webhook
would) and reads what the bot would have sent to Telegram — fast and exact, for the parsing and
formatting edge cases.
"""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qs

import httpx
import pytest
from telegram.request import HTTPXRequest

import bot.app
from bot import texts
from bot.app import build_application, inbox_of, start_app, stop_app
from bot.config import Config

USER = 3030


class FakeApi:
    """A synchronous stand-in for the Bot API: records calls, answers like Telegram."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.next_id = 500
        self.refuse: dict[str, int] = {}  # method -> how many calls to answer 400 "chat not found"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[1]
        ctype = request.headers.get("content-type", "")
        if "json" in ctype:
            params = json.loads(request.content or b"{}")
        else:
            params = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.calls.append((method, params))
        if self.refuse.get(method):
            self.refuse[method] -= 1
            return httpx.Response(400, json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
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
async def app(tmp_path, bank, clock, monkeypatch):
    api = FakeApi()

    def in_process(connection_pool_size: int) -> HTTPXRequest:
        """`build_application` as it is, with every Bot API call going to `api` in-process."""
        return HTTPXRequest(connection_pool_size, httpx_kwargs={"transport": httpx.MockTransport(api)})

    monkeypatch.setattr(bot.app, "telegram_request", in_process)
    config = Config(token="1:mock", db_path=str(tmp_path / "t.db"), max_messages_per_second=0, tick_seconds=3600)
    application = build_application(config, bank=bank, clock=clock, rng=random.Random(1))
    await start_app(application, poll=False)
    application.api = api
    yield application
    await stop_app(application)


update_ids = iter(range(1, 10_000))


def message(text: str, **extra) -> dict:
    msg = {"message_id": next(update_ids), "date": 0, "chat": {"id": USER, "type": "private"},
           "from": {"id": USER, "is_bot": False, "first_name": "Ada"}, "text": text}
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    msg.update(extra)
    return {"update_id": next(update_ids), "message": msg}


async def feed(app, payload: dict) -> list[str]:
    """Hand one raw update to the inbox and wait until it is handled; what the bot sent."""
    before = len(app.api.sent())
    await inbox_of(app).accept([payload])
    await inbox_of(app).wait_idle()
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


def edited(payload: dict) -> dict:
    payload["edited_message"] = payload.pop("message")
    return payload


async def test_an_edit_before_grading_is_taken_as_the_answer(app):
    await feed(app, message("/start"))
    await feed(app, message("/quiz"))
    (reply,) = await feed(app, edited(message("it randomly zeroes units during training so they cannot co-adapt")))
    assert "Model answer" in reply  # graded, as the final text


async def test_an_edit_after_grading_is_not_graded_again(app):
    await feed(app, message("/start"))
    await feed(app, message("/quiz"))
    answer = message("it randomly zeroes units during training so they cannot co-adapt")
    await feed(app, answer)
    better = dict(answer, update_id=next(update_ids))
    better["message"] = dict(answer["message"], text="hidden state, same weights, vanishing gradients, LSTM")
    assert await feed(app, edited(better)) == [texts.EDIT_NOT_REGRADED]


async def test_the_same_update_twice_is_handled_once(app):
    """The inbox's dedupe: getUpdates is at-least-once, a re-delivered id is dropped."""
    await feed(app, message("/start"))
    payload = message("/streak")
    assert len(await feed(app, payload)) == 1
    assert await feed(app, payload) == []


async def test_a_bad_request_is_not_retried(app):
    """The retry policy (bot/sending.py): a 400 proves Telegram refused the message; sending it
    again cannot help. (PTB's BadRequest is a NetworkError subclass: it must not count as one
    of the "not taken, try again" errors.)"""
    await feed(app, message("/start"))
    app.api.refuse["sendMessage"] = 1
    before = sum(m == "sendMessage" for m, _ in app.api.calls)
    await feed(app, message("/help"))
    sends = [p["text"] for m, p in app.api.calls if m == "sendMessage"][before:]
    assert len(sends) == 2 and sends[1] == texts.SORRY  # the refused reply once, then the apology
