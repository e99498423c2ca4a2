"""Insured-event cases (seed 000 §5): a case needs a policy that covers it on the event date
and is paid, and it moves through its stages to the end: received → documents requested →
under review → decision (payment with the amount, or refusal with the reason) → closed. Every
change reaches the person through the outbox, with the next action when one is needed."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals.models import (
    Appeal,
    AppealKind,
    AppealMessage,
    AppealStatus,
    Author,
    shown_operator,
)
from core.errors import DomainError
from core.notifications.outbox import enqueue, withdraw
from core.policies.models import Policy


class CaseStage(StrEnum):
    RECEIVED = "received"
    DOCUMENTS = "documents"  # the insurer asked for documents; the person uploads them
    REVIEW = "review"
    PAID = "paid"  # decision: payment, with the amount
    REFUSED = "refused"  # decision: refusal, with the reason
    CLOSED = "closed"


DECISIONS = (CaseStage.PAID, CaseStage.REFUSED)


class NotCovered(StrEnum):
    UNPAID = "unpaid"
    NOT_YET = "not_yet"  # the event is before the policy's first day
    EXPIRED = "expired"  # the event is after the policy's last day


class CaseNotCovered(DomainError):
    def __init__(self, reason: NotCovered, policy: Policy) -> None:
        super().__init__(reason.value)
        self.reason, self.policy = reason, policy


class StageRefused(DomainError):
    """The stage cannot be set: the case is closed, or a decision lacks its amount or reason."""


def check_cover(policy: Policy, event_day: date) -> None:
    """A case is accepted only on a paid policy valid on the event date."""
    if not policy.paid:
        raise CaseNotCovered(NotCovered.UNPAID, policy)
    if event_day < policy.valid_from:
        raise CaseNotCovered(NotCovered.NOT_YET, policy)
    if event_day > policy.valid_to:
        raise CaseNotCovered(NotCovered.EXPIRED, policy)


def stage_note(stage: CaseStage, detail: str) -> str:
    """The line a stage leaves in the case's history."""
    return f"[{stage.value}] {detail.strip()}".strip()


def stage_of(appeal: Appeal) -> CaseStage:
    return CaseStage(appeal.stage or CaseStage.RECEIVED)


async def set_stage(
    session: AsyncSession,
    appeal: Appeal,
    stage: CaseStage,
    *,
    now: datetime,
    detail: str = "",
    amount: int | None = None,
    operator_name: str | None = None,
) -> None:
    """Move a case to `stage` and tell the person. `detail`: the documents asked for, the
    refusal's reason, or a note to a payment; `amount` in kopecks for a payment. Commits."""
    if appeal.kind != AppealKind.INSURED_EVENT:
        raise StageRefused("not a case")
    if appeal.status == AppealStatus.CLOSED:
        raise StageRefused("the case is closed")
    if stage is CaseStage.RECEIVED:
        raise StageRefused("a case cannot go back to received")
    if stage is CaseStage.PAID and not amount:
        raise StageRefused("a payment needs its amount")
    if stage in (CaseStage.REFUSED, CaseStage.DOCUMENTS) and not detail.strip():
        raise StageRefused("a refusal needs its reason, a request its documents")
    appeal.stage = stage
    if stage in DECISIONS:
        appeal.decision_amount = amount if stage is CaseStage.PAID else None
        appeal.decision_text = detail.strip() or None
    if stage is CaseStage.CLOSED:
        appeal.status, appeal.closed_at = AppealStatus.CLOSED, now
    else:
        appeal.status = AppealStatus.ANSWERED if stage in DECISIONS else AppealStatus.IN_PROGRESS
    appeal.first_answer_at = appeal.first_answer_at or now
    appeal.waiting_since = None  # the desk has spoken; the person's next message waits again
    await withdraw(session, f"appeal-taken:{appeal.id}")
    message = AppealMessage(
        appeal_id=appeal.id,
        author=Author.OPERATOR,
        operator_name=operator_name,
        text=stage_note(stage, detail),
        files=[],
        created_at=now,
    )
    session.add(message)
    await session.flush()
    await enqueue(
        session,
        user_id=appeal.user_id,
        kind="case_stage",
        dedupe_key=f"case-stage:{message.id}",
        now=now,
        appeal_id=appeal.id,
        number=appeal.number,
        stage=stage.value,
        detail=detail.strip(),
        amount=amount,
        operator=shown_operator(operator_name),
    )
    await session.commit()
