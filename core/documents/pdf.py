"""Layouts drawn to PDF with fpdf2 and the bundled DejaVu Sans (Cyrillic and Latin)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core.documents.layout import Bullets, Fields, Heading, Layout, Paragraph, Table

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
LINE = 5.5


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
        self.cell(0, 5, f"{self.layout.title} · {self.page_no()}", align="C")


def render(layout: Layout, created: datetime) -> bytes:
    pdf = _Sheet(layout)
    pdf.set_title(layout.title)
    pdf.set_author(layout.issuer)
    pdf.set_creator(layout.issuer)
    pdf.set_creation_date(created)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 15)
    pdf.multi_cell(0, 8, layout.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    for block in layout.blocks:
        _draw(pdf, block)
    return bytes(pdf.output())


def _draw(pdf: _Sheet, block: object) -> None:
    width = pdf.epw
    if isinstance(block, Heading):
        pdf.ln(3)
        pdf.set_font(FAMILY, "B", 11.5)
        pdf.multi_cell(0, 7, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif isinstance(block, Fields):
        for label, value in block.rows:
            pdf.set_font(FAMILY, "B", 9.5)
            pdf.multi_cell(width * 0.34, LINE, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            top = pdf.get_y()
            pdf.set_font(FAMILY, "", 9.5)
            pdf.multi_cell(0, LINE, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_y(max(pdf.get_y(), top + LINE))
        pdf.ln(2)
    elif isinstance(block, Paragraph):
        pdf.set_font(FAMILY, "", 9.5)
        pdf.multi_cell(0, LINE, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    elif isinstance(block, Bullets):
        pdf.set_font(FAMILY, "", 9.5)
        for item in block.items:
            pdf.multi_cell(0, LINE, f"•  {item}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif isinstance(block, Table):
        pdf.set_font(FAMILY, "", 8.5)
        with pdf.table(col_widths=tuple(block.widths), line_height=4.8, text_align="LEFT") as table:
            header = table.row()
            for title in block.header:
                header.cell(title)
            for values in block.rows:
                row = table.row()
                for value in values:
                    row.cell(value)
        pdf.ln(2)
