"""Cases the insurer already holds when a policy comes into a cabinet (issue 16 item 14): the
back office's cases of a policy, each with its stages so far, become the person's cases with
that history when the policy is linked, so whoever links the policy sees them in «My cases».
A policy that moves to another cabinet takes its cases along."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals.cases import DECISIONS, CaseStage, stage_note
from core.appeals.models import (
    Appeal,
    AppealKind,
    AppealMessage,
    AppealStatus,
    Author,
    InsurerCase,
)
from core.appeals.service import number_of
from core.formatting import format_date
from core.policies.models import Policy


def status_of(stage: CaseStage) -> AppealStatus:
    """The appeal status a case's stage stands for (as `core.appeals.cases.set_stage` sets)."""
    if stage is CaseStage.CLOSED:
        return AppealStatus.CLOSED
    if stage in DECISIONS:
        return AppealStatus.ANSWERED
    if stage is CaseStage.RECEIVED:
        return AppealStatus.RECEIVED
    return AppealStatus.IN_PROGRESS


async def attach_insurer_cases(
    session: AsyncSession, user_id: int, policy_ids: Iterable[int], *, now: datetime
) -> list[Appeal]:
    """Make the back office's cases of these policies the user's cases; ones attached to another
    cabinet before move here with the policy. Flushes; the caller (linking) commits."""
    ids = list(policy_ids)
    if not ids:
        return []
    rows = (
        await session.scalars(
            select(InsurerCase).where(InsurerCase.policy_id.in_(ids)).order_by(InsurerCase.id)
        )
    ).all()
    attached = []
    for row in rows:
        appeal = await session.get(Appeal, row.appeal_id) if row.appeal_id else None
        if appeal is not None:
            appeal.user_id = user_id
        else:
            appeal = await _appeal_of(session, row, user_id)
        attached.append(appeal)
    await session.flush()
    return attached


async def _appeal_of(session: AsyncSession, row: InsurerCase, user_id: int) -> Appeal:
    policy = await session.get(Policy, row.policy_id)
    stages = [(CaseStage(s["stage"]), s) for s in row.stages]
    stage = stages[-1][0] if stages else CaseStage.RECEIVED
    fields = {
        "policy": policy.number if policy is not None else "",
        "date": format_date(row.event_date, "ru"),
        "text": row.description,
        "reference": row.reference,
    } | row.fields
    appeal = Appeal(
        user_id=user_id,
        kind=AppealKind.INSURED_EVENT,
        status=status_of(stage),
        policy_id=row.policy_id,
        fields=fields,
        stage=stage,
        created_at=row.filed_at,
        first_answer_at=row.filed_at,  # registered by the insurer: nothing for the desk to flag
    )
    for done, step in stages:
        at = datetime.fromisoformat(step["at"])
        if done in DECISIONS:
            appeal.decision_amount = step.get("amount") if done is CaseStage.PAID else None
            appeal.decision_text = (step.get("detail") or "").strip() or None
        if done is CaseStage.CLOSED:
            appeal.closed_at = at
    session.add(appeal)
    await session.flush()
    appeal.number = number_of(appeal)
    session.add(
        AppealMessage(
            appeal_id=appeal.id,
            author=Author.PERSON,
            text=row.description,
            files=[],
            created_at=row.filed_at,
        )
    )
    for done, step in stages:
        session.add(
            AppealMessage(
                appeal_id=appeal.id,
                author=Author.OPERATOR,
                text=stage_note(done, step.get("detail") or ""),
                files=[],
                created_at=datetime.fromisoformat(step["at"]),
            )
        )
    row.appeal_id = appeal.id
    return appeal
