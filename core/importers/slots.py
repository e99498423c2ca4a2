"""Appointment slots the clinics publish for online booking: upsert by (clinic, doctor, start);
a taken slot stays taken. A time without a zone is Moscow time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clinics.models import Clinic, ClinicSlot
from core.formatting import MOSCOW
from core.importers.files import ImportReport, describe


class SlotRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    clinic: str = Field(min_length=1, max_length=64)  # the clinic's code
    specialty: str = Field(min_length=1, max_length=128)
    doctor: str = Field(min_length=1, max_length=256)
    starts_at: datetime
    minutes: int = Field(default=30, ge=5, le=480)

    @field_validator("starts_at")
    @classmethod
    def _zoned(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=MOSCOW) if value.tzinfo is None else value


async def import_slots(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, Any]]]
) -> ImportReport:
    report = ImportReport()
    codes = await session.execute(select(Clinic.code, Clinic.id))
    clinics = {code: clinic_id for code, clinic_id in codes.all()}
    existing = {
        (s.clinic_id, s.doctor, s.starts_at): s for s in (await session.scalars(select(ClinicSlot)))
    }
    for number, row in rows:
        try:
            record = SlotRecord.model_validate(row)
        except ValidationError as error:
            report.errors.append((number, describe(error)))
            continue
        clinic_id = clinics.get(record.clinic)
        if clinic_id is None:
            report.errors.append((number, f"clinic: no clinic with code {record.clinic!r}"))
            continue
        key = (clinic_id, record.doctor, record.starts_at)
        slot = existing.get(key)
        if slot is None:
            existing[key] = ClinicSlot(
                clinic_id=clinic_id,
                specialty=record.specialty,
                doctor=record.doctor,
                starts_at=record.starts_at,
                minutes=record.minutes,
                taken=False,
            )
            session.add(existing[key])
            report.created += 1
        else:
            slot.specialty, slot.minutes = record.specialty, record.minutes
            report.updated += 1
    await session.commit()
    return report
