"""Rendered services of an insured person with what each cost them (seed 001's table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.models import Bill, Charge, ChargeStatus


@dataclass(frozen=True, slots=True)
class ServiceLine:
    bill_id: int
    service_date: date
    clinic: str
    service: str
    quantity: int
    amount: int  # kopecks, the full cost the insurer paid
    share: int  # kopecks, the person's co-payment
    status: str | None  # the share's ChargeStatus, None without a share
    charge_after: datetime | None
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class Statement:
    lines: list[ServiceLine]
    count: int
    total: int  # kopecks: the full cost of every service
    paid: int
    owed: int  # debt
    upcoming: int  # due or being charged


def _line(bill: Bill, charge: Charge | None) -> ServiceLine:
    return ServiceLine(
        bill_id=bill.id,
        service_date=bill.service_date,
        clinic=bill.clinic_name,
        service=bill.service,
        quantity=bill.quantity,
        amount=bill.amount,
        share=bill.share,
        status=charge.status if charge else None,
        charge_after=charge.charge_after if charge else None,
        paid_at=charge.paid_at if charge else None,
    )


async def service_line(session: AsyncSession, bill: Bill) -> ServiceLine:
    """One service with its share's state (the service's own page)."""
    charge = await session.scalar(select(Charge).where(Charge.bill_id == bill.id))
    return _line(bill, charge)


async def statement(
    session: AsyncSession,
    insured_person_id: int,
    *,
    offset: int = 0,
    limit: int = 10,
    since: date | None = None,
) -> Statement:
    period = [Bill.insured_person_id == insured_person_id]
    if since is not None:
        period.append(Bill.service_date >= since)
    rows = await session.execute(
        select(Bill, Charge)
        .outerjoin(Charge, Charge.bill_id == Bill.id)
        .where(*period)
        .order_by(Bill.service_date.desc(), Bill.id.desc())
        .offset(offset)
        .limit(limit)
    )
    lines = [_line(bill, charge) for bill, charge in rows.all()]
    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Bill.amount), 0)).where(*period)
        )
    ).one()
    by_status = await session.execute(
        select(Charge.status, func.sum(Charge.amount))
        .where(Charge.insured_person_id == insured_person_id)
        .group_by(Charge.status)
    )
    sums = {status: total for status, total in by_status.all()}
    return Statement(
        lines=lines,
        count=int(count),
        total=int(total),
        paid=int(sums.get(ChargeStatus.PAID, 0)),
        owed=int(sums.get(ChargeStatus.DEBT, 0)),
        upcoming=int(sums.get(ChargeStatus.DUE, 0)) + int(sums.get(ChargeStatus.CHARGING, 0)),
    )
