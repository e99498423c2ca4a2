"""Layout checks of a rendered PDF from its glyph and word boxes (pdfplumber): what a reader sees.

- no two letters are printed over each other;
- a word that does not fit its line or cell breaks only with a hyphen (at a syllable or at a
  hyphen the word has), never in the middle without one ("Стоматологиче" / "ская");
- titles and headings are not justified (their words are one space apart);
- nothing runs off the page.

The word check needs the words the document was made from: a printed word is whole, or a
piece of one that ends with a hyphen, or the rest of a word whose first piece ended with one.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import pdfplumber

TOLERANCE = 0.5  # points: glyph boxes of neighbouring letters may touch


@dataclass(frozen=True, slots=True)
class Box:
    page: int
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float = 0.0

    def overlaps(self, other: Box) -> bool:
        return (
            self.page == other.page
            and min(self.x1, other.x1) - max(self.x0, other.x0) > TOLERANCE
            and min(self.bottom, other.bottom) - max(self.top, other.top) > TOLERANCE
        )


@dataclass(frozen=True, slots=True)
class Reading:
    """A PDF read once: its letters, its words and its page sizes."""

    glyphs: list[Box]
    words: list[Box]
    pages: list[tuple[float, float]]
    text: str


def read(content: bytes) -> Reading:
    glyphs: list[Box] = []
    words: list[Box] = []
    pages: list[tuple[float, float]] = []
    texts: list[str] = []
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            pages.append((float(page.width), float(page.height)))
            glyphs += [
                Box(number, c["text"], c["x0"], c["top"], c["x1"], c["bottom"], c["size"])
                for c in page.chars
                if c["text"].strip()
            ]
            words += [
                Box(number, w["text"], w["x0"], w["top"], w["x1"], w["bottom"])
                for w in page.extract_words()
            ]
            texts.append(page.extract_text() or "")
    return Reading(glyphs, words, pages, "\n".join(texts))


def pdf_text(content: bytes) -> str:
    return read(content).text


def overlapping(pdf: Reading) -> list[tuple[str, str]]:
    """Pairs of letters printed over each other.

    Letters, not words: two lines printed over each other mix into one "word" of both.
    """
    glyphs = sorted(pdf.glyphs, key=lambda g: (g.page, g.top))
    pairs = []
    for i, glyph in enumerate(glyphs):
        for other in itertools.islice(glyphs, i + 1, None):
            if other.page != glyph.page or other.top >= glyph.bottom:
                break
            if glyph.overlaps(other):
                pairs.append((glyph.text, other.text))
    return pairs


def broken_words(pdf: Reading, source: str) -> list[str]:
    """Printed words that are a piece of a source word cut without a hyphen."""
    tokens = set(source.split())
    printed = [piece for w in pdf.words for piece in w.text.split()]  # no-break spaces
    heads = {w[:-1] for w in printed if w.endswith("-")}
    bad = []
    for word in printed:
        if word in tokens:
            continue
        if word.endswith("-") and any(word[:-1] in t or word in t for t in tokens):
            continue  # a piece ended with a hyphen (a syllable, or the word's own hyphen)
        if any(
            t.endswith(word) and len(t) > len(word) and _after_a_hyphen(t[: -len(word)], heads)
            for t in tokens
        ):
            continue  # the rest of a word whose first piece ended with a hyphen
        bad.append(word)
    return bad


def _after_a_hyphen(before: str, heads: set[str]) -> bool:
    before = before.removesuffix("-")
    return any(before.endswith(head) for head in heads if head)


def off_page(pdf: Reading) -> list[str]:
    """Words printed (partly) outside their page."""
    return [
        w.text
        for w in pdf.words
        if w.x0 < 0
        or w.top < 0
        or w.x1 > pdf.pages[w.page - 1][0]
        or w.bottom > pdf.pages[w.page - 1][1]
    ]


def stretched_lines(pdf: Reading, min_size: float = 11.0) -> list[str]:
    """Lines of titles and headings (text of `min_size` points or more) set justified.

    A left-aligned line has one space (a third of the size) between words; a justified one
    stretches them.
    """
    lines: dict[tuple[int, float], list[Box]] = {}
    for glyph in pdf.glyphs:
        if glyph.size >= min_size:
            lines.setdefault((glyph.page, round(glyph.top, 1)), []).append(glyph)
    stretched = []
    for line in lines.values():
        line.sort(key=lambda g: g.x0)
        if any(b.x0 - a.x1 > 0.6 * a.size for a, b in itertools.pairwise(line)):
            stretched.append("".join(g.text for g in line))
    return stretched
