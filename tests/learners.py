"""Scripted learners for end-to-end tests: right answers for the mini bank and common moves."""

from __future__ import annotations

import functools

from content import Bank, load_bank
from tests.fake_telegram import FakeTelegram, Sent


@functools.cache
def shipped_bank() -> Bank:
    """The shipped bank, loaded once per test process: loading it takes about half a second, and
    the tests that need it only read it."""
    return load_bank()

DROPOUT_RIGHT = (
    "Dropout is regularisation: during training it randomly drops neurons so they cannot co-adapt, "
    "it reduces overfitting, the kept activations are rescaled and it is switched off at inference."
)
RNN_RIGHT = (
    "RNNs read sequences step by step with a hidden state, the same weights at every step; "
    "vanishing gradients led to LSTM."
)


def right_answer_for(question_text: str) -> str:
    """A correct answer to whichever mini-bank question `question_text` asks."""
    return DROPOUT_RIGHT if "dropout" in question_text.lower() else RNN_RIGHT


async def start(tg: FakeTelegram, user: int) -> Sent:
    """/start in the user's private chat; returns the welcome."""
    n = len(tg.messages_to(user))
    tg.message(user, "/start")
    return await tg.next_to(user, n)


async def quiz(tg: FakeTelegram, user: int) -> Sent:
    """/quiz; returns the question message."""
    n = len(tg.messages_to(user))
    tg.message(user, "/quiz")
    return await tg.next_to(user, n)


async def answer(tg: FakeTelegram, user: int, question: Sent, text: str | None = None) -> Sent:
    """Reply to `question` (correctly unless `text` is given); returns the verdict."""
    n = len(tg.messages_to(user))
    tg.reply(user, question, right_answer_for(question.text) if text is None else text)
    return await tg.next_to(user, n)
