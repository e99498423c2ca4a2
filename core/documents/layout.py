"""A document as plain data, already in the reader's language: composed once, rendered to PDF.

The layout is also the cache key: the fingerprint of what would be printed changes exactly when
the printed document would, whatever the reason (policy, program, clinics or wording).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

RENDERER_VERSION = 2  # bump when the PDF drawing changes without the layout changing


@dataclass(frozen=True, slots=True)
class Heading:
    text: str


@dataclass(frozen=True, slots=True)
class Fields:
    rows: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True, slots=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: list[int]  # relative column widths


Block = Heading | Fields | Paragraph | Bullets | Table


@dataclass(frozen=True, slots=True)
class Layout:
    filename: str
    title: str
    issuer: str
    blocks: list[Block] = field(default_factory=list)

    def fingerprint(self) -> str:
        payload = {
            "version": RENDERER_VERSION,
            "filename": self.filename,
            "title": self.title,
            "issuer": self.issuer,
            "blocks": [[type(block).__name__, asdict(block)] for block in self.blocks],
        }
        data = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()
