"""Hypothesis fuzzing of everything a user can send: every command with any argument, free text
(arbitrary Unicode, control characters, 4,096+ characters), entities pointing outside the text,
and random callback data on real and made-up messages — in private chats and in groups, from
users and groups with arbitrary names.

The real application runs in-process against the fake Bot API server. After every example:
- no handler raised (nothing reached PTB's error handling: no ERROR log record at all);
- every message the bot sent or edited is one Telegram accepts: 1–4,096 characters after entity
  parsing (counted in UTF-16 code units, as Telegram does), and when sent as HTML, valid Telegram
  HTML — only its tags, properly nested, every <, > and & escaped;
- every alert (answerCallbackQuery) is at most 200 characters;
- what was stored is exactly what was received (names, usernames, language, group titles).

Each example's actions are handled one after another. (The bot itself handles one learner's
updates in order and different learners concurrently; the race that ordering removed, a Next
press against a /forget, is tested in tests/test_ordering.py.)

Example counts are modest (40 per test) so the suite stays fast; `FUZZ_EXAMPLES=1000 uv run
pytest tests/test_fuzz_input.py` hunts harder.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from html import unescape
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.ext import CommandHandler

from bot.context import services_of
from storage import Store
from tests.fake_telegram import BOT_ID, BOT_USERNAME

FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------- Telegram's rules for what the bot sends

TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler", "span",
        "blockquote", "tg-emoji"}
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class _TelegramHTML(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}> is not Telegram HTML")
        if tag == "a" and not attrs.get("href"):
            self.problems.append("<a> without href")
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            self.problems.append("<span> that is not a spoiler")
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.visible.append(data)

    def handle_entityref(self, name):
        self.visible.append(unescape(f"&{name};"))

    def handle_charref(self, name):
        self.visible.append(unescape(f"&#{name};"))

    def handle_comment(self, data):
        self.problems.append("comment")

    def handle_decl(self, decl):
        self.problems.append("declaration")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def telegram_problems(text: str, parse_mode: str | None) -> list[str]:
    """Why Telegram would reject this message text ([] when it is fine)."""
    if parse_mode is None:
        visible, problems = text, []
    else:
        assert parse_mode == "HTML", parse_mode
        stray = _ENTITY.sub("", _TAG.sub("", text))
        problems = [f"unescaped {c!r}" for c in "<>&" if c in stray]
        parser = _TelegramHTML()
        parser.feed(text)
        parser.close()
        problems += parser.problems + [f"<{t}> never closed" for t in parser.stack]
        visible = "".join(parser.visible)
    if not visible.strip():
        problems.append("empty message")
    if utf16_len(visible) > 4096:
        problems.append(f"{utf16_len(visible)} characters, over Telegram's 4,096")
    return problems


def test_the_html_checker_itself():
    assert telegram_problems("<b>ok</b> &lt;3 &amp; <a href=\"x\">l</a> <code>c</code>", "HTML") == []
    assert telegram_problems("<b>nested <i>fine</i></b>", "HTML") == []
    assert telegram_problems("1 < 2", "HTML") == ["unescaped '<'"]
    assert telegram_problems("AT&T", "HTML") == ["unescaped '&'"]
    assert telegram_problems("<b><i>x</b></i>", "HTML") != []
    assert telegram_problems("<div>x</div>", "HTML") != []
    assert telegram_problems("<b>open", "HTML") == ["<b> never closed"]
    assert telegram_problems("x" * 4097, None) != [] and telegram_problems("😀" * 2049, None) != []
    assert telegram_problems("   ", None) == ["empty message"]


# ---------------------------------------------------------------- strategies

ANY_CHAR = st.characters(exclude_categories=("Cs",))  # every code point JSON can carry (no lone surrogates)
CONTROL = st.characters(min_codepoint=0, max_codepoint=31)
SHORT_TEXT = st.text(st.one_of(ANY_CHAR, CONTROL), max_size=80)
LONG_TEXT = st.builds(lambda piece, n: (piece * (n // max(len(piece), 1) + 1))[:n], st.text(ANY_CHAR, min_size=1, max_size=12),
                      st.integers(4090, 4200))
TEXT = st.one_of(SHORT_TEXT, SHORT_TEXT, st.text(st.one_of(ANY_CHAR, CONTROL), max_size=600), LONG_TEXT)
NAME = st.text(st.one_of(ANY_CHAR, CONTROL), min_size=1, max_size=64)
ENTITY_TYPES = ["mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold", "italic",
                "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote", "code", "pre",
                "text_link", "text_mention", "custom_emoji"]


@st.composite
def entity(draw):
    kind = draw(st.sampled_from(ENTITY_TYPES))
    out = {"type": kind, "offset": draw(st.integers(0, 5000)), "length": draw(st.integers(0, 5000))}
    if kind == "text_link":
        out["url"] = draw(st.sampled_from(["https://example.org/", "tg://user?id=1", "javascript:alert(1)"]))
    if kind == "text_mention":
        out["user"] = {"id": 1, "is_bot": False, "first_name": draw(NAME)}
    if kind == "pre":
        out["language"] = draw(SHORT_TEXT)
    if kind == "custom_emoji":
        out["custom_emoji_id"] = "5368324170671202286"
    return out


ENTITIES = st.lists(entity(), max_size=4)
CALLBACK_DATA = st.one_of(
    st.text(ANY_CHAR, max_size=64),
    st.builds(lambda p, s: p + s, st.sampled_from(["q:", "f:", "r:", "ask:", "d:", "c:", "i:", ""]), st.text(ANY_CHAR, max_size=40)),
    st.sampled_from(["q:hint", "q:show", "q:next", "q:skip", "f:yes", "f:no", "r:dropout-mini", "ask:rnn-mini", "d:1000",
                     "d:", "c:grade", "c:not", "i:stop"]),
)
ARGUMENT = st.one_of(
    TEXT,
    st.sampled_from(["08:30", "25:00", "Europe/Berlin", "+05:30", "-12", "UTC+14", "advanced", "all", "on", "off", "4",
                     "next", "stop", "dropout", "rnn", "9" * 30, "-1", "0", "23"]),
)

# ---------------------------------------------------------------- the bot under fuzz

_ids = itertools.count(1)


@pytest.fixture
async def fuzz_bot(tg, run_bot, caplog):
    caplog.set_level(logging.INFO)
    app = await run_bot()
    commands = sorted({c for handlers in app.handlers.values() for h in handlers if isinstance(h, CommandHandler) for c in h.commands})
    return app, commands


class Actor:
    """One fuzz example's user, with their own private chat and their own group."""

    def __init__(self, tg, first_name: str, username: str | None, language: str | None, title: str, admin: bool):
        n = next(_ids)
        self.tg = tg
        self.user = {"id": 10**9 + n, "is_bot": False, "first_name": first_name}
        if username is not None:
            self.user["username"] = username
        if language is not None:
            self.user["language_code"] = language
        self.private = {"id": self.user["id"], "type": "private", "first_name": first_name}
        self.group = {"id": -(10**9 + n), "type": "supergroup" if n % 2 else "group", "title": title}
        if admin:
            tg.admins[self.group["id"]] = {self.user["id"]}

    def chat(self, in_group: bool) -> dict:
        return self.group if in_group else self.private

    def send(self, text: str, in_group: bool, entities: list | None = None, reply_to: dict | None = None) -> dict:
        msg = {"message_id": next(self.tg._message_ids), "date": int(time.time()), "chat": self.chat(in_group),  # noqa: SLF001
               "from": self.user, "text": text}
        if entities:
            msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        self.tg.push_raw({"message": msg})
        self.tg.user_messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def command(self, name: str, argument: str, in_group: bool, extra: list, mention: bool) -> None:
        head = f"/{name}@{BOT_USERNAME}" if mention else f"/{name}"
        text = f"{head} {argument}" if argument else head
        self.send(text, in_group, [{"type": "bot_command", "offset": 0, "length": len(head)}, *extra])

    def press(self, data: str, on: dict) -> None:
        self.tg.push_raw({"callback_query": {"id": str(next(self.tg._message_ids)), "from": self.user,  # noqa: SLF001
                                             "chat_instance": "fuzz", "message": on, "data": data}})

    def bot_message(self, in_group: bool, text: str, entities: list) -> dict:
        """The last message the bot sent to this chat (as Telegram attaches it), else a made-up one."""
        chat = self.chat(in_group)
        sent = self.tg.messages_to(chat["id"])
        if sent:
            return self.tg._as_message(sent[-1]) | {"chat": chat}  # noqa: SLF001
        message = {"message_id": next(self.tg._message_ids), "date": int(time.time()), "chat": chat,  # noqa: SLF001
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME}, "text": text}
        if entities:
            message["entities"] = entities
        return message


