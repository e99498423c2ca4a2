"""Clinics from the insurer's JSON file: upsert by `code`, bad rows reported, the rest loaded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clinics.directory import bump_directory
from core.clinics.models import Clinic
from core.importers.files import ImportReport, describe
from core.policies.care import CARE_TYPES
from core.subjects import BY_CODE, code_of


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

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        code = code_of(value)
        if code is None:
            raise ValueError(f"unknown region {value!r}: a federal subject's name or its code")
        return BY_CODE[code].ru

    def columns(self) -> dict[str, Any]:
        return self.model_dump() | {"region_code": code_of(self.region)}

    @field_validator("care_types")
    @classmethod
    def _known_care_types(cls, value: list[str]) -> list[str]:
        unknown = set(value) - CARE_TYPES
        if unknown:
            raise ValueError(f"unknown care types: {', '.join(sorted(unknown))}")
        return value


async def import_clinics(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, Any]]]
) -> ImportReport:
    """Create or update clinics by their `code`; errors name the file's line."""
    report = ImportReport()
    existing = {c.code: c for c in (await session.scalars(select(Clinic))).all()}
    for number, row in rows:
        try:
            record = ClinicRecord.model_validate(row)
        except ValidationError as error:
            report.errors.append((number, describe(error)))
            continue
        clinic = existing.get(record.code)
        if clinic is None:
            clinic = existing[record.code] = Clinic(**record.columns())
            session.add(clinic)
            report.created += 1
        else:
            for name, value in record.columns().items():
                setattr(clinic, name, value)
            report.updated += 1
    if report.created or report.updated:
        await bump_directory(session)
    await session.commit()
    return report
