"""Telegram's HTML parse mode: validation, plain text with entities, and safe HTML for display."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from sandbox.telegram.errors import bad_request

# tag -> entity type
TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
DISPLAY_TAG = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "span",
    "text_link": "a",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "expandable_blockquote": "blockquote",
    "custom_emoji": "span",
    "url": "a",
}
_BAD_AMP = re.compile(r"&(?!(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);)")
_SAFE_URL = re.compile(r"^(https?|tg|mailto):", re.IGNORECASE)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.units = 0
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        values = dict(attrs)
        extra: dict[str, Any] = {}
        if tag == "span" and values.get("class") != "tg-spoiler":
            raise bad_request('can\'t parse entities: Unsupported start tag "span"')
        if tag == "a":
            href = values.get("href") or ""
            if not href:
                raise bad_request("can't parse entities: Can't find href attribute of a tag")
            extra["url"] = href
        if tag == "pre" or tag == "code":
            language = (values.get("class") or "").removeprefix("language-")
            if language:
                extra["language"] = language
        if tag == "tg-emoji":
            extra["custom_emoji_id"] = values.get("emoji-id") or "0"
        self.stack.append((tag, self.units, extra))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        _, start, extra = self.stack.pop()
        length = self.units - start
        if length > 0:
            self.entities.append({"type": TAGS[tag], "offset": start, "length": length, **extra})

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.units += utf16_len(data)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of an HTML-formatted message, or Telegram's 400 error."""
    if _BAD_AMP.search(source):
        raise bad_request("can't parse entities: Unsupported entity or unescaped '&'")
    parser = _Parser()
    parser.feed(source)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        )
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.text), entities


def to_display_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """Safe HTML for the web chat, rebuilt from plain text and entities (never from input)."""
    units = text.encode("utf-16-le")
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in entities or []:
        tag = DISPLAY_TAG.get(entity["type"])
        if tag is None:
            continue
        start, end = entity["offset"], entity["offset"] + entity["length"]
        attrs = ""
        if tag == "a":
            url = entity.get("url") or units[start * 2 : end * 2].decode("utf-16-le")
            if _SAFE_URL.match(url):
                attrs = f' href="{html.escape(url)}" target="_blank" rel="noopener"'
        elif entity["type"] == "spoiler":
            attrs = ' class="spoiler"'
        opens.setdefault(start, []).append(f"<{tag}{attrs}>")
        closes.setdefault(end, []).insert(0, f"</{tag}>")
    size = len(units) // 2
    bounds = sorted({0, size, *opens, *closes})
    out: list[str] = []
    for here, nxt in zip(bounds, [*bounds[1:], None], strict=True):
        out.extend(closes.get(here, []))
        out.extend(opens.get(here, []))
        if nxt is not None:
            piece = units[here * 2 : nxt * 2].decode("utf-16-le", errors="replace")
            out.append(html.escape(piece, quote=False).replace("\n", "<br>"))
    return "".join(out)
