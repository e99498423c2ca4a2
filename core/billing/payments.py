"""Our payment rows and the provider: create with a persisted key, apply answers once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.models import FINAL_PAYMENT_STATUSES, Payment, PaymentPurpose, PaymentStatus
from core.billing.provider import ProviderPayment, ProviderUnavailable
from core.errors import DomainError


class BankUnavailable(DomainError):
    """The provider did not answer; nothing is lost, the person can try again."""


def new_payment(
    user_id: int, purpose: PaymentPurpose, amount: int, now: datetime, **links: int | None
) -> Payment:
    return Payment(
        key=str(uuid.uuid4()),
        user_id=user_id,
        purpose=purpose,
        amount=amount,
        status=PaymentStatus.NEW,
        created_at=now,
        updated_at=now,
        **links,
    )


async def send(
    session: AsyncSession,
    payment: Payment,
    request: Callable[[str], Awaitable[ProviderPayment]],
    now: datetime,
) -> ProviderPayment | None:
    """Commit the row (and its key) first, then call the provider with that key.

    A timeout or 5xx leaves the payment UNKNOWN: the reconciliation repeats the same request
    with the same key, which the provider answers with the payment it already made, if any.
    """
    await session.commit()
    try:
        answer = await request(payment.key)
    except ProviderUnavailable as error:
        payment.status = PaymentStatus.UNKNOWN
        payment.reason = str(error)[:64]
        payment.updated_at = now
        await session.commit()
        return None
    record(payment, answer, now)
    await session.commit()
    return answer


async def open_page(
    session: AsyncSession,
    payment: Payment,
    request: Callable[[str], Awaitable[ProviderPayment]],
    now: datetime,
) -> Payment:
    """Send a hosted-page payment; its `confirmation_url` is the link for the person."""
    if await send(session, payment, request, now) is None:
        raise BankUnavailable(payment.purpose)
    return payment


def record(payment: Payment, answer: ProviderPayment, now: datetime) -> bool:
    """Store the provider's view; a final status is never overwritten. True if it changed."""
    if payment.status in FINAL_PAYMENT_STATUSES and answer.status != payment.status:
        return False
    changed = payment.status != answer.status or payment.provider_id != answer.id
    payment.provider_id = answer.id
    payment.status = answer.status
    payment.reason = answer.reason
    if answer.confirmation_url:
        payment.confirmation_url = answer.confirmation_url
    payment.updated_at = now
    return changed


async def by_provider_id(session: AsyncSession, provider_id: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.provider_id == provider_id))
