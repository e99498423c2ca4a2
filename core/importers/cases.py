"""Stages of insured-event cases from the insurer's back office: one row per change, by the
case's number (С-26-000001). The same as an operator's buttons in the case's topic: the stage
is set and the person told. A row already loaded (the same stage with the same detail in the
case's history) changes nothing, so a file can be loaded twice."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals.cases import CaseStage, StageRefused, set_stage, stage_note
from core.appeals.models import AppealKind, AppealMessage, Author
from core.appeals.service import appeal_by_number
from core.importers.files import ImportReport, describe


class CaseStageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    number: str = Field(min_length=1, max_length=32)
    stage: CaseStage
    amount: Decimal | None = Field(default=None, gt=0, decimal_places=2)  # rubles, a payment
    detail: str = Field(default="", max_length=2000)  # documents, a reason, a note

    @model_validator(mode="after")
    def _complete(self) -> CaseStageRecord:
        if self.stage is CaseStage.RECEIVED:
            raise ValueError("a case cannot be set back to received")
        if self.stage is CaseStage.PAID and self.amount is None:
            raise ValueError("a payment needs its amount")
        if self.stage in (CaseStage.REFUSED, CaseStage.DOCUMENTS) and not self.detail:
            raise ValueError(f"{self.stage.value} needs its detail (the reason, the documents)")
        return self


async def stage_recorded(
    session: AsyncSession, appeal_id: int, stage: CaseStage, detail: str
) -> bool:
    found = await session.scalar(
        select(AppealMessage.id).where(
            AppealMessage.appeal_id == appeal_id,
            AppealMessage.author == Author.OPERATOR,
            AppealMessage.text == stage_note(stage, detail),
        )
    )
    return found is not None


async def import_case_stages(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, Any]]], *, now: datetime
) -> ImportReport:
    report = ImportReport()
    for number, row in rows:
        try:
            record = CaseStageRecord.model_validate({k: v for k, v in row.items() if v != ""})
        except ValidationError as error:
            report.errors.append((number, describe(error)))
            continue
        appeal = await appeal_by_number(session, record.number)
        if appeal is None or appeal.kind != AppealKind.INSURED_EVENT:
            report.errors.append((number, f"number: no case {record.number!r}"))
            continue
        amount = int(record.amount * 100) if record.amount is not None else None
        if await stage_recorded(session, appeal.id, record.stage, record.detail):
            continue  # loaded before: a file (or a history of stages) can be loaded again
        try:
            await set_stage(
                session, appeal, record.stage, now=now, detail=record.detail, amount=amount
            )
        except StageRefused as error:
            report.errors.append((number, f"stage: {error}"))
            continue
        report.updated += 1
    return report
