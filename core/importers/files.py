"""Rows of the insurer's files, CSV or JSON, each with the line number errors refer to."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'row'}: {item['msg']}"
        for item in error.errors()
    )


def read_rows(path: Path, *, key: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) pairs: CSV lines count from 2 (after the header), JSON items from 1.

    A JSON file is an array of objects, or an object holding such an array under `key`.
    Empty CSV cells are absent values.
    """
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as file:
            for line, row in enumerate(csv.DictReader(file), start=2):
                yield line, {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and key is not None:
        data = data.get(key, [])
    if not isinstance(data, list):
        raise ValueError(f"{path}: a JSON array of objects is expected")
    yield from enumerate(data, start=1)
