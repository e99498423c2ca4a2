"""The insurer's cases already in its back office, by policy number, each with its stages so
far (received → documents requested → under review → paid with the amount or refused with the
reason → closed). New ones are kept until the policy is linked (`core.appeals.backoffice`); a
policy linked already gets them at once. A reference loaded before is left as it is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals.backoffice import attach_insurer_cases
from core.appeals.cases import CaseStage
from core.appeals.models import InsurerCase
from core.importers.files import ImportReport, describe
from core.policies.linking import normalize_policy_number
from core.policies.models import InsuredPerson, Policy, PolicyLink


class StageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: CaseStage
    at: datetime
    amount: Decimal | None = Field(default=None, gt=0, decimal_places=2)  # rubles, a payment
    detail: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _complete(self) -> StageRecord:
        if self.at.tzinfo is None:
            raise ValueError("at: a moment with its time zone")
        if self.stage is CaseStage.PAID and self.amount is None:
            raise ValueError("a payment needs its amount")
        if self.stage in (CaseStage.REFUSED, CaseStage.DOCUMENTS) and not self.detail:
            raise ValueError(f"{self.stage.value} needs its detail (the reason, the documents)")
        return self


class InsurerCaseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=1, max_length=32)
    policy_number: str = Field(min_length=1, max_length=64)
    event_date: date
    filed_at: datetime
    description: str = Field(min_length=1, max_length=4000)
    fields: dict[str, str] = Field(default_factory=dict)
    stages: list[StageRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> InsurerCaseRecord:
        if self.filed_at.tzinfo is None:
            raise ValueError("filed_at: a moment with its time zone")
        moments = [self.filed_at, *(s.at for s in self.stages)]
        if moments != sorted(moments):
            raise ValueError("stages: in the order they happened, after the filing")
        return self


async def import_insurer_cases(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, Any]]], *, now: datetime
) -> ImportReport:
    report = ImportReport()
    known = set((await session.scalars(select(InsurerCase.reference))).all())
    for number, row in rows:
        try:
            record = InsurerCaseRecord.model_validate(row)
        except ValidationError as error:
            report.errors.append((number, describe(error)))
            continue
        if record.reference in known:
            continue
        policy = await session.scalar(
            select(Policy).where(Policy.number == normalize_policy_number(record.policy_number))
        )
        if policy is None:
            report.errors.append((number, f"policy_number: no policy {record.policy_number!r}"))
            continue
        case = InsurerCase(
            reference=record.reference,
            policy_id=policy.id,
            event_date=record.event_date,
            description=record.description,
            fields=record.fields,
            stages=[
                {
                    "stage": s.stage.value,
                    "at": s.at.isoformat(),
                    "amount": int(s.amount * 100) if s.amount is not None else None,
                    "detail": s.detail,
                }
                for s in record.stages
            ],
            filed_at=record.filed_at,
        )
        session.add(case)
        known.add(record.reference)
        report.created += 1
        holder = await session.scalar(
            select(PolicyLink.user_id)
            .join(InsuredPerson, InsuredPerson.id == PolicyLink.insured_person_id)
            .where(InsuredPerson.policy_id == policy.id, PolicyLink.as_child.is_(False))
            .limit(1)
        )
        await session.flush()
        if holder is not None:
            await attach_insurer_cases(session, holder, [policy.id], now=now)
    await session.commit()
    return report
