"""Franchise (co-payment) activation by binding a card (seed 000 2.3-2.3.2, seed 002).

Consent to automatic charges -> a 10 RUB held payment on the provider's page (3-D Secure
there) -> the provider's notification carries the saved card -> the hold is cancelled (the
money returns) -> the program is active from the next day (the product's delay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.consents import CURRENT_VERSIONS, ConsentKind, give_consent
from core.accounts.models import User
from core.billing.models import (
    Card,
    CardStatus,
    Charge,
    ChargeStatus,
    Franchise,
    FranchiseStatus,
    Payment,
    PaymentPurpose,
    PaymentStatus,
)
from core.billing.payments import new_payment, open_page
from core.billing.provider import PaymentProvider, ProviderPayment
from core.billing.rules import BillingRules
from core.errors import DomainError
from core.notifications.outbox import enqueue
from core.policies.cabinet import PolicyView, Status
from core.policies.models import InsuredPerson, Policy, Program


class FranchiseState(StrEnum):
    NOT_ACTIVATED = "not_activated"
    CARD_LINKED = "card_linked"  # active from a date (next day by default)
    ACTIVE = "active"
    SUSPENDED = "suspended"  # for an unpaid debt past its deadline (seed 000 4.2)


class NoFranchise(DomainError):
    """The policy's program has no co-payment."""


class PolicyNotValid(DomainError):
    """An expired policy cannot get its franchise activated."""


class AlreadyActivated(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class FranchiseView:
    state: FranchiseState
    percent: int
    active_from: datetime | None
    suspended_at: datetime | None
    debt: int  # kopecks
    cards: list[Card]


def state_of(franchise: Franchise | None, now: datetime) -> FranchiseState:
    if franchise is None or franchise.status == FranchiseStatus.AWAITING_CARD:
        return FranchiseState.NOT_ACTIVATED
    if franchise.suspended_at is not None:
        return FranchiseState.SUSPENDED
    if franchise.active_from is not None and franchise.active_from <= now:
        return FranchiseState.ACTIVE
    return FranchiseState.CARD_LINKED


async def user_cards(session: AsyncSession, user_id: int) -> list[Card]:
    """Cards that can pay, primary first, then in the order they were added."""
    rows = await session.scalars(
        select(Card)
        .where(Card.user_id == user_id, Card.status != CardStatus.REMOVED)
        .order_by(Card.primary.desc(), Card.added_at, Card.id)
    )
    return list(rows)


async def person_debt(session: AsyncSession, insured_person_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Charge.amount), 0)).where(
            Charge.insured_person_id == insured_person_id, Charge.status == ChargeStatus.DEBT
        )
    )
    return int(total or 0)


async def franchise_of(session: AsyncSession, view: PolicyView, now: datetime) -> FranchiseView:
    program = view.program
    if program is None or not program.franchise_percent:
        raise NoFranchise("no franchise")
    franchise = await session.scalar(
        select(Franchise).where(Franchise.insured_person_id == view.person.id)
    )
    return FranchiseView(
        state=state_of(franchise, now),
        percent=program.franchise_percent,
        active_from=franchise.active_from if franchise else None,
        suspended_at=franchise.suspended_at if franchise else None,
        debt=await person_debt(session, view.person.id),
        cards=await user_cards(session, view.link.user_id),
    )


async def start_activation(
    session: AsyncSession,
    provider: PaymentProvider,
    user: User,
    view: PolicyView,
    rules: BillingRules,
    *,
    description: str,
    now: datetime,
) -> Payment:
    """Record the consent and open the card page: returns the payment with its link."""
    program = view.program
    if program is None or not program.franchise_percent:
        raise NoFranchise("no franchise")
    if view.status is Status.EXPIRED:
        raise PolicyNotValid("expired")
    franchise = await session.scalar(
        select(Franchise).where(Franchise.insured_person_id == view.person.id)
    )
    if franchise is not None and franchise.status != FranchiseStatus.AWAITING_CARD:
        raise AlreadyActivated("activated")
    await give_consent(session, user.id, ConsentKind.AUTOPAY, now)
    if franchise is None:
        franchise = Franchise(
            insured_person_id=view.person.id,
            user_id=user.id,
            status=FranchiseStatus.AWAITING_CARD,
            consent_version=CURRENT_VERSIONS[ConsentKind.AUTOPAY],
            consented_at=now,
        )
        session.add(franchise)
        await session.flush()
    return await open_card_page(
        session, provider, user, rules, description=description, now=now, franchise=franchise
    )


