"""Genuine small files, made by Pillow, for upload tests (the bot checks files by their bytes)."""

from __future__ import annotations

import io

from PIL import Image


def image(fmt: str, color: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buffer, format=fmt)
    return buffer.getvalue()


JPEG = image("JPEG")
PNG = image("PNG")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# The start of an iPhone photo: an ISO-BMFF `ftyp` box with the HEIC brand.
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
