"""bot/http.py: every Bot API call leaves as a JSON body, with PTB's timeouts and errors.

The unit tests run PTB's real request pipeline over httpx.MockTransport and read the request
httpx actually built; the last test checks the running bot against the fake Bot API server.
"""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TelegramError, TimedOut

from bot.http import JSONRequest
from tests.learners import right_answer_for, start

TOKEN = "123:json"


def message_result(params: dict) -> dict:
    return {"message_id": 7, "date": 0, "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params.get("text", "")}


class Recorder:
    """Answers like Telegram and keeps each httpx.Request it was sent."""

    def __init__(self, fail: Exception | None = None):
        self.requests: list[httpx.Request] = []
        self.fail = fail

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        method = request.url.path.rsplit("/", 1)[1]
        if method == "getMe":
            return httpx.Response(200, json={"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "T"}})
        if request.headers["content-type"] == "application/json":
            params = json.loads(request.content)
        else:
            params = {"chat_id": 1}  # multipart: the test reads the raw body itself
        return httpx.Response(200, json={"ok": True, "result": message_result(params)})


async def bot_with(recorder: Recorder, **request_kwargs) -> Bot:
    request = JSONRequest(httpx_kwargs={"transport": httpx.MockTransport(recorder)}, **request_kwargs)
    bot = Bot(TOKEN, request=request, get_updates_request=JSONRequest())
    await request.initialize()
    return bot


async def test_a_call_is_one_json_body_with_unicode_markup_and_nested_objects_intact():
    recorder = Recorder()
    bot = await bot_with(recorder)
    text = "<b>✅ Correct</b> — «dropout» & 🧠 " + "x" * 4000
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("🙋 I think I was right", callback_data="d:42")]])
    sent = await bot.send_message(99, text, parse_mode="HTML", reply_markup=markup)
    assert sent.message_id == 7 and sent.text == text  # PTB parsed Telegram's answer as usual
    request = recorder.requests[-1]
    assert request.method == "POST" and request.url.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("python-telegram-bot")
    body = json.loads(request.content)
    assert body["chat_id"] == 99 and body["text"] == text and body["parse_mode"] == "HTML"
    assert body["reply_markup"] == markup.to_dict()
    assert "✅".encode() in request.content  # UTF-8, not \u escapes: fewer bytes on the wire


async def test_timeouts_default_to_the_clients_and_explicit_ones_win():
    recorder = Recorder()
    bot = await bot_with(recorder, read_timeout=7.0, write_timeout=8.0, connect_timeout=9.0, pool_timeout=3.0)
    await bot.send_message(1, "hi")
    assert recorder.requests[-1].extensions["timeout"] == {"connect": 9.0, "read": 7.0, "write": 8.0, "pool": 3.0}
    await bot.send_message(1, "hi", read_timeout=1.5, write_timeout=None, connect_timeout=2.5, pool_timeout=0.5)
    assert recorder.requests[-1].extensions["timeout"] == {"connect": 2.5, "read": 1.5, "write": None, "pool": 0.5}


@pytest.mark.parametrize(
    ("failure", "raised", "says"),
    [
        (httpx.ReadTimeout("slow"), TimedOut, "Timed out"),
        (httpx.PoolTimeout("full"), TimedOut, "Pool timeout"),
        (httpx.ConnectError("refused"), NetworkError, "httpx.ConnectError: refused"),
        (httpx.RemoteProtocolError("dropped"), NetworkError, "httpx.RemoteProtocolError: dropped"),
    ],
)
async def test_httpx_failures_become_ptbs_errors(failure, raised, says):
    """bot/sending.py retries NetworkError and TimedOut: the mapping must be PTB's own."""
    bot = await bot_with(Recorder(fail=failure))
    with pytest.raises(raised) as caught:
        await bot.send_message(1, "hi")
    assert says in str(caught.value)
    assert TOKEN not in str(caught.value)


async def test_uploads_still_go_as_multipart_through_ptbs_own_code():
    recorder = Recorder()
    bot = await bot_with(recorder)
    await bot.send_document(5, io.BytesIO(b"col1,col2\n"), filename="history.csv")
    request = recorder.requests[-1]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b"history.csv" in request.content and b"col1,col2" in request.content


async def test_the_running_bot_speaks_json_to_the_bot_api(tg, run_bot):
    await run_bot()
    await start(tg, 5150)
    tg.message(5150, "/quiz")
    question = await tg.next_to(5150, 1)
    tg.message(5150, right_answer_for(question.text))
    verdict = await tg.next_to(5150, 2)
    assert "Correct" in verdict.text
    methods = {method for method, _ in tg.body_types}
    assert {"getUpdates", "sendMessage", "setMyCommands"} <= methods
    assert {ctype for _, ctype in tg.body_types} == {"application/json"}, tg.body_types


async def test_a_calls_response_is_freed_at_once_not_left_for_the_garbage_collector():
    """httpx links a response and its stream both ways; JSONRequest unlinks them once the body
    is read, so no call leaves a reference cycle behind (43 objects each, docs/BENCHMARKS.md)."""
    import gc

    bot = await bot_with(Recorder())
    await bot.send_message(1, "warm-up")  # the connection, lazily built state
    gc.collect()
    gc.disable()  # what a call leaves behind stays visible until the check
    try:
        for n in range(20):
            await bot.send_message(1, f"hello {n}")
        left = [o for o in gc.get_objects() if isinstance(o, httpx.Response)]
    finally:
        gc.enable()
    assert left == []


