"""Programs and policies from the insurer's files (one insured person per policy row).

Re-importing updates and never duplicates: programs by `code`, policies by `policy_number`,
insured persons by name and birth date within their policy. A bad row is reported with its
line and the rest is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.crypto import Vault
from core.accounts.registration import document_digest
from core.accounts.validation import (
    DocumentType,
    InvalidInput,
    normalize_name,
    parse_date,
    parse_document,
)
from core.clinics.directory import bump_directory
from core.clinics.models import Clinic
from core.importers.files import ImportReport, describe
from core.policies.care import CARE_TYPES
from core.policies.models import (
    ContractKind,
    InsuredPerson,
    Policy,
    PolicyKind,
    Program,
    ProgramClinic,
    Territory,
)

Progress = Callable[[int], None]
FLUSH_EVERY = 1000


def _split(value: Any) -> Any:
    """CSV cells hold lists as `a;b;c`."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


def _known_care_types(value: list[str]) -> list[str]:
    unknown = set(value) - CARE_TYPES
    if unknown:
        raise ValueError(f"unknown care types: {', '.join(sorted(unknown))}")
    return value


class ProgramClinicRecord(BaseModel):
    clinic: str
    care_types: list[str]

    _split = field_validator("care_types", mode="before")(_split)
    _known = field_validator("care_types")(_known_care_types)


class ProgramRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    care_types: list[str] = Field(min_length=1)
    exclusions: list[str] = Field(default_factory=list)
    franchise_percent: int | None = Field(default=None, ge=1, le=100)
    waiting_days: int = Field(default=0, ge=0, le=365)
    child_age_limit: int = Field(default=17, ge=0, le=17)
    activation_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 14)
    registration_working_days: int = Field(default=0, ge=0, le=30)
    desk_phone: str | None = None
    curator: str | None = None  # the medical curator: a name and a phone, no label
    admin_curator: str | None = None  # the administrative curator of the contract
    telemedicine_phone: str | None = None
    clinics: list[ProgramClinicRecord] = Field(default_factory=list)

    @field_validator("curator", "admin_curator")
    @classmethod
    def _no_label(cls, value: str | None) -> str | None:
        if value and re.match(r"^[^:]{0,40}куратор[^:]{0,40}:", value, re.IGNORECASE):
            raise ValueError("a name and a phone only: the label («Врач-куратор») is the bot's")
        return value

    _split = field_validator("care_types", "exclusions", mode="before")(_split)
    _known = field_validator("care_types")(_known_care_types)


def _date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_date(value)
        except InvalidInput:
            raise ValueError(f"not a date: {value!r}") from None
    return value


def _name(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return normalize_name(value)
        except InvalidInput as error:
            raise ValueError(f"bad name {value!r}: {error.problem.value}") from None
    return value


class PolicyRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    policy_number: str = Field(min_length=3, max_length=64, pattern=r"^[0-9A-Za-zА-Яа-яЁё/-]+$")
    product: str = Field(min_length=1)
    kind: PolicyKind = PolicyKind.DMS
    contract: ContractKind
    policyholder: str | None = None
    valid_from: date
    valid_to: date
    territory: Territory = Territory.NONE
    paid: bool = True
    program_code: str | None = None
    parent_policy_number: str | None = None
    surname: str
    first_name: str
    patronymic: str | None = None
    birth_date: date
    document_type: DocumentType | None = None
    document_number: str | None = None
    representative_surname: str | None = None
    representative_first_name: str | None = None
    representative_patronymic: str | None = None
    representative_birth_date: date | None = None

    _dates = field_validator(
        "valid_from", "valid_to", "birth_date", "representative_birth_date", mode="before"
    )(_date)
    _names = field_validator(
        "surname",
        "first_name",
        "patronymic",
        "representative_surname",
        "representative_first_name",
        "representative_patronymic",
        mode="before",
    )(_name)

    @field_validator("policy_number")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _consistent(self) -> PolicyRecord:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if self.kind is PolicyKind.DMS and self.program_code is None:
            raise ValueError("a DMS policy needs program_code")
        if self.kind is PolicyKind.DMS and self.territory is Territory.NONE:
            raise ValueError("a DMS policy needs a territory")
        if (self.document_type is None) != (self.document_number is None):
            raise ValueError("document_type and document_number go together")
        return self


async def import_programs(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, Any]]]
) -> ImportReport:
    report = ImportReport()
    clinics = {c.code: c.id for c in (await session.scalars(select(Clinic))).all()}
    for line, row in rows:
        try:
            record = ProgramRecord.model_validate(row)
        except ValidationError as error:
            report.errors.append((line, describe(error)))
            continue
        unknown = [c.clinic for c in record.clinics if c.clinic not in clinics]
        if unknown:
            report.errors.append((line, f"clinics: unknown codes {', '.join(unknown)}"))
            continue
        program = await session.scalar(select(Program).where(Program.code == record.code))
        if program is None:
            program = Program(code=record.code)
            session.add(program)
            report.created += 1
        else:
            report.updated += 1
        for name, value in record.model_dump(exclude={"clinics", "code"}).items():
            setattr(program, name, value)
        await session.flush()
        wanted = {(clinics[c.clinic], care) for c in record.clinics for care in c.care_types}
        existing = (
            await session.scalars(
                select(ProgramClinic).where(ProgramClinic.program_id == program.id)
            )
        ).all()
        for link in existing:
            if (link.clinic_id, link.care_type) not in wanted:
                await session.delete(link)
        have = {(link.clinic_id, link.care_type) for link in existing}
        for clinic_id, care in sorted(wanted - have):
            session.add(ProgramClinic(program_id=program.id, clinic_id=clinic_id, care_type=care))
    if report.created or report.updated:
        await bump_directory(session)
    await session.commit()
    return report


