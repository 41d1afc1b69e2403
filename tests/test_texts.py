"""Telegram counts message lengths in UTF-16 code units, after parsing the HTML markup.

`clip` and `fit_html` are the last line of defence before a send; these tests pin down that
they count the way Telegram does (an emoji such as 🧠 is 2 units, tags are 0).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.texts import MAX_MESSAGE, clip, fit_html, utf16_len


def test_utf16_length_counts_astral_characters_twice():
    assert utf16_len("dropout") == 7
    assert utf16_len("é") == 1  # in the Basic Multilingual Plane
    assert utf16_len("🧠") == 2  # a surrogate pair
    assert utf16_len("🧠 brain") == 8


def test_clip_keeps_short_text_and_cuts_long_text_in_utf16_units():
    assert clip("short", 10) == "short"
    assert clip("🧠" * 5, 10) == "🧠" * 5  # exactly 10 units
    clipped = clip("🧠" * 6, 10)
    assert clipped == "🧠" * 4 + "…" and utf16_len(clipped) == 9  # never half an emoji


@given(st.text(), st.integers(min_value=2, max_value=300))
def test_clip_never_exceeds_the_limit_and_keeps_a_prefix(text, limit):
    clipped = clip(text, limit)
    assert utf16_len(clipped) <= limit
    if clipped != text:
        assert clipped.endswith("…") and text.startswith(clipped[:-1])


def test_fit_html_keeps_markup_when_the_visible_text_fits():
    # 4,000 visible units but 4,000 + 7 * 300 characters of markup: Telegram accepts it as HTML.
    text = "<b>x</b>" * 300 + "y" * 3700
    assert len(text) > MAX_MESSAGE
    assert fit_html(text) == (text, "HTML")


def test_fit_html_falls_back_to_clipped_plain_text_counted_in_utf16():
    text = "<b>Model answer</b>\n" + "🧠" * 2100 + " &amp; more"  # 4,200+ units of visible text
    clipped, mode = fit_html(text)
    assert mode is None
    assert clipped.startswith("Model answer\n🧠") and "<b>" not in clipped
    assert utf16_len(clipped) <= MAX_MESSAGE and clipped.endswith("…")
