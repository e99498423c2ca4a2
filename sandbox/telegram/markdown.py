"""Telegram's MarkdownV2 and legacy Markdown parse modes: plain text and entities, or the 400.

Follows the Bot API's "Formatting options": in MarkdownV2 every character 1-126 may be
escaped with a backslash, and `_*[]()~`>#+-=|{}.!` must be outside an entity's markup;
entities nest; `__` is always underline; inside code and pre only "`" and "\\" are escaped;
inside a link's (...) only ")" and "\\". Legacy Markdown has bold, italic, links, code and pre,
never nested, and escapes only `_*`[` outside entities.
"""

from __future__ import annotations

from typing import Any

from sandbox.telegram.errors import BotApiError, bad_request
from sandbox.telegram.markup import utf16_len

RESERVED = set("_*[]()~`>#+-=|{}.!")
NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
    "![": "CustomEmoji",
}
TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def _error(reason: str) -> BotApiError:
    return bad_request(f"can't parse entities: {reason}")


def _reserved(char: str) -> BotApiError:
    return _error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.units = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.out.append(text)
        self.units += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.units > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.units - start, **extra}
            )

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), entities


def _until(source: str, start: int, closing: str, escapable: str) -> tuple[str, int]:
    """The text up to `closing` (its escapes undone) and the index after it, or -1."""
    text: list[str] = []
    i = start
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source) and source[i + 1] in escapable:
            text.append(source[i + 1])
            i += 2
        elif source.startswith(closing, i):
            return "".join(text), i + len(closing)
        else:
            text.append(source[i])
            i += 1
    return "".join(text), -1


def _pre(builder: _Builder, source: str, i: int, escapable: str) -> int:
    """A ```pre``` block at `i`: the optional language on its first line, then the code."""
    body, after = _until(source, i + 3, "```", escapable)
    if after < 0:
        raise _error(f"Can't find end of Pre entity at byte offset {builder.byte_offset(i)}")
    language = ""
    first, newline, rest = body.partition("\n")
    if newline and " " not in first:  # ```python\n...``` or ```\n...```
        language, body = first, rest
    start = builder.units
    builder.add(body)
    builder.entity("pre", start, **({"language": language} if language else {}))
    return after


def _link(builder: _Builder, source: str, i: int, escapable: str) -> tuple[str, int]:
    """The URL of `](url)` at `i` (the closing bracket), and the index after it."""
    if not source.startswith("(", i + 1):
        raise _reserved("]")
    url, after = _until(source, i + 2, ")", escapable)
    if after < 0:
        raise _error(f"Can't find end of a URL at byte offset {builder.byte_offset(i + 1)}")
    return url, after


def _link_entity(url: str, text_start: int, builder: _Builder) -> None:
    if url.startswith("tg://emoji?id="):
        builder.entity("custom_emoji", text_start, custom_emoji_id=url.split("=", 1)[1])
    elif url:
        builder.entity("text_link", text_start, url=url)


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _Builder(source)
    stack: list[tuple[str, int, int]] = []  # marker, start in units, index in source
    quote: tuple[str, int] | None = None  # "blockquote" or "expandable_blockquote", start
    i = 0
    at_line_start = True
    while i < len(source):
        char = source[i]
        if at_line_start:
            at_line_start = False
            if source.startswith("**>", i) or char == ">":
                if quote is None:
                    expandable = source.startswith("**>", i)
                    kind = "expandable_blockquote" if expandable else "blockquote"
                    quote = (kind, builder.units)
                i += 3 if source.startswith("**>", i) else 1
                continue
            if quote is not None:  # the quotation ended with the line before
                _close_quote(builder, quote)
                quote = None
        if char == "\\":
            if i + 1 >= len(source) or not 1 <= ord(source[i + 1]) <= 126:
                raise _reserved("\\")
            builder.add(source[i + 1])
            i += 2
        elif char == "\n":
            builder.add("\n")
            at_line_start = True
            i += 1
        elif source.startswith("```", i):
            i = _pre(builder, source, i, "`\\")
        elif char == "`":
            code, after = _until(source, i + 1, "`", "`\\")
            if after < 0:
                raise _error(
                    f"Can't find end of Code entity at byte offset {builder.byte_offset(i)}"
                )
            start = builder.units
            builder.add(code)
            builder.entity("code", start)
            i = after
        elif source.startswith("||", i) and quote is not None and _quote_end(source, i + 2):
            i += 2  # the expandability mark of an expandable quotation
        elif source.startswith("![", i):
            stack.append(("![", builder.units, i))
            i += 2
        elif char == "[":
            stack.append(("[", builder.units, i))
            i += 1
        elif char == "]":
            if not stack or stack[-1][0] not in ("[", "!["):
                raise _reserved("]")
            _, start, _ = stack.pop()
            url, i = _link(builder, source, i, ")\\")
            _link_entity(url, start, builder)
        elif source.startswith("__", i) or source.startswith("||", i) or char in "*_~":
            marker = source[i : i + 2] if source.startswith(("__", "||"), i) else char
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                builder.entity(TYPES[marker], start)
            elif any(open_marker == marker for open_marker, _, _ in stack):
                inner, _, index = stack[-1]  # closing an outer entity before the inner one
                raise _error(
                    f"Can't find end of {NAMES[inner]} entity at byte offset "
                    f"{builder.byte_offset(index)}"
                )
            else:
                stack.append((marker, builder.units, i))
            i += len(marker)
        elif char in RESERVED:
            raise _reserved(char)
        else:
            builder.add(char)
            i += 1
    if stack:
        marker, _, index = stack[-1]
        raise _error(
            f"Can't find end of {NAMES[marker]} entity at byte offset {builder.byte_offset(index)}"
        )
    if quote is not None:
        _close_quote(builder, quote)
    return builder.result()


def _quote_end(source: str, index: int) -> bool:
    """Whether `||` ends its line: the mark that closes an expandable quotation."""
    return index >= len(source) or source[index] == "\n"


def _close_quote(builder: _Builder, quote: tuple[str, int]) -> None:
    kind, start = quote
    text = "".join(builder.out)
    trailing = 1 if text.endswith("\n") else 0  # the line break after the quotation is not in it
    end = builder.units - trailing
    if end > start:
        builder.entities.append({"type": kind, "offset": start, "length": end - start})


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    """The legacy Markdown mode: *bold*, _italic_, [text](url), `code`, ```pre```."""
    builder = _Builder(source)
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and source[i + 1] in "_*`[":
            builder.add(source[i + 1])
            i += 2
        elif source.startswith("```", i):
            i = _pre(builder, source, i, "")
        elif char in "*_`":
            end = source.find(char, i + 1)
            if end < 0:
                raise _error(
                    f"Can't find end of the entity starting at byte offset {builder.byte_offset(i)}"
                )
            start = builder.units
            builder.add(source[i + 1 : end])
            builder.entity({"*": "bold", "_": "italic", "`": "code"}[char], start)
            i = end + 1
        elif char == "[":
            close = source.find("]", i + 1)
            if close < 0 or not source.startswith("(", close + 1) or ")" not in source[close:]:
                raise _error(
                    f"Can't find end of the entity starting at byte offset {builder.byte_offset(i)}"
                )
            end = source.index(")", close)
            start = builder.units
            builder.add(source[i + 1 : close])
            _link_entity(source[close + 2 : end], start, builder)
            i = end + 1
        else:
            builder.add(char)
            i += 1
    return builder.result()
