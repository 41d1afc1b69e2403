"""The /stats and /top pictures (issue 20): plain data in, PNG bytes out.

No Telegram and no SQL here: the handler gathers a `StatsPicture` (content/progress.py's
mastery rows) or a `LeaderboardPicture` (storage's leaderboard rows), and awaits `render_in_worker(render_stats, picture)` for the bytes to send as a photo.

How it is drawn, and why:

* matplotlib's object-oriented API only (a `Figure` with its own Agg canvas, never pyplot; one
  per thread, cleared for each picture: `_thread_figure` says why). Text and shapes go straight
  on the figure, placed in inches from the top-left corner, which keeps the layout readable.
* 1,080 px wide at 216 dpi, i.e. 5 in = 360 pt: a point of type in the picture is a point of type
  on a phone that shows it full width (about 360 pt). The height follows the content.
* Colour-blind-safe colours: the calendar is shaded with four steps of viridis (light to dark =
  few to many answers, so it reads in greyscale too); marks and bars use the Okabe-Ito palette,
  and every number that a colour stands for is also written out.
* User text (names, the group title) is drawn as plain text: mathtext off (``parse_math=False``),
  so "$x$" stays "$x$"; no markup, so "<b>" is literal. Characters the bundled font cannot draw
  (emoji, controls, bidi overrides) are dropped before drawing, which keeps matplotlib from
  warning per glyph (`warnings.catch_warnings` is not thread-safe, so it is not used). Right-to-left
  scripts are laid out by matplotlib's own text shaping (libraqm, matplotlib >= 3.11).
* Pictures are drawn in a separate process (`render_in_worker`), replaced every
  `MAX_RENDERS_PER_CHILD` pictures: matplotlib, numpy and FreeType fragment the heap of whatever
  process draws, and drawn in the bot's own process they made its resident memory jump between
  136 and 293 MiB in a 30-minute soak. In a child the bot's memory stays flat and the child's is
  bounded by replacing it. The child is forked from multiprocessing's fork server, which has
  imported matplotlib once (never a fork of the bot: it has threads and an event loop), and
  draws one picture before it takes requests, so fonts and caches are warm.
  docs/CHARTS.md has the figures; bench/charts.py and bench/soak.py measure them.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import io
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import signal
import struct
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from content.progress import MasteryKind, TopicMastery

from . import texts

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.backend_bases import RendererBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from storage.models import LeaderboardRow

__all__ = [
    "CALENDAR_WEEKS",
    "MAX_ROWS",
    "MAX_TOPICS",
    "WIDTH_PX",
    "LeaderboardPicture",
    "StatsPicture",
    "png_size",
    "render_in_worker",
    "render_leaderboard",
    "render_stats",
    "shutdown_renderer",
    "warm_up",
]

CALENDAR_WEEKS = 26
MAX_TOPICS = 10  # topics drawn in /stats, weakest first
MAX_ROWS = 10  # rows drawn per leaderboard table
FORECAST_DAYS = 7

DPI = 216
WIDTH_IN = 5.0  # 5 in x 216 dpi = 1,080 px; 5 in = 360 pt, a phone's width
WIDTH_PX = round(WIDTH_IN * DPI)
FONT = "DejaVu Sans"  # ships inside matplotlib, so every machine draws the same glyphs

# Type sizes in points, as seen on a phone showing the picture full width.
TITLE_PT = 15.0
TEXT_PT = 12.0
SMALL_PT = 10.5

# Okabe & Ito (2008), the colour-blind-safe qualitative palette.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
INK = "#1A1A1A"
GREY_TEXT = "#595959"  # 7:1 on white
TRACK = "#E6E6E6"
EMPTY_DAY = "#EBEDF0"
# viridis at 0.92, 0.68, 0.42, 0.15: light to dark = few to many answers (reads in greyscale too).
LEVEL_COLOURS = ("#CAE11F", "#3BBB75", "#287D8E", "#463480")
LEVEL_FLOORS = (1, 3, 6, 10)  # answers a day for each level: 1-2, 3-5, 6-9, 10+

STRIPE = EMPTY_DAY  # #F3F3F3 and #EFEFEF did not survive the 64-colour quantizer (see png())
MEDALS = (ORANGE, "#A6A6A6", "#B8733D")  # gold, silver, bronze discs; the number is the meaning
_KEY_RGB = [
    [int(c[i:i + 2], 16) for i in (1, 3, 5)]
    for c in ("#FFFFFF", INK, GREY_TEXT, TRACK, EMPTY_DAY, STRIPE, BLUE, VERMILLION, *LEVEL_COLOURS, *MEDALS)
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # fixed: never the process locale
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

MASTERY_NOTE: dict[str, str] = {
    "retrievability": "chance you recall it in a week (FSRS retrievability)",
    "accuracy": "share of your recent answers that were right",
}


# --------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True, slots=True)
class StatsPicture:
    """Everything the /stats picture shows, in the learner's own calendar days.

    ``answers_by_day``: graded answers per local day (days outside the last 26 weeks are ignored).
    ``streak_days`` / ``freeze_days``: days counted in a streak, and days a freeze covered.
    ``topics``: any order and any number; the weakest `MAX_TOPICS` are drawn, weakest first, each
    as a bar of ``mastery`` (0..1, clamped) labelled with its title from ``topic_titles`` (else its
    slug), marked "(accuracy)" when its ``kind`` is not the picture's ``mastery_kind``.
    ``mastery_kind``: what ``mastery`` means, written under the topic heading.
    ``forecast``: reviews due on each of the next 7 days, index 0 = today (missing days are 0).
    """

    today: date
    answers_by_day: Mapping[date, int]
    streak_days: frozenset[date] = frozenset()
    freeze_days: frozenset[date] = frozenset()
    topics: Sequence[TopicMastery] = ()
    mastery_kind: MasteryKind = "retrievability"
    forecast: Sequence[int] = ()
    topic_titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LeaderboardPicture:
    """The /top picture: ``title`` (e.g. the group's name) and two tables, already ranked.

    At most `MAX_ROWS` rows of each are drawn, in the order given, and of each member only their
    name (`texts.plain_user_name`, drawn as plain text), points and answers."""

    title: str
    this_week: Sequence[LeaderboardRow]
    all_time: Sequence[LeaderboardRow]


# --------------------------------------------------------------------------------- pure helpers
def calendar_start(today: date) -> date:
    """The Monday that opens the calendar: 26 week columns, the last one holding ``today``."""
    return today - timedelta(days=today.weekday(), weeks=CALENDAR_WEEKS - 1)


def answer_level(answers: int) -> int:
    """0 for no answers, else 1..4 by `LEVEL_FLOORS` (fixed steps, so a day means the same to all)."""
    return sum(answers >= floor for floor in LEVEL_FLOORS)


def weakest_topics(topics: Sequence[TopicMastery]) -> list[TopicMastery]:
    """The topics drawn: weakest first (ties by topic, so the order is stable), at most 10."""
    return sorted(topics, key=lambda t: (_unit(t.mastery), t.topic))[:MAX_TOPICS]


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) read from a PNG's IHDR chunk; ValueError if it is not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _unit(x: float) -> float:
    return min(1.0, max(0.0, x))


def _count(n: int) -> str:
    return f"{n:,}"


def _plural(n: int, word: str) -> str:
    return f"{_count(n)} {word}" if n == 1 else f"{_count(n)} {word}s"


# ------------------------------------------------------------------------------- matplotlib side
_mpl_lock = threading.Lock()
_mpl_loaded = False


def _load_matplotlib() -> None:
    """Import matplotlib once, with the Agg backend set explicitly. (Not `get_backend()` to check
    first: resolving the automatic backend imports pyplot, which nothing here uses.)"""
    global _mpl_loaded
    with _mpl_lock:
        if not _mpl_loaded:
            import matplotlib

            matplotlib.use("Agg")
            _mpl_loaded = True


@lru_cache(maxsize=1)
def _drawable_codepoints() -> frozenset[int]:
    """Code points the bundled font has a glyph for (regular and bold share their coverage)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=FONT), fallback_to_default=False)
    return frozenset(FT2Font(path).get_charmap())


