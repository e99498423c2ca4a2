"""Dated milestones the scheduler announces: the waiting period is over, the policy expires in
30 and in 7 days, a card expires next month, a debt is still unpaid (every few days) and its
deadline is three days away. Each announcement has a dedupe key naming its milestone, so a tick
that runs twice, or two schedulers, still tell the person once."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.labels import person_args
from core.billing.models import Card, CardStatus, Charge, ChargeStatus
from core.billing.rules import BillingRules, suspension_moment
from core.formatting import MOSCOW
from core.notifications.outbox import enqueue
from core.policies.models import InsuredPerson, Policy, PolicyLink, Program

EXPIRY_NOTICES = (30, 7)  # days before the policy's last day
LATE = timedelta(days=2)  # a milestone older than this is not announced any more (deployments)


async def announce_milestones(
    session: AsyncSession, rules: BillingRules, now: datetime, *, debt_every: timedelta
) -> int:
    today = now.astimezone(MOSCOW).date()
    told = 0
    links = (
        await session.execute(
            select(PolicyLink, Policy, Program, InsuredPerson.first_name)
            .join(InsuredPerson, InsuredPerson.id == PolicyLink.insured_person_id)
            .join(Policy, Policy.id == InsuredPerson.policy_id)
            .outerjoin(Program, Program.id == Policy.program_id)
            .where(Policy.valid_to >= today)
        )
    ).all()
    for link, policy, program, name in links:
        if program is not None and program.waiting_days:
            covered = policy.valid_from + timedelta(days=program.waiting_days)
            if covered <= today <= covered + LATE:
                await enqueue(
                    session,
                    user_id=link.user_id,
                    kind="coverage_started",
                    dedupe_key=f"covered:{link.id}",
                    now=now,
                    number=policy.number,
                )
                told += 1
        left = (policy.valid_to - today).days
        # The nearest notice due: a policy added 24 days before its end hears at once (the
        # 30-day notice), not only a week before; each notice comes once (its key).
        if due := [days for days in EXPIRY_NOTICES if left <= days]:
            days = min(due)
            await enqueue(
                session,
                user_id=link.user_id,
                kind="policy_expiring",
                dedupe_key=f"expiring:{link.id}:{days}",
                now=now,
                number=policy.number,
                name=name,
                policy_id=policy.id,
                valid_to=policy.valid_to.isoformat(),
                contract=policy.contract,
            )
            told += 1
    told += await _cards(session, now)
    told += await _debts(session, rules, now, debt_every)
    await session.commit()
    return told


async def _cards(session: AsyncSession, now: datetime) -> int:
    local = now.astimezone(MOSCOW)
    following = local.year * 12 + local.month  # next month, counted as year * 12 + month - 1
    cards = (
        await session.scalars(
            select(Card).where(
                Card.status == CardStatus.ACTIVE,
                Card.expiry_year * 12 + Card.expiry_month - 1 == following,
            )
        )
    ).all()
    for card in cards:
        await enqueue(
            session,
            user_id=card.user_id,
            kind="card_expiring",
            dedupe_key=f"card-expiring:{card.id}",
            now=now,
            last4=card.last4,
        )
    return len(cards)


async def _debts(
    session: AsyncSession, rules: BillingRules, now: datetime, every: timedelta
) -> int:
    rows = (
        await session.execute(
            select(PolicyLink.user_id, Charge)
            .join(PolicyLink, PolicyLink.insured_person_id == Charge.insured_person_id)
            .where(Charge.status == ChargeStatus.DEBT)
        )
    ).all()
    owed: dict[int, list[Charge]] = defaultdict(list)
    for user_id, charge in rows:
        owed[user_id].append(charge)
    told = 0
    for user_id, charges in owed.items():
        oldest = min(charges, key=lambda c: (c.debt_since or now, c.id))
        since = oldest.debt_since or now
        total = sum(c.amount for c in charges)
        rounds = int((now - since) / every)
        deadline = suspension_moment(since, rules)
        last_day = (deadline - timedelta(days=1)).isoformat()  # shown as the last day to pay
        warning_due = deadline - timedelta(days=3) <= now < deadline
        if rounds < 1 and not warning_due:
            continue  # nothing to say at this tick: no query for whose debt it is
        # Whose debt it is (CONVERSATION.md 6): each policy and insured person, in order.
        whose = [await person_args(session, person) for person in _persons(charges)]
        if rounds >= 1 and not warning_due:  # the warning says it all that day: not both
            await enqueue(
                session,
                user_id=user_id,
                kind="debt_reminder",
                dedupe_key=f"debt-reminder:{oldest.id}:{rounds}",
                now=now,
                amount=total,
                count=len(charges),
                whose=whose,
                # Past it, the clinics are suspended already: no date in the past as a threat.
                **({"deadline": last_day} if now < deadline else {"suspended": True}),
            )
            told += 1
        if warning_due:
            await enqueue(
                session,
                user_id=user_id,
                kind="debt_warning",
                dedupe_key=f"debt-warning:{oldest.id}",
                now=now,
                amount=total,
                deadline=last_day,
                whose=whose,
            )
            told += 1
    return told


def _persons(charges: list[Charge]) -> list[int]:
    """The insured persons of the debts, the oldest debt's first."""
    ordered = sorted(charges, key=lambda c: (c.debt_since is None, c.debt_since, c.id))
    return list(dict.fromkeys(c.insured_person_id for c in ordered))
