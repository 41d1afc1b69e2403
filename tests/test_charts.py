"""The /stats and /top pictures (bot/charts.py): plain data in, PNG bytes out, off the event loop.

The PNGs are checked from their bytes (signature, IHDR, chunks) and decoded with Pillow, which
matplotlib already depends on. Timing and memory are bench/charts.py's job, not these tests'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import multiprocessing.process
import os
import random
import signal
import struct
import sys
import warnings
import zlib
from concurrent.futures.process import BrokenProcessPool
from datetime import date, timedelta
from functools import cache
from io import BytesIO

import pytest
from PIL import Image

from bot.charts import (
    BLUE,
    CALENDAR_WEEKS,
    EMPTY_DAY,
    LEVEL_COLOURS,
    MAX_TOPICS,
    MEDALS,
    STRIPE,
    TRACK,
    VERMILLION,
    WIDTH_PX,
    LeaderboardPicture,
    StatsPicture,
    answer_level,
    calendar_start,
    plain_text,
    png_size,
    render_in_worker,
    render_leaderboard,
    render_stats,
    shutdown_renderer,
    weakest_topics,
)
from content.progress import TopicMastery
from storage.models import LeaderboardRow

TODAY = date(2026, 12, 2)  # a Wednesday
MAX_BYTES = 200 * 1024
WHITE = "#FFFFFF"
TITLES = [
    "Backpropagation and gradients", "Attention mechanisms", "Convolutional neural networks",
    "Training in practice: debugging, mixed precision, efficiency", "Activation functions",
    "Generalisation, overfitting and the bias-variance trade-off", "Optimisers and gradient descent",
    "Recurrent neural networks", "Evaluation metrics", "Autoencoders and VAEs", "Data augmentation",
    "Batch norm, layer norm and other normalisation",
]


def learner(answers: int) -> StatsPicture:
    """A learner with ``answers`` graded answers spread over the last 26 weeks (0, 3 or 200)."""
    if answers == 0:
        return StatsPicture(today=TODAY, answers_by_day={})
    if answers == 3:
        yesterday = TODAY - timedelta(days=1)
        return StatsPicture(
            today=TODAY, answers_by_day={TODAY: 2, yesterday: 1},
            streak_days=frozenset({TODAY, yesterday}),
            topics=[TopicMastery("attention", 1.0, 1, "accuracy"),
                    TopicMastery("backprop", 0.5, 2, "accuracy")],
            topic_titles={"attention": "Attention mechanisms", "backprop": "Backpropagation and gradients"},
            mastery_kind="accuracy", forecast=[0, 2, 0, 1],
        )
    rng = random.Random(answers)
    days: dict[date, int] = {}
    left = answers
    while left:
        day = TODAY - timedelta(days=rng.randrange(7 * CALENDAR_WEEKS))
        n = min(left, rng.randint(1, 12))
        days[day] = days.get(day, 0) + n
        left -= n
    freezes = frozenset({TODAY - timedelta(days=4)})
    streak = frozenset(TODAY - timedelta(days=i) for i in range(9))
    return StatsPicture(
        today=TODAY, answers_by_day=days, streak_days=streak, freeze_days=freezes,
        topics=[TopicMastery(t, rng.random(), rng.randint(1, 40), "retrievability") for t in TITLES],
        mastery_kind="retrievability", forecast=[5, 12, 0, 3, 8, 1, 2],
    )


def member(name: str, points: int, answered: int) -> LeaderboardRow:
    return LeaderboardRow(user_id=1, first_name=name, username=None, points=points, answered=answered, correct=0)


@cache
def stats_png(answers: int) -> bytes:
    """Each example learner rendered once per test run (a render is about 0.15 s)."""
    return render_stats(learner(answers))


HOSTILE_NAMES = [
    "$x$ and $\\frac{1}{0}$",  # mathtext would parse (or choke on) this
    "<b>bold</b> & <i>co</i>",
    "Anna 🐍🚀 👩‍💻",  # emoji and a zero-width-joiner sequence the font cannot draw
    "🔥🔥🔥",  # nothing drawable at all
    "W" * 300,
    "יוסי כהן",  # right to left
    "محمد علي",
    "evil\u202eoverride\nnew line\x00",
    "",
]


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks as (type, data), each CRC checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, data = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        out.append((kind, data))
        at += 12 + length
    return out


def assert_phone_png(png: bytes) -> tuple[int, int]:
    kinds = [kind for kind, _ in chunks(png)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks(png)[0][1][:8])
    assert (width, height) == png_size(png)
    assert width == WIDTH_PX == 1080
    assert 600 <= height <= 2100  # a phone shows it full width, at most about 1:2
    assert len(png) < MAX_BYTES
    with Image.open(BytesIO(png)) as image:  # and it really decodes, every pixel
        image.load()
        assert image.size == (width, height)
    return width, height


# ------------------------------------------------------------------------------------- pictures
@pytest.mark.parametrize("answers", [0, 3, 200])
def test_stats_picture_is_a_phone_sized_png_under_200_kb(answers: int) -> None:
    assert_phone_png(stats_png(answers))


def test_the_picture_grows_with_the_topics_drawn_and_stops_at_ten() -> None:
    _, no_topics = png_size(stats_png(0))
    _, ten = png_size(stats_png(200))
    twelve = learner(200)
    assert len(twelve.topics) == 12
    assert no_topics < ten
    thirty_six = dataclasses.replace(twelve, topics=list(twelve.topics) * 3)
    assert png_size(render_stats(thirty_six))[1] == ten


def test_hostile_names_render_as_plain_text_without_glyph_warnings() -> None:
    rows = [member(name, 100 - i, 10 + i) for i, name in enumerate(HOSTILE_NAMES)]
    picture = LeaderboardPicture(title="$group$ <b>🚀</b> " + "long " * 80, this_week=rows[:10],
                                 all_time=rows[::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing-glyph warning would fail here
        png = render_leaderboard(picture)
    assert_phone_png(png)


def test_the_64_colour_palette_keeps_every_flat_colour_exact() -> None:
    """The quantizer once merged the table's #F3F3F3 stripes into white: they vanished."""
    rows = [member(f"member {i}", 10 - i, i) for i in range(4)]
    with Image.open(BytesIO(render_leaderboard(LeaderboardPicture("g", rows, rows)))) as image:
        colours = {rgb for _, rgb in image.convert("RGB").getcolors(256) or []}
    with Image.open(BytesIO(stats_png(200))) as image:
        colours |= {rgb for _, rgb in image.convert("RGB").getcolors(256) or []}
    flat = [WHITE, STRIPE, EMPTY_DAY, TRACK, BLUE, VERMILLION, *LEVEL_COLOURS, *MEDALS]
    assert {c: rgb(c) in colours for c in flat} == {c: True for c in flat}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def test_an_empty_leaderboard_renders() -> None:
    assert_phone_png(render_leaderboard(LeaderboardPicture(title="", this_week=[], all_time=[])))