def plain_text(text: str) -> str:
    """``text`` as the picture can draw it: controls, format characters (bidi overrides,
    zero-width joiners) and glyphs the font lacks (emoji) dropped, whitespace collapsed."""
    drawable = _drawable_codepoints()
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch)[0] != "C" and ord(ch) in drawable:
            kept.append(ch)
    return " ".join("".join(kept).split())


_per_thread = threading.local()


def _thread_figure() -> tuple[Figure, FigureCanvasAgg]:
    """This thread's one Figure and Agg canvas, made on first use and cleared for each picture.

    Why reused: a matplotlib figure is a web of reference cycles, so a figure made per picture
    (and its 8 MB pixel buffer) is freed only when the cyclic collector next runs a full pass; in
    a measured run the RSS climbed by 100 MiB in 300 renders that way. Cleared, the one figure
    keeps its buffer and only small artists are left to the collector (docs/CHARTS.md)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pair: tuple[Figure, FigureCanvasAgg] | None = getattr(_per_thread, "figure", None)
    if pair is None:
        figure = Figure(figsize=(WIDTH_IN, WIDTH_IN), dpi=DPI, facecolor="white")
        pair = _per_thread.figure = (figure, FigureCanvasAgg(figure))
    return pair


class _Sheet:
    """One figure in inches: x from the left, y from the top; text and boxes on one axes."""

    def __init__(self, height_in: float) -> None:
        # Whole pixels, so the PNG is exactly WIDTH_PX x round(height * DPI).
        self.height = round(height_in * DPI) / DPI
        self.figure, self.canvas = _thread_figure()
        self.figure.clear()  # in case the last picture failed half-way
        self.figure.set_size_inches(WIDTH_IN, self.height)
        # Artists go straight on the figure (no axes: nothing to tick, and 10% of the time saved),
        # placed in inches from the top-left corner.
        from matplotlib.transforms import Affine2D

        self.inches = Affine2D().scale(1.0, -1.0).translate(0.0, self.height) + self.figure.dpi_scale_trans
        self._renderer: RendererBase | None = None

    def text(self, x: float, y: float, s: str, *, size: float = TEXT_PT, colour: str = INK,
             bold: bool = False, ha: str = "left", va: str = "baseline") -> Text:
        return self.figure.text(
            x, y, s, fontsize=size, color=colour, fontweight="bold" if bold else "normal",
            fontfamily=FONT, ha=ha, va=va, parse_math=False, usetex=False, transform=self.inches,
        )

    def fitted_text(self, x: float, y: float, s: str, max_width_in: float, *, size: float = TEXT_PT,
                    bold: bool = False, va: str = "baseline") -> Text:
        """User text, plain (see `plain_text`), cut with "…" to fit ``max_width_in``: measured,
        since glyph widths vary by a factor of three ("iii" against "WWW")."""
        full = plain_text(s)[:200] or "?"
        t = self.text(x, y, full, size=size, bold=bold, va=va)
        limit = max_width_in * DPI
        if self.width_in(t) * DPI <= limit:
            return t
        lo, hi = 0, len(full)  # the longest prefix that fits, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            t.set_text(full[:mid].rstrip() + "…")
            if self.width_in(t) * DPI <= limit:
                lo = mid
            else:
                hi = mid - 1
        t.set_text(full[:lo].rstrip() + "…")
        return t

    def width_in(self, t: Text) -> float:
        """How wide ``t`` is drawn, in inches."""
        if self._renderer is None:
            self._renderer = self.canvas.get_renderer()
        return float(t.get_window_extent(self._renderer).width) / DPI

    def boxes(self, rects: Sequence[tuple[float, float, float, float]], colours: Sequence[str] | str,
              *, edge: str = "none", linewidth: float = 0.0) -> None:
        """Filled rectangles (x, y, width, height) as one collection: one draw call for many."""
        from matplotlib.collections import PolyCollection

        if not rects:
            return
        verts = [((x, y), (x + w, y), (x + w, y + h), (x, y + h)) for x, y, w, h in rects]
        face = "none" if colours == "none" else colours
        self.add(PolyCollection(verts, facecolors=face, edgecolors=edge, linewidths=linewidth))

    def add(self, artist: Artist) -> None:
        """A patch or collection placed in inches from the top-left corner."""
        artist.set_transform(self.inches)
        self.figure.add_artist(artist)

    def png(self) -> bytes:
        """The drawing as a 64-colour PNG: a third of the size of RGB (66 KiB against 197 KiB for
        the 200-answer picture) and quicker to encode than RGB with optimize=True (docs/CHARTS.md).

        Pillow's fast octree quantizer (the median-cut one takes 130 ms) buckets colours coarsely
        (by about their top 4 bits) and averages each bucket, so two flat colours in one merge (it merged
        #F3F3F3 stripes into white): the flat colours are chosen in distinct buckets, snapped
        back to their exact values, and tests/test_charts.py checks that each one survives.
        No text chunks (matplotlib would add its version), so equal pictures are equal bytes."""
        from PIL import Image  # matplotlib's own image dependency

        self.canvas.draw()
        width, height = self.canvas.get_width_height()
        rgb = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        palette = rgb.convert("RGB").quantize(64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        palette.putpalette(_snapped(palette.getpalette() or []))
        self.figure.clear()  # drop this picture's artists (and the names in them) now
        buf = io.BytesIO()
        palette.save(buf, format="PNG")
        return buf.getvalue()


def _snapped(palette: list[int]) -> list[int]:
    """The octree's palette with each entry near one of our flat colours set to it exactly (the
    octree averages its buckets, which turned white into #FBFBFB)."""
    out = list(palette)
    for i in range(0, len(out) - 2, 3):
        entry = out[i:i + 3]
        for key in _KEY_RGB:
            if max(abs(a - b) for a, b in zip(entry, key, strict=True)) <= 8:
                out[i:i + 3] = key
                break
    return out


MARGIN = 0.2  # in
LINE = 1 / 72  # one point, in inches


# ------------------------------------------------------------------------------------- /stats
CALENDAR_H = 2.55  # in: heading, month labels, 7 rows of cells, legend
TOPIC_ROW_H = 0.37
FORECAST_H = 1.85
NOTHING_DUE_H = 1.0


def render_stats(data: StatsPicture) -> bytes:
    """The /stats picture as PNG bytes: practice calendar, mastery per topic, 7-day forecast.

    1,080 px wide; the height grows with the number of topics drawn (about 1,250 px to 2,000 px)."""
    _load_matplotlib()
    topics = weakest_topics(data.topics)
    due = [max(0, int(n)) for n in list(data.forecast)[:FORECAST_DAYS]]
    due += [0] * (FORECAST_DAYS - len(due))
    topics_h = 0.78 + TOPIC_ROW_H * max(1, len(topics))
    forecast_h = FORECAST_H if any(due) else NOTHING_DUE_H
    sheet = _Sheet(CALENDAR_H + topics_h + forecast_h + 0.1)
    _draw_calendar(sheet, data, 0.0)
    _draw_topics(sheet, topics, data.mastery_kind, data.topic_titles, CALENDAR_H)
    _draw_forecast(sheet, due, data.today, CALENDAR_H + topics_h)
    return sheet.png()


def _draw_calendar(sheet: _Sheet, data: StatsPicture, top: float) -> None:
    start = calendar_start(data.today)
    days = [start + timedelta(days=i) for i in range((data.today - start).days + 1)]
    counts = {d: max(0, int(data.answers_by_day.get(d, 0))) for d in days}
    total = sum(counts.values())
    practised = sum(1 for n in counts.values() if n > 0)

    sheet.text(MARGIN, top + 0.32, "Your practice, last 26 weeks", size=TITLE_PT, bold=True)
    summary = f"{_plural(total, 'answer')} on {_plural(practised, 'day')}" if total else "No answers yet"
    sheet.text(MARGIN, top + 0.58, summary, size=TEXT_PT, colour=GREY_TEXT)

    label_w = 0.5  # weekday labels on the left
    cell = (WIDTH_IN - 2 * MARGIN - label_w) / CALENDAR_WEEKS
    gap = cell * 0.16
    left = MARGIN + label_w
    grid_top = top + 0.95
    for row in (0, 2, 4):
        sheet.text(left - 0.08, grid_top + (row + 0.5) * cell, WEEKDAYS[row], size=SMALL_PT,
                   colour=GREY_TEXT, ha="right", va="center")
    previous_month = 0
    for col in range(CALENDAR_WEEKS):
        monday = start + timedelta(weeks=col)
        # A month is named over the first week column that starts in it; the first column's
        # label is skipped when the next month's would overlap it, the last column's always (it
        # would run off the right edge).
        if monday.month != previous_month and not (col == 0 and monday.day > 21) and col < CALENDAR_WEEKS - 1:
            sheet.text(left + col * cell, grid_top - 0.08, MONTHS[monday.month - 1], size=SMALL_PT,
                       colour=GREY_TEXT)
        previous_month = monday.month

    def cell_xy(d: date) -> tuple[float, float]:
        i = (d - start).days
        return left + (i // 7) * cell + gap / 2, grid_top + (i % 7) * cell + gap / 2

    side = cell - gap
    colours = []
    for d in days:
        level = answer_level(counts[d])
        colours.append(LEVEL_COLOURS[level - 1] if level else EMPTY_DAY)
    sheet.boxes([(*cell_xy(d), side, side) for d in days], colours)

    # Streak days get a vermillion frame on the cell's edge (the cell's shade stays visible);
    # freeze days a blue diamond (a freeze covers a day without answers, so it sits on a grey
    # cell). Shape, not only colour, tells the two marks apart.
    in_view = set(days)
    streak = sorted(d for d in data.streak_days if d in in_view)
    sheet.boxes([(*cell_xy(d), side, side) for d in streak], "none", edge=VERMILLION, linewidth=1.5)
    freezes = sorted(d for d in data.freeze_days if d in in_view)
    _diamonds(sheet, [cell_xy(d) for d in freezes], side)

    # Legend: the level swatches with the answers each stands for, then the two marks.
    ly = grid_top + 7 * cell + 0.3
    x = MARGIN
    sheet.text(x, ly, "Answers:", size=SMALL_PT, colour=GREY_TEXT, va="center")
    x += 0.72
    for colour, label in zip((EMPTY_DAY, *LEVEL_COLOURS), ("0", "1", "3", "6", "10+"), strict=True):
        sheet.boxes([(x, ly - side / 2, side, side)], [colour])
        t = sheet.text(x + side + 0.04, ly, label, size=SMALL_PT, colour=GREY_TEXT, va="center")
        x += side + 0.04 + sheet.width_in(t) + 0.1
    x += 0.08
    sheet.boxes([(x, ly - side / 2, side, side)], [EMPTY_DAY], edge=VERMILLION, linewidth=1.5)
    t = sheet.text(x + side + 0.05, ly, "streak", size=SMALL_PT, colour=GREY_TEXT, va="center")
    x += side + 0.05 + sheet.width_in(t) + 0.16
    sheet.boxes([(x, ly - side / 2, side, side)], [EMPTY_DAY])
    _diamonds(sheet, [(x, ly - side / 2)], side)
    sheet.text(x + side + 0.05, ly, "freeze", size=SMALL_PT, colour=GREY_TEXT, va="center")


def _diamonds(sheet: _Sheet, corners: Sequence[tuple[float, float]], side: float) -> None:
    from matplotlib.collections import PolyCollection

    if not corners:
        return
    r = side * 0.36
    verts = []
    for x, y in corners:
        cx, cy = x + side / 2, y + side / 2
        verts.append(((cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)))
    sheet.add(PolyCollection(verts, facecolors=BLUE, edgecolors="white", linewidths=0.8))


def _draw_topics(sheet: _Sheet, topics: Sequence[TopicMastery], kind: MasteryKind,
                 titles: Mapping[str, str], top: float) -> None:
    sheet.text(MARGIN, top + 0.3, "Mastery by topic, weakest first", size=TITLE_PT, bold=True)
    sheet.text(MARGIN, top + 0.56, MASTERY_NOTE[kind], size=TEXT_PT, colour=GREY_TEXT)
    y = top + 0.78
    if not topics:
        sheet.text(MARGIN, y + 0.25, "Answer a few questions to see your topics here.",
                   size=TEXT_PT, colour=GREY_TEXT)
        return
    right = WIDTH_IN - MARGIN
    width = right - MARGIN
    bar_h = 0.1
    tracks, bars = [], []
    for t in topics:
        value = _unit(t.mastery)
        label_y = y + 0.2
        # "42%" in bold at the right, "12 answers" in grey before it, the title in what is left.
        pct = sheet.text(right, label_y, f"{round(value * 100)}%", bold=True, ha="right")
        x = right - sheet.width_in(pct) - 0.1
        count = sheet.text(x, label_y, _plural(t.answered, "answer"), size=SMALL_PT, colour=GREY_TEXT,
                           ha="right")
        x -= sheet.width_in(count) + 0.15
        title = texts.mastery_title(titles.get(t.topic, t.topic), t.kind != kind)
        sheet.fitted_text(MARGIN, label_y, title, x - MARGIN)
        bar_y = label_y + 0.07
        tracks.append((MARGIN, bar_y, width, bar_h))
        if value > 0:
            bars.append((MARGIN, bar_y, width * value, bar_h))
        y += TOPIC_ROW_H
    sheet.boxes(tracks, TRACK)
    sheet.boxes(bars, BLUE)


def _draw_forecast(sheet: _Sheet, due: Sequence[int], today: date, top: float) -> None:
    sheet.text(MARGIN, top + 0.3, "Reviews due, next 7 days", size=TITLE_PT, bold=True)
    if not any(due):
        sheet.text(MARGIN, top + 0.56, "Nothing due in the next 7 days.", size=TEXT_PT,
                   colour=GREY_TEXT)
        return
    sheet.text(MARGIN, top + 0.56, f"{_plural(sum(due), 'review')} in all", size=TEXT_PT,
               colour=GREY_TEXT)
    base = top + 1.5  # baseline of the bars
    tallest = 0.62
    slot = (WIDTH_IN - 2 * MARGIN) / FORECAST_DAYS
    peak = max(due)
    bars = []
    for i, n in enumerate(due):
        cx = MARGIN + (i + 0.5) * slot
        h = tallest * n / peak
        if n:
            bars.append((cx - slot * 0.3, base - h, slot * 0.6, h))
        sheet.text(cx, base - h - 0.06, _count(n), bold=True, ha="center")
        day = today + timedelta(days=i)
        sheet.text(cx, base + 0.25, "Today" if i == 0 else WEEKDAYS[day.weekday()],
                   colour=GREY_TEXT, ha="center")
    sheet.boxes(bars, BLUE)
    sheet.boxes([(MARGIN, base, WIDTH_IN - 2 * MARGIN, LINE)], GREY_TEXT)


# --------------------------------------------------------------------------------------- /top
def render_leaderboard(data: LeaderboardPicture) -> bytes:
    """The /top picture as PNG bytes: this week's and all-time tables, names as plain text."""
    _load_matplotlib()
    week = list(data.this_week)[:MAX_ROWS]
    ever = list(data.all_time)[:MAX_ROWS]
    row_h = 0.36
    table_h = [0.75 + row_h * max(1, len(rows)) for rows in (week, ever)]
    sheet = _Sheet(0.75 + sum(table_h) + 0.15)
    sheet.fitted_text(MARGIN, 0.42, data.title or "Leaderboard", WIDTH_IN - 2 * MARGIN,
                      size=TITLE_PT + 2, bold=True)
    y = 0.75
    for heading, rows, h in zip(("This week", "All time"), (week, ever), table_h, strict=True):
        _draw_table(sheet, heading, rows, y, row_h)
        y += h
    return sheet.png()


def _draw_table(sheet: _Sheet, heading: str, rows: Sequence[LeaderboardRow], top: float,
                row_h: float) -> None:
    from matplotlib.patches import Circle

    sheet.text(MARGIN, top + 0.3, heading, size=TITLE_PT, bold=True)
    y = top + 0.48
    if not rows:
        sheet.text(MARGIN, y + 0.25, "Nobody yet: answer a /quiz to be first.", size=TEXT_PT,
                   colour=GREY_TEXT)
        return
    points_x = WIDTH_IN - MARGIN - 1.0  # right edge of the points column
    answers_x = WIDTH_IN - MARGIN  # right edge of the answers column
    sheet.text(points_x, top + 0.3, "points", size=SMALL_PT, colour=GREY_TEXT, ha="right")
    sheet.text(answers_x, top + 0.3, "answers", size=SMALL_PT, colour=GREY_TEXT, ha="right")
    stripes = [(MARGIN - 0.08, y + i * row_h, WIDTH_IN - 2 * MARGIN + 0.16, row_h)
               for i in range(0, len(rows), 2)]
    sheet.boxes(stripes, STRIPE)
    name_x = MARGIN + 0.42
    for i, row in enumerate(rows):
        mid = y + (i + 0.5) * row_h
        if i < len(MEDALS):
            sheet.add(Circle((MARGIN + 0.13, mid), 0.13, facecolor=MEDALS[i], edgecolor="none"))
        sheet.text(MARGIN + 0.13, mid, str(i + 1), size=SMALL_PT, bold=True, ha="center",
                   va="center_baseline", colour=INK)
        sheet.fitted_text(name_x, mid, texts.plain_user_name(row.first_name, row.username), points_x - 0.75 - name_x, size=TEXT_PT,
                          va="center_baseline")
        sheet.text(points_x, mid, _count(row.points), size=TEXT_PT, bold=True, ha="right",
                   va="center_baseline")
        sheet.text(answers_x, mid, _count(row.answered), size=TEXT_PT, colour=GREY_TEXT, ha="right",
                   va="center_baseline")


# ------------------------------------------------------------------------------------- worker
_T = TypeVar("_T")
_R = TypeVar("_R")

MAX_RENDERS_PER_CHILD = 200  # the renderer process is replaced after this many pictures (docs/CHARTS.md)
RENDER_TIMEOUT = 30.0  # seconds: a render that takes longer is killed with its process
SHUTDOWN_GRACE = 3.0  # seconds `shutdown_renderer` waits for the child before killing it
# Imported once by the fork server, so each new renderer process starts with them loaded
# (matplotlib's import is about 1.2 s of the 1.3 s a fresh process needs before its first picture).
PRELOAD = ["bot.charts", "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg",
           "matplotlib.collections", "matplotlib.patches", "matplotlib.transforms", "matplotlib.font_manager",
           "matplotlib.ft2font", "PIL.Image", "PIL.PngImagePlugin"]

log = logging.getLogger(__name__)

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_gate: asyncio.Lock | None = None
_gate_loop: asyncio.AbstractEventLoop | None = None


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one (Linux, macOS): a new renderer is forked from a small server
    process that has imported matplotlib once, so a replacement is ready in a fraction of a second.
    Never plain fork: the bot has threads and an event loop. spawn elsewhere (Windows)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)  # a hint: a module that fails to import is skipped
        return context
    return multiprocessing.get_context("spawn")


def _warm_up_picture() -> StatsPicture:
    today = date(2026, 1, 14)
    days = {today - timedelta(days=i): 1 + i % 11 for i in range(0, 180, 3)}
    return StatsPicture(
        today=today, answers_by_day=days, streak_days=frozenset(list(days)[:5]),
        freeze_days=frozenset({today - timedelta(days=1)}),
        topics=[TopicMastery(f"topic {i}", i / 10, i, "retrievability") for i in range(MAX_TOPICS)],
        forecast=[1, 2, 3, 4, 5, 6, 7],
    )


def _start_renderer() -> None:
    """Initializer of each renderer process, before it takes a picture: matplotlib loaded, the font's
    coverage read and one /stats picture drawn (font files, glyph caches, the figure and its pixel
    buffer), so a learner's picture does not pay for them.

    SIGINT and SIGTERM are ignored: a Ctrl-C in a terminal or systemd's SIGTERM to the whole
    service reach this process too, and pictures still being drawn during the bot's grace period
    should finish. The bot shuts the renderer down on its way out (`shutdown_renderer`); if the
    bot is killed instead, a thread here sees the parent gone and ends this process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    _load_matplotlib()
    _drawable_codepoints()
    _render(render_stats, _warm_up_picture())


def _render(fn: Callable[[_T], _R], data: _T) -> _R:
    """In the renderer: ``fn(data)``, then freed memory handed back to the system. A picture
    allocates and frees tens of megabytes at once, and glibc keeps freed pages in the process:
    without this the renderer held 122-203 MiB over 400 varied pictures, with it 88-176 MiB
    (docs/CHARTS.md). A few milliseconds, after the picture is done."""
    try:
        return fn(data)
    finally:
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where there is none (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # returns when the parent process has ended
    os._exit(0)


def _renderer_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=_context(), initializer=_start_renderer,
                                        max_tasks_per_child=MAX_RENDERS_PER_CHILD)
        return _pool


def _discard(pool: ProcessPoolExecutor, *, kill: bool = False) -> None:
    """Forget ``pool`` (the next render makes a new one); with ``kill``, end its process too."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
    if kill:
        _kill_renderers()


def _kill_renderers() -> None:
    """SIGKILL the renderer processes: the bot's only multiprocessing children."""
    for child in multiprocessing.active_children():
        child.kill()


def _render_gate() -> asyncio.Lock:
    """One render submitted at a time. The child draws one at a time anyway, and Python 3.11's
    pool can leave a queued task without a process when a child retires after
    ``max_tasks_per_child`` with more tasks already queued (CPython issue 115634); with one task
    in flight the replacement is always started."""
    global _gate, _gate_loop
    loop = asyncio.get_running_loop()
    if _gate is None or _gate_loop is not loop:
        _gate, _gate_loop = asyncio.Lock(), loop
    return _gate


async def render_in_worker(fn: Callable[[_T], _R], data: _T) -> _R:
    """``fn(data)`` in the renderer process, so neither the event loop nor the bot's own memory
    carries the drawing (docs/CHARTS.md says why a process). ``fn`` must be a module-level function
    and ``data`` picklable (the dataclasses above are).

    Renders queue one behind the other. If the renderer process dies (killed, out of memory), the
    pool is made again and the picture tried once more; a second failure raises
    `BrokenProcessPool`, which the handlers answer with text. A render that takes longer than
    `RENDER_TIMEOUT` is killed with its process and raises `TimeoutError`."""
    async with _render_gate():
        for attempt in (1, 2):
            pool = _renderer_pool()
            try:
                # Submitted from a thread: the first submit to a new pool starts its process, and
                # with the fork server that waits until the server has imported matplotlib (1-2 s).
                future = await asyncio.to_thread(pool.submit, _render, fn, data)
                return await asyncio.wait_for(asyncio.wrap_future(future), RENDER_TIMEOUT)
            except BrokenProcessPool:
                _discard(pool)
                if attempt == 2:
                    raise
                log.warning("the picture renderer process died; starting a new one")
            except TimeoutError:
                _discard(pool, kill=True)
                raise
    raise AssertionError("unreachable")


async def warm_up() -> None:
    """Start the renderer process now (fork server, matplotlib, fonts: about 1.5 s once per bot
    process, then a fraction of a second per replacement) rather than on the first /stats."""
    await render_in_worker(_pid_of_renderer, None)


def _pid_of_renderer(_: None) -> int:
    return os.getpid()


async def shutdown_renderer() -> None:
    """Stop the renderer process (application shutdown): a picture being drawn may finish within
    `SHUTDOWN_GRACE` seconds, then the process is killed. The next render starts a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    try:
        await asyncio.wait_for(asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True), SHUTDOWN_GRACE)
    except TimeoutError:
        log.warning("the picture renderer did not stop within %.0f s; killing it", SHUTDOWN_GRACE)
        _kill_renderers()
