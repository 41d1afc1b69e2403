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
* matplotlib is imported on the first render, in the worker thread: it costs about 1.2 s and 66 MiB,
  which a bot that never draws need not pay. Call `warm_up()` to pay it early.
* `render_in_worker` runs renders one at a time on a dedicated thread: a render is CPU-bound
  Python (holding the GIL), so more threads would add no throughput, only memory (a figure
  each) and matplotlib's thread-safety caveats; a dedicated executor also keeps renders out of
  the loop's default executor. Measured in bench/charts.py and docs/CHARTS.md.
"""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from content.progress import MasteryKind, TopicMastery

from . import texts
from .jobs.housekeeping import release_free_memory

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
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _renderer_thread() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
        return _executor


def _render_and_trim(fn: Callable[[_T], bytes], data: _T) -> bytes:
    """A picture allocates tens of megabytes of buffers and frees them at once; glibc keeps freed
    pages in the thread's arena, so hand them back right away (a few ms, on this thread) rather
    than at the next minute's trim: resident memory then follows what the bot really holds."""
    try:
        return fn(data)
    finally:
        release_free_memory()


async def render_in_worker(fn: Callable[[_T], bytes], data: _T) -> bytes:
    """``fn(data)`` on the charts thread, so the event loop keeps serving updates meanwhile.

    Renders queue one behind the other (see the module docstring for why one thread)."""
    return await asyncio.get_running_loop().run_in_executor(_renderer_thread(), _render_and_trim, fn, data)


async def warm_up() -> None:
    """Import matplotlib and read the font on the charts thread now rather than on the first
    /stats (about 1 s, once per process)."""

    def load() -> None:
        _load_matplotlib()
        _drawable_codepoints()

    await asyncio.get_running_loop().run_in_executor(_renderer_thread(), load)
