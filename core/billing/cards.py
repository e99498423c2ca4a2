"""The person's cards: choose the primary one, remove one, and notice the ones that expired.

A card is removed only from our side (the saved method is simply never used again). The last
usable card stays while a franchise is activated and a share is due, being charged or owed:
otherwise that share could only become a debt (seed 000 2.3).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.models import (
    Card,
    CardStatus,
    Charge,
    ChargeStatus,
    Franchise,
    FranchiseStatus,
)
from core.errors import DomainError
from core.formatting import MOSCOW as MOSCOW_TIME
from core.notifications.outbox import enqueue
from core.policies.models import PolicyLink


class CardNotFound(DomainError):
    pass


class KeepReason(StrEnum):
    DEBT = "debt"
    DUE = "due"  # a share waits for its charge or is being charged


class LastCardNeeded(DomainError):
    def __init__(self, reason: KeepReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


async def _card(session: AsyncSession, user_id: int, card_id: int) -> Card:
    card = await session.get(Card, card_id)
    if card is None or card.user_id != user_id or card.status == CardStatus.REMOVED:
        raise CardNotFound(str(card_id))
    return card


async def make_primary(session: AsyncSession, user_id: int, card_id: int) -> Card:
    card = await _card(session, user_id, card_id)
    if card.status != CardStatus.ACTIVE:
        raise CardNotFound(str(card_id))  # an expired card cannot be charged first
    await session.execute(
        update(Card).where(Card.user_id == user_id, Card.id != card.id).values(primary=False)
    )
    card.primary = True
    await session.commit()
    return card


async def promote_primary(session: AsyncSession, user_id: int) -> None:
    """After the primary card is gone, the oldest usable card becomes primary."""
    cards = (
        await session.scalars(
            select(Card)
            .where(Card.user_id == user_id, Card.status == CardStatus.ACTIVE)
            .order_by(Card.primary.desc(), Card.added_at, Card.id)
        )
    ).all()
    if cards and not cards[0].primary:
        cards[0].primary = True


async def keep_reason(session: AsyncSession, user_id: int) -> KeepReason | None:
    """Why the user's last usable card may not go now, if it may not."""
    activated = await session.scalar(
        select(Franchise.id)
        .where(Franchise.user_id == user_id, Franchise.status != FranchiseStatus.AWAITING_CARD)
        .limit(1)
    )
    if activated is None:
        return None
    statuses = set(
        (
            await session.scalars(
                select(Charge.status)
                .join(PolicyLink, PolicyLink.insured_person_id == Charge.insured_person_id)
                .where(
                    PolicyLink.user_id == user_id,
                    Charge.status.in_([ChargeStatus.DEBT, ChargeStatus.DUE, ChargeStatus.CHARGING]),
                )
                .distinct()
            )
        ).all()
    )
    if ChargeStatus.DEBT in statuses:
        return KeepReason.DEBT
    return KeepReason.DUE if statuses else None


async def removal_makes_debts(session: AsyncSession, user_id: int, card_id: int) -> bool:
    """Whether removing this card leaves an activated franchise with no card to charge: then
    every co-payment becomes a debt, and the person is warned before."""
    card = await _card(session, user_id, card_id)
    if card.status != CardStatus.ACTIVE:
        return False
    others = await session.scalar(
        select(Card.id)
        .where(Card.user_id == user_id, Card.status == CardStatus.ACTIVE, Card.id != card.id)
        .limit(1)
    )
    if others is not None:
        return False
    activated = await session.scalar(
        select(Franchise.id)
        .where(Franchise.user_id == user_id, Franchise.status != FranchiseStatus.AWAITING_CARD)
        .limit(1)
    )
    return activated is not None


async def remove_card(session: AsyncSession, user_id: int, card_id: int) -> Card:
    card = await _card(session, user_id, card_id)
    if card.status == CardStatus.ACTIVE:
        others = await session.scalar(
            select(Card.id)
            .where(Card.user_id == user_id, Card.status == CardStatus.ACTIVE, Card.id != card.id)
            .limit(1)
        )
        if others is None and (reason := await keep_reason(session, user_id)) is not None:
            raise LastCardNeeded(reason)
    card.status, card.primary = CardStatus.REMOVED, False
    await promote_primary(session, user_id)
    await session.commit()
    return card


async def expire_cards(session: AsyncSession, now: datetime) -> int:
    """The scheduler's tick: a card is good through its expiry month; then it is marked, and
    the person is asked to link a new one."""
    local = now.astimezone(MOSCOW_TIME)
    cards = (
        await session.scalars(
            select(Card).where(
                Card.status == CardStatus.ACTIVE,  # a row comparison: ix_cards_expiry serves it
                tuple_(Card.expiry_year, Card.expiry_month) < tuple_(local.year, local.month),
            )
        )
    ).all()
    for card in cards:
        card.status, card.primary = CardStatus.EXPIRED, False
        await promote_primary(session, card.user_id)
        await enqueue(
            session,
            user_id=card.user_id,
            kind="card_expired",
            dedupe_key=f"card-expired:{card.id}",
            now=now,
            last4=card.last4,
        )
        await session.commit()
    return len(cards)
