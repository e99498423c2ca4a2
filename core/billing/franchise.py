"""Franchise (co-payment) activation by binding a card (seed 000 2.3-2.3.2, seed 002).

Consent to automatic charges -> a 10 RUB held payment on the provider's page (3-D Secure
there) -> the provider's notification carries the saved card -> the hold is cancelled (the
money returns) -> the program is active from the next day (the product's delay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.consents import CURRENT_VERSIONS, ConsentKind, give_consent
from core.accounts.models import User
from core.billing.calendar import after_working_days, next_day
from core.billing.cards import promote_primary
from core.billing.labels import person_args
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
    ServiceRegion,
)
from core.billing.payments import new_payment, open_page
from core.billing.provider import PaymentProvider, ProviderPayment
from core.billing.rules import BillingRules
from core.errors import DomainError
from core.fast_rows import EntityRows
from core.notifications.outbox import enqueue
from core.policies.cabinet import PolicyView, Status
from core.policies.models import InsuredPerson, Policy, Program, Territory


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


class CardNotUsable(DomainError):
    """Not the person's card, removed, or no longer chargeable."""


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


_FRANCHISE = EntityRows(  # built once: each clinic list reads it for every policy (issue 19)
    select(Franchise).where(Franchise.insured_person_id == bindparam("person_id"))
)


async def franchise_row(session: AsyncSession, insured_person_id: int) -> Franchise | None:
    """The insured person's co-payment program row, if it was ever started."""
    found = await _FRANCHISE.scalar(session, {"person_id": insured_person_id})
    return cast(Franchise | None, found)


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
    franchise = await franchise_row(session, view.person.id)
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
    franchise = await franchise_row(session, view.person.id)
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


async def activate_with_card(
    session: AsyncSession, user: User, view: PolicyView, card_id: int, *, now: datetime
) -> dict[str, Any]:
    """A payer whose card is linked already activates another policy (a child's) with it: the
    consent and one tap, no second check payment. Returns the "card linked" message's args."""
    program = view.program
    if program is None or not program.franchise_percent:
        raise NoFranchise("no franchise")
    if view.status is Status.EXPIRED:
        raise PolicyNotValid("expired")
    card = await session.get(Card, card_id)
    if card is None or card.user_id != user.id or card.status != CardStatus.ACTIVE:
        raise CardNotUsable(str(card_id))
    franchise = await franchise_row(session, view.person.id)
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
    args = await schedule(session, franchise, now)
    await session.commit()
    return args | {"last4": card.last4, "reused": True}


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
        franchise = (
            await session.get(Franchise, payment.franchise_id) if payment.franchise_id else None
        )
        await enqueue(
            session,
            user_id=payment.user_id,
            kind="card_declined",
            dedupe_key=f"card-declined:{payment.id}",
            now=now,
            reason=answer.reason or "",
            # the policy whose franchise section the person tries again from (its button)
            **(await person_args(session, franchise.insured_person_id) if franchise else {}),
        )
        return
    if answer.card is None or not answer.card.saved:
        return  # still on the page (pending)
    card = await same_card(session, payment.user_id, answer)
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
    else:  # the same card linked again: one card, with the provider's newest permission
        card.method_id, card.status = answer.card.method_id, CardStatus.ACTIVE
        await promote_primary(session, card.user_id)
    payment.card_id = card.id
    franchise = await session.get(Franchise, payment.franchise_id) if payment.franchise_id else None
    about: dict[str, Any] = {}
    if franchise is not None and franchise.status == FranchiseStatus.AWAITING_CARD:
        about = await schedule(session, franchise, now)
    payment.settled = True
    await enqueue(
        session,
        user_id=payment.user_id,
        kind="card_linked",
        dedupe_key=f"card-linked:{payment.id}",
        now=now,
        last4=card.last4,
        **about,
    )
    await session.commit()
    # Return the verification money: release the hold (or refund a captured payment).
    if answer.status == PaymentStatus.WAITING_FOR_CAPTURE:
        await provider.cancel(f"{payment.key}:cancel", answer.id)
    elif answer.status == PaymentStatus.SUCCEEDED:
        await provider.refund(f"{payment.key}:refund", answer.id, answer.amount)


