"""The running bot exports its figures on TUTOR_METRICS_PORT, and never the token (issue 21)."""

from __future__ import annotations

import asyncio
import urllib.request

from bot.app import METRICS
from tests.learners import answer, quiz, start

USER = 6161


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


async def test_metrics_count_updates_verdicts_and_sends(tg, run_bot):
    app = await run_bot(metrics=("127.0.0.1", 0))
    await start(tg, USER)
    await answer(tg, USER, await quiz(tg, USER))
    await tg.processed(app)
    text = await asyncio.to_thread(scrape, app.bot_data[METRICS].port)
    assert 'tutor_bot_verdicts_total{verdict="correct"}' in text
    assert 'tutor_bot_updates_total{kind="message"}' in text
    assert 'tutor_bot_sends_total{outcome="ok"}' in text
    assert tg.token not in text
