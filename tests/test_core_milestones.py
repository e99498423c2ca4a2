"""Dated milestones with the clock moved: each fires once, at its time, and never again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import User
from core.billing.charges import run_charges
from core.billing.models import Card, CardStatus
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.i18n import translator
from core.notifications.messages import render
from core.notifications.milestones import announce_milestones
from core.notifications.outbox import OutboxMessage
from sandbox.app import Sandbox
from sandbox.bank import POOR_CARD
from tests.billing import RULES, bank, bills, link_card, linked, provider

__all__ = ["bank", "linked", "provider"]
EVERY = timedelta(days=3)


async def kinds(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    for row in rows:  # every message renders in both languages
        for locale in ("ru", "en"):
            assert render(row.kind, row.args, translator(locale), locale)
    return [row.kind for row in rows]


async def tick(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    for _ in range(2):  # twice: the second run must add nothing
        async with sessions() as session:
            await announce_milestones(session, RULES, clock.now(), debt_every=EVERY)


async def test_the_waiting_period_end_and_the_expiry_notices_come_once_each(
    sessions: async_sessionmaker[AsyncSession], linked: None, clock: FrozenClock
) -> None:
    await tick(sessions, clock)
    assert await kinds(sessions) == []
    clock.advance(timedelta(days=3))  # 24.11 09:00 UTC: ONDL-500001 is past its 14 days
    await tick(sessions, clock)
    assert await kinds(sessions) == ["coverage_started"]
    clock.advance(timedelta(days=7))  # 01.12: DMS-K-2026-0001 ends on 31.12
    await tick(sessions, clock)
    clock.advance(timedelta(days=23))  # 24.12
    await tick(sessions, clock)
    assert await kinds(sessions) == ["coverage_started", "policy_expiring", "policy_expiring"]


async def test_a_debt_is_recalled_every_few_days_and_warned_before_the_deadline(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock, POOR_CARD)
    await bills(sessions, clock, "136.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    base = [k for k in await kinds(sessions)]
    assert base[-1] == "debts"
    clock.advance(timedelta(days=2))
    await tick(sessions, clock)
    assert [k for k in await kinds(sessions) if k.startswith("debt_")] == []
    clock.advance(timedelta(days=1))  # three days of debt
    await tick(sessions, clock)
    clock.advance(timedelta(days=3))
    await tick(sessions, clock)
    clock.advance(timedelta(days=5))  # 11 days: three days are left, with the whole 14th
    await tick(sessions, clock)
    assert [k for k in await kinds(sessions) if k == "debt_warning"] == []
    clock.advance(timedelta(days=1))  # 12 days: the 14th is the last day, in three days
    await tick(sessions, clock)
    debt = [k for k in await kinds(sessions) if k.startswith("debt_")]
    # At 12 days the warning is due: it comes instead of that round's reminder, not beside it.
    assert debt == ["debt_reminder"] * 3 + ["debt_warning"]


async def test_a_card_expiring_next_month_is_announced_this_month_once(
    sessions: async_sessionmaker[AsyncSession], linked: None, clock: FrozenClock
) -> None:
    async with sessions() as session:
        user_id = await session.scalar(select(User.id))
        assert user_id is not None
        for month, last4 in ((12, "1212"), (1, "0101")):  # December 2026, January 2027
            session.add(
                Card(
                    user_id=user_id,
                    method_id=f"pm-{last4}",
                    first6="555555",
                    last4=last4,
                    expiry_month=month,
                    expiry_year=2026 if month == 12 else 2027,
                    card_type="MasterCard",
                    status=CardStatus.ACTIVE,
                    primary=month == 12,
                    added_at=clock.now(),
                )
            )
        await session.commit()
    await tick(sessions, clock)  # November: the December card
    clock.advance(timedelta(days=15))  # December: the January card
    await tick(sessions, clock)
    async with sessions() as session:
        told = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "card_expiring")
            )
        ).all()
    assert [m.args["last4"] for m in told] == ["1212", "0101"]