async def open_card_page(
    session: AsyncSession,
    provider: PaymentProvider,
    user: User,
    rules: BillingRules,
    *,
    description: str,
    now: datetime,
    franchise: Franchise | None = None,
) -> Payment:
    """A binding payment (also "add another card"); an unanswered earlier one is reused."""
    payment = await session.scalar(
        select(Payment).where(
            Payment.user_id == user.id,
            Payment.purpose == PaymentPurpose.BINDING,
            Payment.status.in_([PaymentStatus.NEW, PaymentStatus.UNKNOWN]),
        )
    )
    if payment is None:
        payment = new_payment(
            user.id,
            PaymentPurpose.BINDING,
            rules.binding_amount,
            now,
            franchise_id=franchise.id if franchise else None,
        )
        session.add(payment)
    elif franchise is not None:
        payment.franchise_id = franchise.id
    amount = payment.amount

    async def request(key: str) -> ProviderPayment:
        return await provider.create_binding(
            key,
            amount=amount,
            description=description,
            return_url=rules.return_url,
            metadata={"purpose": PaymentPurpose.BINDING},
        )

    return await open_page(session, payment, request, now)


async def binding_settled(
    session: AsyncSession,
    provider: PaymentProvider,
    payment: Payment,
    answer: ProviderPayment,
    now: datetime,
) -> None:
    """The card page finished: keep the card and return the 10 RUB, or tell why it failed."""
    if answer.status == PaymentStatus.CANCELED:
        payment.settled = True
        await enqueue(
            session,
            user_id=payment.user_id,
            kind="card_declined",
            dedupe_key=f"card-declined:{payment.id}",
            now=now,
            reason=answer.reason or "",
        )
        return
    if answer.card is None or not answer.card.saved:
        return  # still on the page (pending)
    card = await session.scalar(select(Card).where(Card.method_id == answer.card.method_id))
    if card is None:
        has_primary = await session.scalar(
            select(func.count()).where(
                Card.user_id == payment.user_id,
                Card.primary.is_(True),
                Card.status == CardStatus.ACTIVE,
            )
        )
        card = Card(
            user_id=payment.user_id,
            method_id=answer.card.method_id,
            first6=answer.card.first6,
            last4=answer.card.last4,
            expiry_month=answer.card.expiry_month,
            expiry_year=answer.card.expiry_year,
            card_type=answer.card.card_type,
            status=CardStatus.ACTIVE,
            primary=not has_primary,
            added_at=now,
        )
        session.add(card)
        await session.flush()
    payment.card_id = card.id
    franchise = await session.get(Franchise, payment.franchise_id) if payment.franchise_id else None
    active_from = None
    if franchise is not None and franchise.status == FranchiseStatus.AWAITING_CARD:
        delay = await _activation_delay(session, franchise)
        franchise.status = FranchiseStatus.SCHEDULED
        franchise.active_from = active_from = now + delay
    payment.settled = True
    await enqueue(
        session,
        user_id=payment.user_id,
        kind="card_linked",
        dedupe_key=f"card-linked:{payment.id}",
        now=now,
        last4=card.last4,
        active_from=active_from.isoformat() if active_from else None,
    )
    await session.commit()
    # Return the verification money: release the hold (or refund a captured payment).
    if answer.status == PaymentStatus.WAITING_FOR_CAPTURE:
        await provider.cancel(f"{payment.key}:cancel", answer.id)
    elif answer.status == PaymentStatus.SUCCEEDED:
        await provider.refund(f"{payment.key}:refund", answer.id, answer.amount)


async def _activation_delay(session: AsyncSession, franchise: Franchise) -> timedelta:
    hours = await session.scalar(
        select(Program.activation_delay_hours)
        .join(Policy, Policy.program_id == Program.id)
        .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
        .where(InsuredPerson.id == franchise.insured_person_id)
    )
    return timedelta(hours=hours if hours is not None else 24)


async def announce_activations(session: AsyncSession, now: datetime) -> int:
    """The scheduler's tick: franchises whose day has come become active, with a message."""
    due = (
        await session.scalars(
            select(Franchise.id).where(
                Franchise.status == FranchiseStatus.SCHEDULED, Franchise.active_from <= now
            )
        )
    ).all()
    done = 0
    for franchise_id in due:
        claimed = await session.execute(
            update(Franchise)
            .where(Franchise.id == franchise_id, Franchise.status == FranchiseStatus.SCHEDULED)
            .values(status=FranchiseStatus.ACTIVE)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another scheduler took it
        franchise = await session.get(Franchise, franchise_id)
        assert franchise is not None
        await enqueue(
            session,
            user_id=franchise.user_id,
            kind="franchise_active",
            dedupe_key=f"franchise-active:{franchise_id}",
            now=now,
            insured_person_id=franchise.insured_person_id,
        )
        await session.commit()
        done += 1
    return done
