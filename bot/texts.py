"""Telegram's limits, counted as Telegram counts them, and text a person can trust to arrive.

Telegram counts a message's length in UTF-16 code units of the text *after* the HTML is
parsed (an emoji outside the BMP is two units, ``&amp;`` is one), captions likewise, and
callback data in bytes of UTF-8. So: escape user input with :func:`escape` (or aiogram's
``aiogram.utils.formatting``), split or shorten the *plain* text with :func:`split_text` /
:func:`shorten`, and escape each part after.
"""

from __future__ import annotations

import html
import re
import unicodedata

TEXT_LIMIT = 4096  # sendMessage / editMessageText
CAPTION_LIMIT = 1024  # sendDocument / sendPhoto captions
CALLBACK_DATA_LIMIT = 64  # bytes
ALERT_LIMIT = 200  # answerCallbackQuery text
BUTTON_TEXT_LIMIT = 64  # longer button texts are cut by the clients

SCREEN_LINES = 12  # more than this on one screen means a «More» button (CONVERSATION.md 7)

ELLIPSIS = "…"
_TAG = re.compile(r"<[^>]*>")


def escape(text: object) -> str:
    """User or data text inside an HTML message (quotes are left as they are)."""
    return html.escape(str(text), quote=False)


_INNER_QUOTES = str.maketrans({"«": "„", "»": "“"})


def quoted(text: object) -> str:
    """Escaped text to go inside «…»: its own «…» turn into „…“, as Russian typography nests
    quotes (a program «Корпоративный ДМС „Оптимум“», not «…«Оптимум»»)."""
    return escape(text).translate(_INNER_QUOTES)


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def html_len(markup: str) -> int:
    """The length of an HTML message as Telegram counts it: tags dropped, entities as one."""
    return utf16_len(html.unescape(_TAG.sub("", markup)))


def callback_fits(data: str) -> bool:
    return len(data.encode()) <= CALLBACK_DATA_LIMIT


def _visible(char: str) -> bool:
    # Zs/Zl/Zp: spaces; Cc: controls (\n, \t); Cf: zero-width spaces, joiners, marks, BOM.
    return unicodedata.category(char) not in {"Zs", "Zl", "Zp", "Cc", "Cf"}


def is_blank(text: str | None) -> bool:
    """Nothing but whitespace or zero-width characters: empty input."""
    return not any(_visible(char) for char in text or "")


def clean_input(text: str | None) -> str:
    """What the person typed, without the invisible edges; "" when nothing visible is left."""
    if is_blank(text):
        return ""
    assert text is not None
    start = next(i for i, char in enumerate(text) if _visible(char))
    end = len(text) - next(i for i, char in enumerate(reversed(text)) if _visible(char))
    return text[start:end]


_ENTITY_TAIL = re.compile(r"&[#a-zA-Z0-9]{1,10}$")


def _cut(text: str, limit: int) -> int:
    """The longest prefix (in characters) within `limit` UTF-16 units, never halving a pair
    nor an HTML entity (``&amp;``) of an already escaped text."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            tail = _ENTITY_TAIL.search(text[max(0, index - 11) : index])
            return max(index - len(tail.group()), 1) if tail else index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Plain text in parts of at most `limit` UTF-16 units each, cut at a paragraph break,
    else a line break, else a space, else anywhere (never inside a surrogate pair)."""
    if limit < 2:
        raise ValueError("limit too small")
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        head = rest[: _cut(rest, limit)]
        for separator in ("\n\n", "\n", " "):
            at = head.rfind(separator)
            if at > 0:
                parts.append(head[:at].rstrip())
                rest = rest[at + len(separator) :].lstrip("\n")
                break
        else:
            parts.append(head)
            rest = rest[len(head) :]
    if rest.strip() or not parts:
        parts.append(rest)
    return [part for part in parts if part] or [""]


def shorten(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units; a cut text ends with "…" after the last whole word."""
    if utf16_len(text) <= limit:
        return text
    head = text[: _cut(text, limit - utf16_len(ELLIPSIS))]
    at = head.rfind(" ")
    if at > len(head) // 2:
        head = head[:at]
    return head.rstrip() + ELLIPSIS


def line_count(text: str) -> int:
    """The lines a person reads: blank ones do not count."""
    return sum(1 for line in text.split("\n") if line.strip())


def screen_pages(title: str, blocks: list[str], limit: int = SCREEN_LINES) -> list[str]:
    """A long screen as pages of at most `limit` lines, each opening with `title` and keeping
    each block (a section with its lines) whole where it fits on a page at all."""
    pages: list[list[str]] = [[]]
    room = limit - line_count(title)
    used = 0
    for block in blocks:
        size = line_count(block)
        if pages[-1] and used + size > room:
            pages.append([])
            used = 0
        pages[-1].append(block)
        used += size
    return ["\n".join([title, *page]) for page in pages]
