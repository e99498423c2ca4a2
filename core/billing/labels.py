"""What a money message names: the policy, the insured person, the service and the card
(CONVERSATION.md §6: say what, whose, which and when)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.models import Bill, Card, Charge
from core.policies.models import InsuredPerson, Policy


async def person_args(session: AsyncSession, insured_person_id: int) -> dict[str, Any]:
    """The policy number, its id and the insured person's first name, as message arguments."""
    row = (
        await session.execute(
            select(Policy.id, Policy.number, InsuredPerson.first_name)
            .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
            .where(InsuredPerson.id == insured_person_id)
        )
    ).first()
    if row is None:
        return {}
    return {"policy_id": row[0], "number": row[1], "name": row[2]}


async def share_args(session: AsyncSession, charge: Charge) -> dict[str, Any]:
    """One share: its amount, the service and its date, the policy and the person."""
    bill = await session.get(Bill, charge.bill_id)
    args: dict[str, Any] = {"amount": charge.amount, "charge_id": charge.id}
    if bill is not None:
        args |= {"service": bill.service, "service_date": bill.service_date.isoformat()}
    return args | await person_args(session, charge.insured_person_id)


async def card_args(session: AsyncSession, card_id: int | None) -> dict[str, Any]:
    card = await session.get(Card, card_id) if card_id else None
    return {"last4": card.last4} if card is not None else {}