def activation_start(program: Program | None, linked_at: datetime) -> datetime:
    """The one instant the franchise starts, for the message, the card, the clinics and the tick:
    00:00 Moscow time of the next day (seed 000 2.3), or minutes later where the program says so
    (seed 001: 30 minutes)."""
    if program is not None and program.activation_minutes is not None:
        start = linked_at + timedelta(minutes=program.activation_minutes)
        whole = start.replace(second=0, microsecond=0)  # the minute the message shows
        return whole if whole == start else whole + timedelta(minutes=1)
    return next_day(linked_at)


def desk_first_until(program: Program | None, linked_at: datetime) -> datetime | None:
    """Until when the clinics are still registering the person (seed 001: up to 5 working days):
    meanwhile the person goes through the 24/7 desk."""
    if program is None or not program.registration_working_days:
        return None
    return after_working_days(linked_at, program.registration_working_days)


async def _program_of(session: AsyncSession, franchise: Franchise) -> Program | None:
    return await session.scalar(
        select(Program)
        .join(Policy, Policy.program_id == Program.id)
        .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
        .where(InsuredPerson.id == franchise.insured_person_id)
    )


async def same_card(session: AsyncSession, user_id: int, answer: ProviderPayment) -> Card | None:
    """The person's card with the provider's identity of this one (first 6, last 4, expiry and
    the payment method type), removed or not: a card linked again stays one card."""
    saved = answer.card
    assert saved is not None
    same = await session.scalar(select(Card).where(Card.method_id == saved.method_id))
    if same is not None:
        return same
    return await session.scalar(
        select(Card)
        .where(
            Card.user_id == user_id,
            Card.first6 == saved.first6,
            Card.last4 == saved.last4,
            Card.expiry_month == saved.expiry_month,
            Card.expiry_year == saved.expiry_year,
            Card.card_type == saved.card_type,
        )
        .order_by(Card.id)
        .limit(1)
    )


async def schedule(session: AsyncSession, franchise: Franchise, now: datetime) -> dict[str, Any]:
    """The card is there: the franchise starts at its program's instant. Returns what the
    "card linked" message says about it."""
    program = await _program_of(session, franchise)
    franchise.status = FranchiseStatus.SCHEDULED
    franchise.active_from = activation_start(program, now)
    franchise.desk_first_until = desk_first_until(program, now)
    return await _start_args(session, franchise, program)


async def _start_args(
    session: AsyncSession, franchise: Franchise, program: Program | None
) -> dict[str, Any]:
    args = await person_args(session, franchise.insured_person_id)
    assert franchise.active_from is not None
    args["active_from"] = franchise.active_from.isoformat()
    if franchise.desk_first_until is not None:
        args["desk_until"] = franchise.desk_first_until.isoformat()
        args["desk_phone"] = (program.desk_phone if program else None) or ""
    return args


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
        program = await _program_of(session, franchise)
        args = await _start_args(session, franchise, program)
        args["regions_to_choose"] = await _no_region_chosen(session, franchise)
        await enqueue(
            session,
            user_id=franchise.user_id,
            kind="franchise_active",
            dedupe_key=f"franchise-active:{franchise_id}",
            now=now,
            insured_person_id=franchise.insured_person_id,
            **args,
        )
        await session.commit()
        done += 1
    return done


async def _no_region_chosen(session: AsyncSession, franchise: Franchise) -> bool:
    """A regional policy whose person has chosen no region yet: every clinic is closed by region."""
    territory = await session.scalar(
        select(Policy.territory)
        .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
        .where(InsuredPerson.id == franchise.insured_person_id)
    )
    if territory not in (Territory.REGIONAL, Territory.REGIONAL_EXCLUDING_CAPITALS):
        return False
    chosen = await session.scalar(
        select(ServiceRegion.id)
        .where(ServiceRegion.insured_person_id == franchise.insured_person_id)
        .limit(1)
    )
    return chosen is None
