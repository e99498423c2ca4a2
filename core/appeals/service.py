"""The life of an appeal: filed (with a number and a receipt), taken by an operator, answered
(the answer goes to the person through the outbox), followed up, closed with a rating.

A person only ever reaches their own appeals; operators act through the desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals.models import (
    OPEN_STATUSES,
    Appeal,
    AppealKind,
    AppealMessage,
    AppealStatus,
    Author,
)
from core.billing.disputes import close_share_dispute, dispute_share
from core.errors import DomainError, NotFoundError
from core.formatting import MOSCOW
from core.notifications.outbox import enqueue


class AppealClosed(DomainError):
    """Nothing can be added to a closed appeal."""


def number_of(appeal: Appeal) -> str:
    prefix = "С" if appeal.kind == AppealKind.INSURED_EVENT else "О"  # случай / обращение
    return f"{prefix}-{appeal.created_at.astimezone(MOSCOW):%y}-{appeal.id:06d}"


async def file_appeal(
    session: AsyncSession,
    user_id: int,
    kind: AppealKind,
    *,
    text: str,
    fields: dict[str, Any] | None = None,
    files: list[dict[str, str]] | None = None,
    policy_id: int | None = None,
    bill_id: int | None = None,
    clinic_id: int | None = None,
    now: datetime,
) -> Appeal:
    appeal = Appeal(
        user_id=user_id,
        kind=kind,
        status=AppealStatus.RECEIVED,
        policy_id=policy_id,
        bill_id=bill_id,
        clinic_id=clinic_id,
        fields=fields or {},
        created_at=now,
    )
    session.add(appeal)
    await session.flush()
    appeal.number = number_of(appeal)
    session.add(
        AppealMessage(
            appeal_id=appeal.id,
            author=Author.PERSON,
            text=text,
            files=files or [],
            created_at=now,
        )
    )
    await session.commit()
    if kind == AppealKind.NOT_PROVIDED and bill_id is not None:
        await dispute_share(session, bill_id, now)  # not charged while the appeal is open
    return appeal


async def my_appeals(session: AsyncSession, user_id: int, *, cases: bool = False) -> list[Appeal]:
    """The person's appeals (or insured-event cases), newest first."""
    kind = Appeal.kind == AppealKind.INSURED_EVENT
    rows = await session.scalars(
        select(Appeal)
        .where(Appeal.user_id == user_id, kind if cases else ~kind)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
    )
    return list(rows)


async def my_appeal(session: AsyncSession, user_id: int, appeal_id: int) -> Appeal:
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.user_id != user_id:
        raise NotFoundError("appeal")
    return appeal


async def history(session: AsyncSession, appeal_id: int) -> list[AppealMessage]:
    rows = await session.scalars(
        select(AppealMessage)
        .where(AppealMessage.appeal_id == appeal_id)
        .order_by(AppealMessage.created_at, AppealMessage.id)
    )
    return list(rows)


async def add_person_message(
    session: AsyncSession,
    user_id: int,
    appeal_id: int,
    text: str,
    now: datetime,
    files: list[dict[str, str]] | None = None,
) -> Appeal:
    appeal = await my_appeal(session, user_id, appeal_id)
    if appeal.status == AppealStatus.CLOSED:
        raise AppealClosed(appeal.number or "")
    session.add(
        AppealMessage(
            appeal_id=appeal.id, author=Author.PERSON, text=text, files=files or [], created_at=now
        )
    )
    if appeal.status == AppealStatus.ANSWERED:
        appeal.status = AppealStatus.IN_PROGRESS  # the person has more to say: it is open again
    await session.commit()
    return appeal


async def close_by_person(
    session: AsyncSession, user_id: int, appeal_id: int, rating: int | None, now: datetime
) -> Appeal:
    appeal = await my_appeal(session, user_id, appeal_id)
    withdrawn = appeal.status != AppealStatus.CLOSED
    if withdrawn:
        appeal.status, appeal.closed_at = AppealStatus.CLOSED, now
    if rating is not None:
        appeal.rating = max(1, min(5, rating))
    await session.commit()
    if withdrawn and appeal.kind == AppealKind.NOT_PROVIDED and appeal.bill_id is not None:
        # The person closed their own dispute: the share is charged again (with a message).
        await close_share_dispute(
            session, appeal.bill_id, confirmed=False, payer_id=user_id, now=now, withdrawn=True
        )
    return appeal


# --- the desk ------------------------------------------------------------------------------------
async def appeal_by_thread(session: AsyncSession, thread_id: int) -> Appeal | None:
    return await session.scalar(select(Appeal).where(Appeal.operators_thread_id == thread_id))


