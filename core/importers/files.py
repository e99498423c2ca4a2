"""Rows of the insurer's files, CSV or JSON, each with the line number errors refer to."""

from __future__ import annotations

import csv
import io
import json
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


def read_rows(path: Path, *, key: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a `.csv` or `.json` file (see `parse_rows`)."""
    kind = "csv" if path.suffix.lower() == ".csv" else "json"
    try:
        return parse_rows(path.read_text(encoding="utf-8-sig"), kind, key=key)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def parse_rows(text: str, kind: str, *, key: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(line, row) pairs: CSV lines count from 2 (after the header), JSON items from 1.

    JSON is an array of objects, or an object holding such an array under `key`. Empty CSV
    cells are absent values. Raises ValueError for text that is neither.
    """
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
        return [
            (line, {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()})
            for line, row in enumerate(reader, start=2)
        ]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from error
    if isinstance(data, dict) and key is not None:
        data = data.get(key, [])
    if not isinstance(data, list):
        raise ValueError("a JSON array of objects is expected")
    return list(enumerate(data, start=1))
