"""Provider answers applied once: from a notification (re-fetched, never trusted as sent) or
from the reconciliation tick that re-checks payments still open."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import User
from core.billing import charges
from core.billing.franchise import binding_settled
from core.billing.models import Payment, PaymentPurpose, PaymentStatus
from core.billing.payments import by_provider_id, record
from core.billing.provider import PaymentProvider, ProviderPayment, ProviderUnavailable
from core.billing.rules import BillingRules

log = logging.getLogger(__name__)


async def apply_answer(
    session: AsyncSession,
    provider: PaymentProvider,
    payment: Payment,
    answer: ProviderPayment,
    rules: BillingRules,
    now: datetime,
) -> None:
    record(payment, answer, now)
    if payment.settled:
        await session.commit()
        return
    if payment.purpose == PaymentPurpose.BINDING:
        await binding_settled(session, provider, payment, answer, now)
        if payment.card_id is not None and payment.settled:
            await _debts_to_new_card(session, provider, payment.user_id, rules, now)
    elif payment.purpose == PaymentPurpose.CHARGE:
        await charges.charge_answered(session, provider, payment, answer, rules, now)
    elif payment.purpose == PaymentPurpose.DEBT:
        await charges.debt_payment_answered(session, provider, payment, answer, now)
    await session.commit()


async def _debts_to_new_card(
    session: AsyncSession,
    provider: PaymentProvider,
    user_id: int,
    rules: BillingRules,
    now: datetime,
) -> None:
    """Seed 000 4.1, "link an additional card": a debt open when a card is linked is charged
    to the cards at once (the new one among them)."""
    user = await session.get(User, user_id)
    if user is not None and await charges.debts_of_user(session, user_id):
        await charges.retry_debts(session, provider, user, rules, now)


async def on_notification(
    session: AsyncSession,
    provider: PaymentProvider,
    provider_id: str,
    rules: BillingRules,
    now: datetime,
) -> bool:
    """A notification named a payment: fetch it from the provider and apply what it says."""
    payment = await by_provider_id(session, provider_id)
    if payment is None:
        log.warning("notification for an unknown payment %s ignored", provider_id)
        return False
    answer = await provider.get(provider_id)
    await apply_answer(session, provider, payment, answer, rules, now)
    return True


OPEN = (
    PaymentStatus.NEW,
    PaymentStatus.UNKNOWN,
    PaymentStatus.PENDING,
    PaymentStatus.WAITING_FOR_CAPTURE,
)


async def reconcile(
    session: AsyncSession,
    provider: PaymentProvider,
    rules: BillingRules,
    now: datetime,
    *,
    quiet_for: timedelta = timedelta(minutes=1),
) -> int:
    """Re-check payments still open a minute after their last change, and charges paid at
    the bank whose share was not marked paid (the runner died between the two commits)."""
    stale = (
        await session.scalars(
            select(Payment)
            .where(
                Payment.settled.is_(False),
                or_(
                    Payment.status.in_(OPEN),
                    (Payment.status == PaymentStatus.SUCCEEDED)
                    & (Payment.purpose == PaymentPurpose.CHARGE),
                ),
                Payment.updated_at <= now - quiet_for,
            )
            .order_by(Payment.id)
            .limit(500)
        )
    ).all()
    checked = 0
    for payment in stale:
        try:
            if payment.provider_id is not None:
                answer = await provider.get(payment.provider_id)
            elif payment.purpose == PaymentPurpose.CHARGE:
                answer = await charges.repeat_request(session, provider, payment)
            else:
                continue  # a page the person never opened: nothing was made
        except ProviderUnavailable:
            log.info("provider still unavailable for payment %s", payment.id)
            continue
        await apply_answer(session, provider, payment, answer, rules, now)
        checked += 1
    return checked