# ------------------------------------------------------------------ bot/tutor_bot.py: unread sends
async def tutor_bot_with(recorder: Recorder):
    from telegram import LinkPreviewOptions
    from telegram.ext import Defaults

    from bot.tutor_bot import TutorBot
    from bot.updates import TolerantUpdatesRequest

    request = JSONRequest(httpx_kwargs={"transport": httpx.MockTransport(recorder)})
    bot = TutorBot(TOKEN, request=request, get_updates_request=TolerantUpdatesRequest(),
                   defaults=Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
    await request.initialize()
    return bot


async def test_an_unread_send_is_the_same_request_as_send_message():
    """Verdicts skip parsing Telegram's answer; what goes to Telegram must not change."""
    from telegram import ReplyParameters

    recorder = Recorder()
    bot = await tutor_bot_with(recorder)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("🙋 I think I was right", callback_data="d:42")]])
    kwargs = {"parse_mode": "HTML", "reply_markup": markup,
              "reply_parameters": ReplyParameters(message_id=41, allow_sending_without_reply=True)}
    sent = await bot.send_message(99, "<b>✅ Correct</b>", **kwargs)
    assert await bot.send_message_unread(99, "<b>✅ Correct</b>", **kwargs) is None
    read, unread = (json.loads(r.content) for r in recorder.requests[-2:])
    assert unread == read
    assert read["link_preview_options"] == {"is_disabled": True}  # the bot's Defaults, both ways
    assert sent.message_id == 7


async def test_verdict_keyboards_as_bot_api_json_are_the_same_request_as_ptbs_objects():
    """Verdicts pass their keyboard and reply reference as JSON (bot/sending.py, no PTB objects
    built and serialised again); Telegram must get exactly what send_message would send."""
    from telegram import ReplyParameters

    from bot.sending import inline_keyboard, reply_to

    recorder = Recorder()
    bot = await tutor_bot_with(recorder)
    long_data = "r:" + "q" * 80  # callback_data is capped at Telegram's 64 bytes either way
    objects = {
        "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("📖 Model answer", callback_data=long_data[:64])],
                                              [InlineKeyboardButton("🙋 I think I was right", callback_data="d:42")]]),
        "reply_parameters": ReplyParameters(message_id=41, allow_sending_without_reply=True),
    }
    as_json = {"reply_markup": inline_keyboard([("📖 Model answer", long_data)], [("🙋 I think I was right", "d:42")]),
               "reply_parameters": reply_to(41)}
    await bot.send_message_unread(99, "<b>✅ Correct</b>", parse_mode="HTML", **objects)
    await bot.send_message_unread(99, "<b>✅ Correct</b>", parse_mode="HTML", **as_json)
    from_objects, from_json = (json.loads(r.content) for r in recorder.requests[-2:])
    assert from_json == from_objects
    assert len(from_json["reply_markup"]["inline_keyboard"][0][0]["callback_data"].encode()) == 64
    await bot.send_message_unread(99, "no preview", link_preview_options={"is_disabled": False})
    assert json.loads(recorder.requests[-1].content)["link_preview_options"] == {"is_disabled": False}  # caller's wins


async def test_an_unread_send_skips_parsing_only_its_own_answer():
    """Telegram's echo of a verdict is not parsed (bot/http.py, RESULT_UNREAD): an answer PTB could
    not even read passes. A send_message from another task meanwhile, or from the same task
    after it, is parsed into its Message as ever."""
    arrived, release = asyncio.Event(), asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        params = json.loads(request.content)
        if params["text"] == "verdict":
            arrived.set()
            await release.wait()
            return httpx.Response(200, content=b"{not JSON: PTB raises on this when it parses it")
        return httpx.Response(200, json={"ok": True, "result": message_result(params)})

    bot = await tutor_bot_with(answer)
    unread = asyncio.create_task(bot.send_message_unread(5, "verdict"))
    await asyncio.wait_for(arrived.wait(), 10)
    during = await bot.send_message(5, "during")
    release.set()
    assert await asyncio.wait_for(unread, 10) is None
    after = await bot.send_message(5, "after")
    assert (during.text, after.text) == ("during", "after")
    with pytest.raises(TelegramError, match="Invalid server response"):  # the same answer, read: an error
        release.clear()
        arrived.clear()
        task = asyncio.create_task(bot.send_message(5, "verdict"))
        await asyncio.wait_for(arrived.wait(), 10)
        release.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize(
    ("status", "answer", "raised"),
    [
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, "Forbidden"),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
               "parameters": {"retry_after": 3}}, "RetryAfter"),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
               "parameters": {"migrate_to_chat_id": -1001}}, "ChatMigrated"),
    ],
)
async def test_an_unread_send_raises_telegrams_errors_like_send_message(status, answer, raised):
    """bot/sending.py's retries and the blocked/migrated handling depend on these exceptions."""
    bot = await tutor_bot_with(lambda request: httpx.Response(status, json=answer))
    with pytest.raises(Exception) as caught:
        await bot.send_message_unread(1, "hi")
    assert type(caught.value).__name__ == raised
