"""Clinics from the insurer's JSON file: upsert by `code`, bad rows reported, the rest loaded."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clinics.models import Clinic

CARE_TYPES = frozenset(
    {"outpatient", "dental", "home_visit", "emergency", "hospital", "telemedicine"}
)


class ClinicRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=512)
    legal_name: str | None = None
    region: str = Field(min_length=1)
    city: str = Field(min_length=1)
    address: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    phones: list[str] = Field(default_factory=list)
    working_hours: str | None = None
    care_types: list[str] = Field(min_length=1)
    direct_access: bool = True
    franchise_only: bool = False
    booking_url: str | None = None
    notes: str | None = None

    @field_validator("care_types")
    @classmethod
    def _known_care_types(cls, value: list[str]) -> list[str]:
        unknown = set(value) - CARE_TYPES
        if unknown:
            raise ValueError(f"unknown care types: {', '.join(sorted(unknown))}")
        return value


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


async def import_clinics(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> ImportReport:
    """Create or update clinics by their `code`; rows are numbered from 1 in the report."""
    report = ImportReport()
    existing = {c.code: c for c in (await session.scalars(select(Clinic))).all()}
    for number, row in enumerate(rows, start=1):
        try:
            record = ClinicRecord.model_validate(row)
        except ValidationError as error:
            report.errors.append((number, describe(error)))
            continue
        clinic = existing.get(record.code)
        if clinic is None:
            clinic = existing[record.code] = Clinic(**record.model_dump())
            session.add(clinic)
            report.created += 1
        else:
            for name, value in record.model_dump().items():
                setattr(clinic, name, value)
            report.updated += 1
    await session.commit()
    return report


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'row'}: {item['msg']}"
        for item in error.errors()
    )


def read_json_rows(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a JSON array of objects is expected")
    return data
