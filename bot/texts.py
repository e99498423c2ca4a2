"""Telegram's text limits, counted as Telegram counts them (UTF-16 code units), and long texts
split into messages at paragraph or line breaks (CONVERSATION.md §5)."""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
_ENTITY = re.compile(r"&[#a-zA-Z0-9]{1,10};?$")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """The longest prefix (in characters) that fits `limit` UTF-16 units, not cutting an HTML
    entity (`&amp;`) in two."""
    units, end = 0, 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is the answer
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
    else:
        return len(text)
    tail = _ENTITY.search(text[max(0, end - 12) : end])
    if tail:
        end -= len(tail.group())
    return max(end, 1)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-16 units: cut at a paragraph break, else a line break, else
    a space, else anywhere (never inside an HTML entity). Tags are not carried over a cut, so a
    tag must not span a line break in a text that may be long."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        fit = _cut(rest, limit)
        head = rest[:fit]
        for separator in ("\n\n", "\n", " "):
            at = head.rfind(separator)
            if at > 0:
                parts.append(rest[:at].rstrip())
                rest = rest[at + len(separator) :].lstrip("\n")
                break
        else:
            parts.append(head)
            rest = rest[fit:]
    if rest.strip() or not parts:
        parts.append(rest)
    return [part for part in parts if part.strip()] or [text[:1]]