async def check_example(tg, app, caplog, actor: Actor, sent_before: int, answers_before: int) -> None:
    await tg.processed(app, timeout=60)
    for message in tg.sent[sent_before:]:
        if message.method in ("sendMessage", "editMessageText"):
            problems = telegram_problems(message.text, message.params.get("parse_mode"))
            assert problems == [], (problems, message.text[:300])
    for answer in tg.callback_answers[answers_before:]:
        assert len(answer.get("text") or "") <= 200, answer
    crashed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert crashed == [], [(r.name, r.getMessage()) for r in crashed]
    store = services_of(app).store
    user = await store.read(Store.get_user, actor.user["id"])
    if user is not None:  # stored exactly as received
        assert user.first_name == actor.user["first_name"]
        assert user.username == actor.user.get("username")
        if "language_code" in actor.user:
            assert user.language == actor.user["language_code"]
    group = await store.read(Store.get_chat, actor.group["id"])
    if group is not None:
        assert group.title == actor.group["title"]


def make_actor(tg, data) -> Actor:
    return Actor(
        tg,
        data.draw(NAME, "first_name"),
        data.draw(st.none() | NAME, "username"),
        data.draw(st.none() | st.text(ANY_CHAR, max_size=8), "language"),
        data.draw(NAME, "group title"),
        data.draw(st.booleans(), "admin"),
    )