def test_same_input_same_bytes_whatever_was_drawn_before() -> None:
    """Each thread reuses one figure (bot/charts.py says why): nothing may leak between pictures."""
    first = stats_png(200)
    render_leaderboard(LeaderboardPicture("between", [member("x" * 50, 1, 1)], []))
    assert render_stats(learner(200)) == first
    assert stats_png(3) != first


def test_no_text_chunks_so_bytes_do_not_depend_on_the_matplotlib_version() -> None:
    first = stats_png(200)
    # No tEXt/iTXt/zTXt/tIME: nothing that varies with the matplotlib version or the clock.
    assert {kind for kind, _ in chunks(first)} <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def test_out_of_range_values_are_clamped_not_fatal() -> None:
    odd = StatsPicture(
        today=TODAY, answers_by_day={TODAY: -3, TODAY - timedelta(days=999): 50, TODAY + timedelta(days=1): 5},
        streak_days=frozenset({TODAY + timedelta(days=3)}), freeze_days=frozenset({date(2000, 1, 1)}),
        topics=[TopicMastery("over", 1.7, 3, "retrievability"), TopicMastery("under", -0.2, 0, "accuracy")],
        forecast=[-1, 0, 10**6, 0, 0, 0, 0, 99, 99],  # negative, huge, and longer than 7 days
    )
    assert_phone_png(render_stats(odd))


def test_a_month_starting_in_the_last_column_is_not_labelled_off_the_edge() -> None:
    """Seen in the first real picture: "Mar" over the last week column ran off the right edge."""
    monday_the_first = date(2027, 3, 1)
    png = render_stats(StatsPicture(today=monday_the_first + timedelta(days=2), answers_by_day={}))
    with Image.open(BytesIO(png)) as image:
        right_margin_above_grid = image.convert("L").crop((WIDTH_PX - 40, 100, WIDTH_PX, 200))
        assert right_margin_above_grid.getextrema() == (255, 255)  # white: no ink there


