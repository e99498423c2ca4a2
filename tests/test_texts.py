"""Long texts in parts as Telegram counts them (UTF-16 units), cut at paragraph, line or word
breaks, never inside an HTML entity or an astral character."""

from __future__ import annotations

import re

from bot.texts import split_text, utf16_len


def test_parts_fit_the_limit_and_keep_every_word() -> None:
    paragraphs = ["Абзац 😊 " * 300, "Строка\n" * 500, "слово " * 900]
    text = "\n\n".join(paragraphs)
    parts = split_text(text)
    assert len(parts) > 1 and all(utf16_len(p) <= 4096 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_a_line_without_breaks_is_cut_outside_entities() -> None:
    text = "&lt;" * 3000 + "😊" * 3000  # escaped person's input, no space anywhere
    parts = split_text(text, limit=1000)
    assert all(utf16_len(p) <= 1000 for p in parts)
    assert "".join(parts) == text
    assert all(re.fullmatch(r"(&lt;)*😊*", p) for p in parts), "no entity cut in two"


def test_a_short_text_is_one_part() -> None:
    assert split_text("Спасибо!") == ["Спасибо!"]