# ---------------------------------------------------------------- the fuzz tests


@FUZZ
@given(data=st.data())
async def test_fuzz_every_command_parser(tg, fuzz_bot, caplog, data):
    app, commands = fuzz_bot
    sent_before, answers_before = len(tg.sent), len(tg.callback_answers)
    caplog.clear()
    actor = make_actor(tg, data)
    if data.draw(st.booleans(), "registered"):
        actor.command("start", "", False, [], False)
    for _ in range(data.draw(st.integers(1, 3), "commands")):
        await tg.processed(app, timeout=60)  # one at a time (see the module docstring)
        actor.command(
            data.draw(st.sampled_from(commands), "command"),
            data.draw(ARGUMENT, "argument"),
            data.draw(st.booleans(), "in group"),
            data.draw(ENTITIES, "more entities"),
            data.draw(st.booleans(), "@bot"),
        )
    await check_example(tg, app, caplog, actor, sent_before, answers_before)


@FUZZ
@given(data=st.data())
async def test_fuzz_the_message_handler(tg, fuzz_bot, caplog, data):
    app, _ = fuzz_bot
    sent_before, answers_before = len(tg.sent), len(tg.callback_answers)
    caplog.clear()
    actor = make_actor(tg, data)
    in_group = data.draw(st.booleans(), "in group")
    if data.draw(st.booleans(), "has a question"):
        actor.command("start", "", False, [], False)
        actor.command("quiz", "", in_group, [], False)
        await tg.processed(app, timeout=60)
    for _ in range(data.draw(st.integers(1, 3), "messages")):
        text = data.draw(TEXT, "text")
        if not text:
            continue  # Telegram never delivers an empty text message
        reply = data.draw(st.booleans(), "as a reply")
        await tg.processed(app, timeout=60)
        target = actor.bot_message(in_group, data.draw(SHORT_TEXT, "made-up text") or "?", data.draw(ENTITIES, "its entities"))
        actor.send(text, in_group, data.draw(ENTITIES, "entities"), target if reply else None)
    await check_example(tg, app, caplog, actor, sent_before, answers_before)


@FUZZ
@given(data=st.data())
async def test_fuzz_callback_data(tg, fuzz_bot, caplog, data):
    app, _ = fuzz_bot
    sent_before, answers_before = len(tg.sent), len(tg.callback_answers)
    caplog.clear()
    actor = make_actor(tg, data)
    in_group = data.draw(st.booleans(), "in group")
    if data.draw(st.booleans(), "registered"):
        actor.command("start", "", False, [], False)
    if data.draw(st.booleans(), "has a question"):
        actor.command("quiz", "", in_group, [], False)
    await tg.processed(app, timeout=60)
    for _ in range(data.draw(st.integers(1, 4), "presses")):
        await tg.processed(app, timeout=60)
        on = actor.bot_message(in_group, data.draw(SHORT_TEXT, "made-up text") or "?", data.draw(ENTITIES, "its entities"))
        actor.press(data.draw(CALLBACK_DATA, "data"), on)
    await check_example(tg, app, caplog, actor, sent_before, answers_before)