def test_rendering_never_imports_pyplot() -> None:
    """pyplot keeps global figure state; charts use Figure + the Agg canvas only."""
    if "matplotlib.pyplot" in sys.modules:
        pytest.skip("another test imported pyplot first")
    stats_png(3)
    assert "matplotlib.pyplot" not in sys.modules


# ------------------------------------------------------------------------------ pure helpers
def test_plain_text_keeps_markup_and_dollars_and_drops_what_the_font_cannot_draw() -> None:
    assert plain_text("$x$ <b>bold</b> & co") == "$x$ <b>bold</b> & co"
    assert plain_text("Anna 🐍🚀 👩‍💻") == "Anna"
    assert plain_text("evil\u202eoverride\nnew line\x00") == "eviloverride new line"
    assert plain_text("יוסי כהן") == "יוסי כהן"


def test_weakest_topics_first_at_most_ten_ties_by_topic() -> None:
    topics = [TopicMastery(f"t{i:02}", (i % 5) / 4, i, "accuracy") for i in range(15)]
    drawn = weakest_topics(topics)
    assert len(drawn) == MAX_TOPICS
    assert [t.mastery for t in drawn] == sorted(t.mastery for t in drawn)
    assert [t.topic for t in drawn[:3]] == ["t00", "t05", "t10"]


def test_calendar_is_26_week_columns_from_a_monday_to_today() -> None:
    start = calendar_start(TODAY)
    assert start.weekday() == 0
    assert (TODAY - start).days // 7 == CALENDAR_WEEKS - 1
    monday = TODAY - timedelta(days=TODAY.weekday())
    assert {calendar_start(monday + timedelta(days=i)) for i in range(7)} == {start}  # today's column


def test_answer_levels() -> None:
    assert [answer_level(n) for n in (0, 1, 2, 3, 5, 6, 9, 10, 500)] == [0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_png_size_rejects_what_is_not_a_png() -> None:
    with pytest.raises(ValueError):
        png_size(b"GIF89a" + b"\0" * 30)


# ---------------------------------------------------------------------------------- the worker
# `render_in_worker` draws in a child process (bot/charts.py): these run the real one.
def renderer() -> multiprocessing.process.BaseProcess:
    """The renderer process: the only multiprocessing child of this process."""
    [child] = multiprocessing.active_children()
    return child


async def test_a_picture_drawn_in_the_renderer_process_is_the_same_png() -> None:
    png = await asyncio.wait_for(render_in_worker(render_stats, learner(3)), timeout=30)
    assert_phone_png(png)
    assert png == stats_png(3)  # the same bytes as drawn in this process
    assert renderer().pid != os.getpid()


async def test_concurrent_renders_all_complete() -> None:
    pictures = [LeaderboardPicture(f"group {i}", [member(f"m{i}", i, i)], []) for i in range(3)]
    pngs = await asyncio.wait_for(asyncio.gather(*(render_in_worker(render_leaderboard, p) for p in pictures)), 30)
    assert len(set(pngs)) == 3
    assert all(png_size(png)[0] == WIDTH_PX for png in pngs)


async def test_a_killed_renderer_is_replaced_and_the_picture_still_drawn() -> None:
    await asyncio.wait_for(render_in_worker(render_stats, learner(0)), timeout=30)
    killed = renderer()
    os.kill(killed.pid, signal.SIGKILL)  # as the kernel's OOM killer would
    png = await asyncio.wait_for(render_in_worker(render_stats, learner(3)), timeout=30)
    assert png == stats_png(3)
    assert renderer().pid != killed.pid
    assert not killed.is_alive()


async def test_a_renderer_that_dies_twice_fails_the_picture_and_the_next_one_works(caplog) -> None:
    """A picture that kills its process every time: retried once in a new process, then the
    caller gets BrokenProcessPool (the handlers send text then); the next picture is drawn."""
    with pytest.raises(BrokenProcessPool):
        await asyncio.wait_for(render_in_worker(os._exit, 3), timeout=30)
    assert [r.getMessage() for r in caplog.records].count("the picture renderer process died; starting a new one") == 1
    png = await asyncio.wait_for(render_in_worker(render_stats, learner(3)), timeout=30)
    assert png == stats_png(3)


async def test_shutdown_stops_the_renderer_and_the_next_picture_starts_a_new_one() -> None:
    await asyncio.wait_for(render_in_worker(render_stats, learner(0)), timeout=30)
    child = renderer()
    await shutdown_renderer()
    assert not child.is_alive()
    assert multiprocessing.active_children() == []
    png = await asyncio.wait_for(render_in_worker(render_stats, learner(3)), timeout=30)
    assert png == stats_png(3)
