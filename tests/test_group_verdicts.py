"""GroupVerdicts: a quiet group gets one reply per verdict; in a busy one (10 verdict messages in
the last minute) at most one verdict send is in flight and what is ready meanwhile is merged."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import NetworkError

from bot import group_verdicts
from bot.group_verdicts import BATCH_BUDGET, MERGE_AFTER, GroupVerdict, GroupVerdicts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def busy_outbox(chat: int = -1) -> GroupVerdicts:
    """An outbox whose group `chat` has just had MERGE_AFTER verdict messages."""
    outbox = GroupVerdicts(clock=Clock())
    for _ in range(MERGE_AFTER):
        outbox._sent(chat)
    return outbox


def verdict(member: int, chat: int = -1, qmsg: int = 10, line: str | None = None) -> GroupVerdict:
    return GroupVerdict(chat, qmsg, f"q{qmsg}", text=f"verdict {member}", line=line or f"line {member}")


class Recorder:
    def __init__(self, fail_one: bool = False):
        self.gate = asyncio.Event()
        self.single: list[str] = []
        self.merged: list[tuple[int, int, str, list[str]]] = []
        self.fail_one = fail_one

    async def send_one(self, v: GroupVerdict) -> None:
        await self.gate.wait()
        if self.fail_one:
            raise NetworkError("connection dropped")
        self.single.append(v.text)

    async def send_many(self, chat: int, qmsg: int, question_id: str, lines: list[str]) -> None:
        self.merged.append((chat, qmsg, question_id, lines))


async def test_a_quiet_group_gets_one_message_per_verdict_even_while_another_is_sending():
    outbox, rec = GroupVerdicts(clock=Clock()), Recorder()
    posts = [asyncio.create_task(outbox.post(verdict(m), rec.send_one, rec.send_many)) for m in range(MERGE_AFTER - 1)]
    await asyncio.sleep(0)
    rec.gate.set()
    assert await asyncio.gather(*posts) == [True] * (MERGE_AFTER - 1)
    assert sorted(rec.single) == [f"verdict {m}" for m in range(MERGE_AFTER - 1)] and rec.merged == []


async def test_a_group_is_busy_for_a_minute_after_its_tenth_verdict():
    outbox = busy_outbox()
    assert outbox.busy(-1) and not outbox.busy(-2)
    outbox.clock.now += group_verdicts.WINDOW + 1
    assert not outbox.busy(-1) and outbox.recent == {}  # forgotten, memory follows active groups


async def test_in_a_busy_group_verdicts_ready_during_a_send_go_out_together_per_question():
    outbox, rec = busy_outbox(), Recorder()
    first = asyncio.create_task(outbox.post(verdict(0), rec.send_one, rec.send_many))
    await asyncio.sleep(0)  # let it start its send
    queued = [await outbox.post(verdict(m, qmsg=10 if m < 4 else 11), rec.send_one, rec.send_many) for m in range(1, 6)]
    other_group = await asyncio.wait_for(outbox.post(verdict(9, chat=-2), lambda v: asyncio.sleep(0), rec.send_many), 30)
    assert queued == [False] * 5 and other_group is True  # another group is not held up
    rec.gate.set()
    assert await first is True
    assert rec.single == ["verdict 0"]
    assert rec.merged == [(-1, 10, "q10", ["line 1", "line 2", "line 3"]), (-1, 11, "q11", ["line 4", "line 5"])]
    assert outbox.waiting == {} and outbox.sending == set()


async def test_when_the_own_send_fails_the_waiting_verdicts_still_go_out():
    outbox, rec = busy_outbox(), Recorder(fail_one=True)
    first = asyncio.create_task(outbox.post(verdict(0), rec.send_one, rec.send_many))
    await asyncio.sleep(0)
    await outbox.post(verdict(1), rec.send_one, rec.send_many)
    rec.gate.set()
    with pytest.raises(NetworkError):  # the first member's handler reports its own failure
        await first
    assert rec.merged == [(-1, 10, "q10", ["line 1"])] and outbox.sending == set()


async def test_a_long_batch_is_split_at_telegrams_length_limit():
    outbox, rec = busy_outbox(), Recorder()
    first = asyncio.create_task(outbox.post(verdict(0), rec.send_one, rec.send_many))
    await asyncio.sleep(0)
    long_line = "x" * 1000
    for member in range(1, 11):
        await outbox.post(verdict(member, line=long_line), rec.send_one, rec.send_many)
    rec.gate.set()
    await first
    sizes = [len(lines) for *_, lines in rec.merged]
    assert sum(sizes) == 10 and len(sizes) >= 3
    assert all(sum(len(line) + 1 for line in lines) <= BATCH_BUDGET for *_, lines in rec.merged)
