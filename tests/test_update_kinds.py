"""Every kind of update the bot may receive is ignored or handled, and never crashes it.

The bot asks Telegram only for messages, edited messages, button presses and its own membership
(ALLOWED_UPDATES), but a webhook set up by another tool, a future Bot API or a business
connection can deliver anything. Each kind below goes through the real application in-process;
afterwards no handler has raised, nothing was sent that should not have been, and the bot still
answers. Payloads follow the Bot API's shapes (required fields only, plus what matters).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from bot import texts
from tests.fake_telegram import BOT_ID, BOT_USERNAME

USER, OTHER = 9191, 9292
GROUP, CHANNEL = -9001, -1009002
ANONYMOUS_ADMIN = 1087968824  # Telegram's @GroupAnonymousBot: the "from" of an anonymous admin
CHANNEL_BOT = 136817688  # @Channel_Bot: the "from" of a message a linked channel posts in a group
NOW = int(time.time())

RIGHT = {
    "dropout": "Dropout is regularisation: during training it randomly drops neurons so they cannot co-adapt, "
    "it reduces overfitting, the kept activations are rescaled and it is switched off at inference.",
    "rnn": "RNNs read sequences step by step with a hidden state, the same weights at every step; vanishing gradients led to LSTM.",
}


def user(uid: int = USER, **extra) -> dict:
    return {"id": uid, "is_bot": False, "first_name": "Ada", **extra}


def chat(cid: int) -> dict:
    if cid > 0:
        return {"id": cid, "type": "private", "first_name": "Ada"}
    if cid == CHANNEL:
        return {"id": cid, "type": "channel", "title": "DL news"}
    return {"id": cid, "type": "supergroup", "title": "Study group"}


def message(cid: int, text: str | None = "hello", *, sender: dict | None = None, mid: int = 50_000, **extra) -> dict:
    m = {"message_id": mid, "date": NOW, "chat": chat(cid)}
    if sender is not None:
        m["from"] = sender
    if text is not None:
        m["text"] = text
    if text and text.startswith("/"):
        m["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return m | extra


BOT = {"id": BOT_ID, "is_bot": True, "first_name": "Tutor", "username": BOT_USERNAME}
BOOST_SOURCE = {"source": "premium", "user": user()}
MEMBER = {"status": "member", "user": user(OTHER)}
LEFT = {"status": "left", "user": user(OTHER)}

KINDS: dict[str, dict] = {
    "channel post": {"channel_post": message(CHANNEL, "/start", sender_chat=chat(CHANNEL))},
    "channel post, no text": {"channel_post": message(CHANNEL, None, sender_chat=chat(CHANNEL),
                                                       photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}])},
    "edited channel post": {"edited_channel_post": message(CHANNEL, "/quiz", sender_chat=chat(CHANNEL), edit_date=NOW)},
    "chat join request": {"chat_join_request": {"chat": chat(GROUP), "from": user(OTHER), "user_chat_id": OTHER, "date": NOW}},
    "poll": {"poll": {"id": "p1", "question": "Best optimiser?", "options": [{"text": "Adam", "voter_count": 1, "persistent_id": "o1"}],
                      "total_voter_count": 1, "is_closed": False, "is_anonymous": True, "type": "regular",
                      "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}},
    "poll answer": {"poll_answer": {"poll_id": "p1", "user": user(), "option_ids": [0], "option_persistent_ids": ["o1"]}},
    "poll answer, anonymous admin": {"poll_answer": {"poll_id": "p1", "voter_chat": chat(GROUP), "option_ids": [0], "option_persistent_ids": ["o1"]}},
    "business connection": {"business_connection": {"id": "bc1", "user": user(), "user_chat_id": USER, "date": NOW,
                                                     "is_enabled": True}},
    "business message": {"business_message": message(OTHER, "/start", sender=user(OTHER), business_connection_id="bc1")},
    "edited business message": {"edited_business_message": message(OTHER, "hi", sender=user(OTHER), edit_date=NOW,
                                                                   business_connection_id="bc1")},
    "deleted business messages": {"deleted_business_messages": {"business_connection_id": "bc1", "chat": chat(OTHER),
                                                                 "message_ids": [1, 2]}},
    "message reaction": {"message_reaction": {"chat": chat(GROUP), "message_id": 1, "date": NOW, "user": user(),
                                              "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
    "anonymous reaction count": {"message_reaction_count": {"chat": chat(GROUP), "message_id": 1, "date": NOW,
                                                            "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 2}]}},
    "chat member joined": {"chat_member": {"chat": chat(GROUP), "from": user(OTHER), "date": NOW,
                                           "old_chat_member": LEFT, "new_chat_member": MEMBER}},
    "bot added to a channel": {"my_chat_member": {"chat": chat(CHANNEL), "from": user(), "date": NOW,
                                                  "old_chat_member": {"status": "left", "user": BOT},
                                                  "new_chat_member": {"status": "member", "user": BOT}}},
    "chat boost": {"chat_boost": {"chat": chat(CHANNEL), "boost": {"boost_id": "b1", "add_date": NOW,
                                                                   "expiration_date": NOW + 86400, "source": BOOST_SOURCE}}},
    "removed chat boost": {"removed_chat_boost": {"chat": chat(CHANNEL), "boost_id": "b1", "remove_date": NOW,
                                                  "source": BOOST_SOURCE}},
    "inline query": {"inline_query": {"id": "iq1", "from": user(), "query": "dropout", "offset": ""}},
    "chosen inline result": {"chosen_inline_result": {"result_id": "r1", "from": user(), "query": "dropout"}},
    "shipping query": {"shipping_query": {"id": "sq1", "from": user(), "invoice_payload": "x", "shipping_address": {
        "country_code": "DE", "state": "", "city": "Berlin", "street_line1": "A", "street_line2": "", "post_code": "1"}}},
    "pre-checkout query": {"pre_checkout_query": {"id": "pc1", "from": user(), "currency": "XTR", "total_amount": 1,
                                                  "invoice_payload": "x"}},
    "purchased paid media": {"purchased_paid_media": {"from": user(), "paid_media_payload": "x"}},
    "inline-message button press": {"callback_query": {"id": "cq1", "from": user(), "chat_instance": "c",
                                                       "inline_message_id": "im1", "data": "q:show"}},
    "inline-message forget press": {"callback_query": {"id": "cq2", "from": user(), "chat_instance": "c",
                                                       "inline_message_id": "im1", "data": "f:yes"}},
    "inline-message model-answer press": {"callback_query": {"id": "cq3", "from": user(), "chat_instance": "c",
                                                             "inline_message_id": "im1", "data": "r:dropout-mini"}},
    "inline-message dispute press": {"callback_query": {"id": "cq4", "from": user(), "chat_instance": "c",
                                                        "inline_message_id": "im1", "data": "d:1000"}},
    "game button press": {"callback_query": {"id": "cq5", "from": user(), "chat_instance": "c", "game_short_name": "g",
                                             "message": message(USER, "game", sender=BOT)}},
    "press on an inaccessible message": {"callback_query": {"id": "cq6", "from": user(), "chat_instance": "c", "data": "q:hint",
                                                            "message": {"chat": chat(USER), "message_id": 7, "date": 0}}},
    "new members service message": {"message": message(GROUP, None, sender=user(OTHER), new_chat_members=[user(OTHER)])},
    "pinned message service message": {"message": message(GROUP, None, sender=user(OTHER),
                                                          pinned_message=message(GROUP, "x", sender=BOT, mid=3))},
    "new group title": {"message": message(GROUP, None, sender=user(OTHER), new_chat_title="Renamed")},
    "private photo with caption": {"message": message(USER, None, sender=user(), caption="my answer",
                                                      photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}])},
    "private location": {"message": message(USER, None, sender=user(), location={"latitude": 52.5, "longitude": 13.4})},
    "private contact": {"message": message(USER, None, sender=user(), contact={"phone_number": "1", "first_name": "B"})},
    "private dice": {"message": message(USER, None, sender=user(), dice={"emoji": "🎲", "value": 3})},
    "private voice": {"message": message(USER, None, sender=user(), voice={"file_id": "v", "file_unique_id": "u", "duration": 2})},
    "message from a bot in a group": {"message": message(GROUP, "/settime 03:00", sender=BOT | {"id": 5555, "username": "other_bot"})},
    "message via an inline bot": {"message": message(USER, "hello", sender=user(), via_bot=BOT | {"id": 5556, "username": "x_bot"})},
    "linked channel post in a group": {"message": message(GROUP, "/quiz", sender=user(CHANNEL_BOT, first_name="Channel"),
                                                          sender_chat=chat(CHANNEL), is_automatic_forward=True)},
    "forum topic message": {"message": message(GROUP, "/help", sender=user(OTHER), message_thread_id=5, is_topic_message=True)},
    "a future update kind": {"shiny_new_update": {"id": 1, "whatever": [1, 2, 3]}},
}


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_every_update_kind_is_ignored_or_handled_never_crashes(tg, run_bot, clock, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    app = await run_bot()
    tg.admins[GROUP] = {USER}
    tg.message(USER, "/start")
    await tg.next_to(USER)
    crashed: dict[str, list[str]] = {}
    for name, payload in KINDS.items():
        caplog.clear()
        clock.advance(seconds=1)  # one update a second: well under the flood limit
        tg.push_raw(payload)
        await tg.processed(app)
        if errors(caplog):
            crashed[name] = [r.getMessage() for r in errors(caplog)]
    assert crashed == {}
    # Nothing went to the channel or to the business customer; in the group, the other bot's and
    # the linked channel's commands were refused (not admins) and the forum topic got its /help.
    assert tg.messages_to(CHANNEL) == [] and tg.messages_to(OTHER) == []
    group = [m.text for m in tg.messages_to(GROUP)]
    assert group[:2] == [texts.admins_only("change the question time"), texts.admins_only("post a question now")]
    assert "Study group" in group[2] and len(group) == 3
    with sqlite3.connect(tmp_path / "tutor.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM chats WHERE chat_id IN (?, ?)", (CHANNEL, OTHER)).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM users WHERE user_id = ?", (USER,)).fetchone()[0] == 1  # f:yes from an inline message erased nothing
    # Non-text private messages get the "text answers only" note; the bot still answers.
    assert sum("text answers" in m.text for m in tg.messages_to(USER)) == 5
    n = len(tg.messages_to(USER))
    tg.message(USER, "/help")
    assert "/quiz" in (await tg.next_to(USER, n)).text


async def test_an_edited_answer_is_not_graded_again(tg, run_bot, tmp_path):
    """Issue 19: an edit of a graded answer gets one reply saying edits are not re-graded."""
    app = await run_bot()
    tg.message(USER, "/start")
    await tg.next_to(USER)
    tg.message(USER, "/quiz")
    question = await tg.next_to(USER, 1)
    tg.reply(USER, question, "it is about neurons somehow")
    verdict = await tg.next_to(USER, 2)
    assert "Not quite" in verdict.text
    answer = tg.user_messages[(USER, verdict.reply_to)]
    edited = dict(answer, text=RIGHT["dropout"] if "dropout" in question.text.lower() else RIGHT["rnn"], edit_date=NOW)
    tg.push_raw({"edited_message": edited})
    tg.edit(USER, USER, answer["message_id"], "/forget")  # an edited command is not a command
    await tg.processed(app)
    assert [m.text for m in tg.messages_to(USER)[3:]] == [texts.EDIT_NOT_REGRADED]
    with sqlite3.connect(tmp_path / "tutor.db") as conn:
        assert conn.execute("SELECT verdict FROM attempts WHERE user_id = ?", (USER,)).fetchall() == [("incorrect",)]


async def test_anonymous_admin_may_change_settings_but_is_never_graded(tg, run_bot, clock, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    app = await run_bot(tick_seconds=0.1)
    tg.admins[GROUP] = {USER}
    tg.bot_added(GROUP, USER)
    await tg.next_to(GROUP)
    anonymous = {"sender": user(ANONYMOUS_ADMIN, first_name="Group"), "sender_chat": chat(GROUP)}
    tg.push_raw({"message": message(GROUP, "/settime 09:30", mid=60_001, **anonymous)})
    assert "09:30" in (await tg.next_to(GROUP, 1)).text
    clock.advance(hours=1, minutes=30, seconds=1)
    daily = await tg.next_to(GROUP, 2)
    assert "Question of the day" in daily.text
    reply_to = {"message_id": daily.message_id, "date": NOW, "chat": chat(GROUP), "from": BOT, "text": daily.text}
    tg.push_raw({"message": message(GROUP, RIGHT["dropout"], mid=60_002, reply_to_message=reply_to, **anonymous)})
    tg.push_raw({"message": message(GROUP, "/answer " + RIGHT["rnn"], mid=60_003, **anonymous)})
    tg.push_raw({"message": message(GROUP, RIGHT["rnn"], mid=60_004, reply_to_message=reply_to,
                                    sender=user(CHANNEL_BOT), sender_chat=chat(CHANNEL), is_automatic_forward=True)})
    await tg.processed(app)
    assert len(tg.messages_to(GROUP)) == 3  # nobody to grade: no verdicts
    with sqlite3.connect(tmp_path / "tutor.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0
    assert errors(caplog) == []


async def test_an_update_the_library_cannot_parse_does_not_stop_polling(tg, run_bot, caplog):
    """A poll in the pre-Bot-API-9.6 shape (no persistent_id): what an older or newer Telegram, or a
    proxy, might send. Telegram will not resend it once confirmed; the bot must carry on, and
    say which update it skipped without writing its contents (users' messages) to the log (at
    DEBUG, PTB itself logs every API answer: that level is for debugging, not for running)."""
    caplog.set_level(logging.INFO)
    await run_bot()
    bad_id = tg.push_raw({"poll": {"id": "p9", "question": "Old shape?", "options": [{"text": "a", "voter_count": 0}],
                                   "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                                   "allows_multiple_answers": False}})
    tg.message(USER, "/help")
    try:
        assert "/quiz" in (await tg.next_to(USER, timeout=20)).text
        await tg.wait_for(lambda: tg.confirmed_offset > bad_id, what="the unreadable update confirmed")
    finally:
        tg.updates.clear()
    skipped = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(skipped) == 1 and f"update {bad_id} " in skipped[0], skipped
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    logged = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not [r for r in logged if "Old shape?" in r.getMessage() or "Old shape?" in (r.exc_text or "")]
