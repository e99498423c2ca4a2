"""Layouts drawn to PDF with fpdf2 and the bundled DejaVu Sans (Cyrillic and Latin).

Heavy to import (fpdf2, fontTools, pyphen): `core.documents.service` imports this module only
when a document is rendered, so a process that never renders one never loads them.

Every block is left-aligned except paragraphs; labels and values are table cells, so a cell
that wraps makes its whole row taller instead of printing over the next one. Long words get
soft hyphens at their syllables (pyphen: Russian or English by the word's letters), so a word
that does not fit its cell breaks with a hyphen, never in the middle without one.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path

import pyphen
from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from core.documents.layout import Bullets, Fields, Heading, Layout, Paragraph, Table

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
LINE = 5.5
TEXT_SIZE = 9.5
TABLE_SIZE = 8.5
BULLET_INDENT = 5.0
LABEL_SHARE = 38  # per cent of the width for a label beside its value
SOFT_HYPHEN = "\u00ad"
_WORD = re.compile(r"[^\W\d_]{5,}")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_BOLD = FontFace(emphasis="BOLD")


@cache
def _dictionary(language: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=language, left=2, right=2)


def hyphenate(text: str) -> str:
    """The text with soft hyphens where its longer words may break (invisible unless used)."""

    def word(match: re.Match[str]) -> str:
        language = "ru_RU" if _CYRILLIC.search(match.group()) else "en_US"
        hyphenated: str = _dictionary(language).inserted(match.group(), hyphen=SOFT_HYPHEN)
        return hyphenated

    return _WORD.sub(word, text)


class _Sheet(FPDF):
    def __init__(self, layout: Layout) -> None:
        super().__init__(format="A4")
        self.layout = layout
        self.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)

    def header(self) -> None:
        self.set_font(FAMILY, "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, self.layout.issuer, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(110, 110, 110)
        self.multi_cell(0, 4, hyphenate(f"{self.layout.title} · {self.page_no()}"), align=Align.C)


def render(layout: Layout, created: datetime) -> bytes:
    pdf = _Sheet(layout)
    pdf.set_title(layout.title)
    pdf.set_author(layout.issuer)
    pdf.set_creator(layout.issuer)
    pdf.set_creation_date(created)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 15)
    _text(pdf, 8, layout.title)
    pdf.ln(2)
    for block in layout.blocks:
        _draw(pdf, block)
    return bytes(pdf.output())


def _text(pdf: _Sheet, height: float, text: str, align: Align = Align.L) -> None:
    pdf.multi_cell(0, height, hyphenate(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _draw(pdf: _Sheet, block: object) -> None:
    if isinstance(block, Heading):
        pdf.ln(3)
        pdf.set_font(FAMILY, "B", 11.5)
        _text(pdf, 7, block.text)
    elif isinstance(block, Fields):
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        with pdf.table(
            col_widths=(LABEL_SHARE, 100 - LABEL_SHARE),
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.NONE,
            line_height=LINE,
            text_align=Align.L,
            v_align="TOP",
            padding=(0.4, 2, 0.4, 0),
        ) as table:
            for label, value in block.rows:
                row = table.row()
                row.cell(hyphenate(label), style=_BOLD)
                row.cell(hyphenate(value))
        pdf.ln(2)
    elif isinstance(block, Paragraph):
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        _text(pdf, LINE, block.text, Align.J)
        pdf.ln(1)
    elif isinstance(block, Bullets):
        pdf.set_font(FAMILY, "", TEXT_SIZE)
        for item in block.items:
            if pdf.will_page_break(LINE):  # the bullet goes where its text starts
                pdf.add_page()
            pdf.cell(BULLET_INDENT, LINE, "•")
            pdf.multi_cell(
                pdf.epw - BULLET_INDENT,
                LINE,
                hyphenate(item),
                align=Align.L,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
    elif isinstance(block, Table):
        pdf.set_font(FAMILY, "", TABLE_SIZE)
        with pdf.table(
            col_widths=tuple(block.widths),
            line_height=4.8,
            text_align=Align.L,
            v_align="TOP",
        ) as table:
            header = table.row()
            for title in block.header:
                header.cell(hyphenate(title))
            for values in block.rows:
                row = table.row()
                for value in values:
                    row.cell(hyphenate(value))
        pdf.ln(2)
