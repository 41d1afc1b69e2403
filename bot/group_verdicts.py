"""Group verdicts: one message each while the group is quiet, merged when it is busy.

Telegram lets a bot post about 20 messages a minute into one group. When thirty members answer
the daily question within a minute, one verdict message each would put the last of them minutes
behind, and every waiting verdict would hold its update (and memory) until then.

So a group that has had `MERGE_AFTER` (10) verdict messages within the last minute is busy: it
gets at most one verdict send at a time, a verdict that is ready while another is being sent
waits in a short list, and when the send returns, everything that waited goes out as one message
(one line per member, split only at Telegram's length limit). A quiet group gets what a learner
expects: a reply to each member's answer, with the terms they covered.

A merged message replies to the question and carries its "📖 Model answer" button. It has no
"🙋 I think I was right" button: a dispute keeps the member's answer text, which only the reply
under a verdict of its own points to.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram.error import TelegramError

from .texts import MAX_MESSAGE, utf16_len

log = logging.getLogger(__name__)

BATCH_BUDGET = MAX_MESSAGE - 200  # room for the heading and HTML tags around the lines
MERGE_AFTER = 10  # verdict messages into one group within WINDOW before it counts as busy
WINDOW = 60.0  # seconds (Telegram's limit is per minute)


@dataclass(frozen=True)
class GroupVerdict:
    chat_id: int
    question_message_id: int
    question_id: str
    text: str  # the verdict as a message of its own (HTML)
    line: str  # the same verdict as one line of a merged message (HTML)


SendOne = Callable[[GroupVerdict], Awaitable[object]]
SendMany = Callable[[int, int, str, list[str]], Awaitable[object]]  # chat, question message, question id, lines


class GroupVerdicts:
    """Per busy group chat: at most one verdict send in flight; verdicts that are ready meanwhile
    are merged into one message per question when it returns."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # the process's own pace (like the rate limiter), not learners' days
        self.waiting: dict[int, list[GroupVerdict]] = {}
        self.sending: set[int] = set()
        self.recent: dict[int, deque[float]] = {}  # chat -> when verdict messages went out

    def busy(self, chat: int) -> bool:
        times = self.recent.get(chat)
        if times is None:
            return False
        now = self.clock()
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if not times:
            del self.recent[chat]  # memory follows the groups active right now
            return False
        return len(times) >= MERGE_AFTER

    def _sent(self, chat: int) -> None:
        self.recent.setdefault(chat, deque()).append(self.clock())

    async def post(self, verdict: GroupVerdict, send_one: SendOne, send_many: SendMany) -> bool:
        """Send `verdict`, or queue it behind the send in flight. True if sent by this call.

        In a quiet group every verdict is sent at once. In a busy one, the call that finds no
        send in flight sends its own verdict, then drains whatever queued up meanwhile. An error
        of its own send is raised (the caller's handler reports it); errors of merged sends are
        logged here, since their members' handlers have already returned.
        """
        chat = verdict.chat_id
        if chat in self.sending and self.busy(chat):
            self.waiting.setdefault(chat, []).append(verdict)
            return False
        self._sent(chat)
        if chat in self.sending:  # quiet group: no need to wait for the other send
            await send_one(verdict)
            return True
        self.sending.add(chat)
        try:
            try:
                await send_one(verdict)
            finally:  # even if our own send failed: the others must not be stranded
                while batch := self.waiting.pop(chat, None):
                    self._sent(chat)
                    await self._send_merged(batch, send_many)
        finally:
            self.sending.discard(chat)
        return True

    async def _send_merged(self, batch: list[GroupVerdict], send_many: SendMany) -> None:
        by_question: dict[int, list[GroupVerdict]] = {}
        for verdict in batch:
            by_question.setdefault(verdict.question_message_id, []).append(verdict)
        for question_message_id, verdicts in by_question.items():
            for lines in _chunks([v.line for v in verdicts]):
                try:
                    await send_many(verdicts[0].chat_id, question_message_id, verdicts[0].question_id, lines)
                except TelegramError as exc:
                    log.warning("merged verdicts for %d members in chat %d not sent: %s",
                                len(lines), verdicts[0].chat_id, exc.__class__.__name__)


def _chunks(lines: list[str]) -> list[list[str]]:
    """Split lines into groups whose joined length stays within one message."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        n = utf16_len(line) + 1
        if chunks[-1] and size + n > BATCH_BUDGET:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += n
    return chunks
