"""Telegram's limits as Telegram counts them (bot/texts.py), checked on any text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.texts import (
    clean_input,
    escape,
    html_len,
    is_blank,
    shorten,
    split_text,
    utf16_len,
)

# Letters, emoji outside the BMP, spaces and line breaks: the mix that breaks naive counting.
ANY_TEXT = st.lists(
    st.sampled_from(["а", "b", "😀", "👨\u200d👩\u200d👧", " ", "\n", "\n\n", "&", "<"]),
    max_size=1500,
).map("".join)


def test_emoji_count_twice_as_telegram_does() -> None:
    assert len("😀" * 2100) == 2100
    assert utf16_len("😀" * 2100) == 4200
    assert html_len("<b>a&amp;b</b> 😀") == 6


@given(ANY_TEXT, st.integers(min_value=2, max_value=600))
def test_split_parts_fit_and_lose_only_the_breaks(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(utf16_len(part) <= limit for part in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )


def test_split_prefers_paragraphs_then_lines() -> None:
    text = "первый абзац\n\nвторой абзац\nвторая строка"
    assert split_text(text, 20) == ["первый абзац", "второй абзац", "вторая строка"]


@given(ANY_TEXT, st.integers(min_value=2, max_value=600))
def test_shorten_fits_and_marks_the_cut(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert utf16_len(short) <= limit
    assert short == text or short.endswith("…")


def test_blank_input_is_empty() -> None:
    for blank in ("", "   ", "\u200b\u200b", "\u2060 \ufeff\n", "\u3000"):
        assert is_blank(blank) and clean_input(blank) == ""
    assert clean_input("\u200b Анна \u200b") == "Анна"


def test_escape_keeps_quotes_and_breaks_tags() -> None:
    assert escape('a&b <i>"x"</i>') == 'a&amp;b &lt;i&gt;"x"&lt;/i&gt;'