def _same_person(person: InsuredPerson, record: PolicyRecord) -> bool:
    return (person.surname, person.first_name, person.patronymic, person.birth_date) == (
        record.surname,
        record.first_name,
        record.patronymic,
        record.birth_date,
    )


async def import_policies(
    session: AsyncSession,
    vault: Vault,
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    report = ImportReport()
    programs = {p.code: p.id for p in (await session.scalars(select(Program))).all()}
    policies = {p.number: p for p in (await session.scalars(select(Policy))).all()}
    persons: dict[str, list[InsuredPerson]] = {}
    for number, known in await session.execute(
        select(Policy.number, InsuredPerson).join(
            InsuredPerson, InsuredPerson.policy_id == Policy.id
        )
    ):
        persons.setdefault(number, []).append(known)
    touched: set[str] = set()
    pending_parents: list[tuple[int, Policy, str]] = []
    for count, (line, row) in enumerate(rows, start=1):
        if progress is not None:
            progress(count)
        try:
            record = PolicyRecord.model_validate(row)
            document = (
                parse_document(record.document_type, record.document_number)
                if record.document_type and record.document_number
                else None
            )
        except ValidationError as error:
            report.errors.append((line, describe(error)))
            continue
        except InvalidInput:
            report.errors.append((line, "document_number: does not fit document_type"))
            continue
        if record.program_code is not None and record.program_code not in programs:
            report.errors.append((line, f"program_code: unknown program {record.program_code!r}"))
            continue
        policy = policies.get(record.policy_number)
        if policy is None:
            policy = policies[record.policy_number] = Policy(number=record.policy_number)
            session.add(policy)
            report.created += 1
        elif record.policy_number not in touched:
            report.updated += 1
        touched.add(record.policy_number)
        policy.product, policy.kind, policy.contract = (
            record.product,
            record.kind.value,
            record.contract.value,
        )
        policy.policyholder = record.policyholder
        policy.valid_from, policy.valid_to = record.valid_from, record.valid_to
        policy.territory, policy.paid = record.territory.value, record.paid
        policy.program_id = programs.get(record.program_code) if record.program_code else None
        policy.updated_at = now
        if record.parent_policy_number:
            pending_parents.append((line, policy, record.parent_policy_number.upper()))
        on_policy = persons.setdefault(record.policy_number, [])
        person = next((p for p in on_policy if _same_person(p, record)), None)
        if person is None:
            person = InsuredPerson(policy=policy)  # the ids come with the next flush
            session.add(person)
            on_policy.append(person)
        person.surname, person.first_name, person.patronymic = (
            record.surname,
            record.first_name,
            record.patronymic,
        )
        person.birth_date = record.birth_date
        person.document_digest = (
            document_digest(vault, document.type, document.number) if document else None
        )
        person.representative_surname = record.representative_surname
        person.representative_first_name = record.representative_first_name
        person.representative_patronymic = record.representative_patronymic
        person.representative_birth_date = record.representative_birth_date
        if count % FLUSH_EVERY == 0:
            await session.flush()
    await session.flush()
    for line, policy, parent_number in pending_parents:
        parent = policies.get(parent_number)
        if parent is None:
            report.errors.append((line, f"parent_policy_number: unknown policy {parent_number!r}"))
            continue
        policy.parent_policy_id = parent.id
    await session.commit()
    return report