async def appeal_by_number(session: AsyncSession, number: str) -> Appeal | None:
    return await session.scalar(
        select(Appeal).where(func.upper(Appeal.number) == number.strip().upper())
    )


async def take(session: AsyncSession, appeal: Appeal, operator_id: int, now: datetime) -> bool:
    """Mark it taken and tell the person; False if someone already has it or it is closed."""
    done = await session.execute(
        update(Appeal)
        .where(Appeal.id == appeal.id, Appeal.status == AppealStatus.RECEIVED)
        .values(status=AppealStatus.IN_PROGRESS, operator_id=operator_id)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        await enqueue(
            session,
            user_id=appeal.user_id,
            kind="appeal_taken",
            dedupe_key=f"appeal-taken:{appeal.id}",
            now=now,
            appeal_id=appeal.id,
            number=appeal.number,
        )
    await session.commit()
    await session.refresh(appeal)
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def answer(
    session: AsyncSession,
    appeal: Appeal,
    operator_id: int,
    operator_name: str,
    text: str,
    now: datetime,
    files: list[dict[str, str]] | None = None,
) -> AppealMessage:
    """An operator's answer: stored, the appeal marked answered, the person told (outbox)."""
    if appeal.status == AppealStatus.CLOSED:
        raise AppealClosed(appeal.number or "")
    message = AppealMessage(
        appeal_id=appeal.id,
        author=Author.OPERATOR,
        operator_name=operator_name,
        text=text,
        files=files or [],
        created_at=now,
    )
    session.add(message)
    await session.flush()
    appeal.status = AppealStatus.ANSWERED
    appeal.operator_id = appeal.operator_id or operator_id
    appeal.first_answer_at = appeal.first_answer_at or now
    await enqueue(
        session,
        user_id=appeal.user_id,
        kind="appeal_answer",
        dedupe_key=f"appeal-answer:{message.id}",
        now=now,
        appeal_id=appeal.id,
        number=appeal.number,
        text=text,
        files=files or [],
    )
    await session.commit()
    return message


async def close_by_operator(session: AsyncSession, appeal: Appeal, now: datetime) -> bool:
    if appeal.status == AppealStatus.CLOSED:
        return False
    appeal.status, appeal.closed_at = AppealStatus.CLOSED, now
    await enqueue(
        session,
        user_id=appeal.user_id,
        kind="appeal_closed",
        dedupe_key=f"appeal-closed:{appeal.id}",
        now=now,
        appeal_id=appeal.id,
        number=appeal.number,
    )
    await session.commit()
    return True


async def open_appeals(session: AsyncSession, limit: int = 30) -> list[Appeal]:
    """Open appeals, the oldest first: the desk's queue."""
    rows = await session.scalars(
        select(Appeal)
        .where(Appeal.status.in_(OPEN_STATUSES))
        .order_by(Appeal.created_at, Appeal.id)
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class DeskStats:
    open: int
    unanswered: int
    answered_today: int
    median_first_answer: timedelta | None


async def desk_stats(session: AsyncSession, now: datetime) -> DeskStats:
    open_count = await session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.status.in_(OPEN_STATUSES))
    )
    unanswered = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.status.in_(OPEN_STATUSES), Appeal.first_answer_at.is_(None))
    )
    local = now.astimezone(MOSCOW)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    today = await session.scalar(
        select(func.count(func.distinct(AppealMessage.appeal_id))).where(
            AppealMessage.author == Author.OPERATOR, AppealMessage.created_at >= midnight
        )
    )
    pairs = (
        await session.execute(
            select(Appeal.created_at, Appeal.first_answer_at).where(
                Appeal.first_answer_at.is_not(None)
            )
        )
    ).all()
    waits = sorted(answered - created for created, answered in pairs if answered is not None)
    return DeskStats(
        open=int(open_count or 0),
        unanswered=int(unanswered or 0),
        answered_today=int(today or 0),
        median_first_answer=waits[len(waits) // 2] if waits else None,
    )


async def overdue(session: AsyncSession, now: datetime, limit: timedelta) -> list[Appeal]:
    """Unanswered past the limit and not flagged yet; flags them (each is flagged once)."""
    rows = (
        await session.scalars(
            select(Appeal).where(
                Appeal.status.in_([AppealStatus.RECEIVED, AppealStatus.IN_PROGRESS]),
                Appeal.first_answer_at.is_(None),
                Appeal.flagged_at.is_(None),
                Appeal.created_at <= now - limit,
            )
        )
    ).all()
    flagged = []
    for appeal in rows:
        done = await session.execute(
            update(Appeal)
            .where(Appeal.id == appeal.id, Appeal.flagged_at.is_(None))
            .values(flagged_at=now)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            flagged.append(appeal)
    await session.commit()
    return flagged
