"""Looking clinics up in the directory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clinics.models import Clinic, DirectoryVersion
from core.errors import NotFoundError
from core.policies.models import ProgramClinic


async def bump_directory(session: AsyncSession) -> None:
    """Tell every process's clinic index that clinics or programs changed (the caller commits)."""
    row = await session.get(DirectoryVersion, 1)
    if row is None:
        session.add(DirectoryVersion(id=1, version=1))
    else:
        row.version += 1


async def get_clinic(session: AsyncSession, clinic_id: int) -> Clinic:
    clinic = await session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFoundError("clinic")
    return clinic


@dataclass(frozen=True, slots=True)
class ProgramClinicView:
    care_type: str
    clinic: Clinic


async def program_clinics(session: AsyncSession, program_id: int) -> list[ProgramClinicView]:
    """The clinics a program includes, per type of care, ordered by care type, city and name."""
    rows = await session.execute(
        select(ProgramClinic.care_type, Clinic)
        .join(Clinic, Clinic.id == ProgramClinic.clinic_id)
        .where(ProgramClinic.program_id == program_id)
        .order_by(ProgramClinic.care_type, Clinic.city, Clinic.name)
    )
    return [ProgramClinicView(care_type, clinic) for care_type, clinic in rows.all()]
