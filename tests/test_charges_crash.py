"""Charges survive a crash (issue 20, item 5; found by `benchmarks.charges --kill`, 26 shares
charged twice of 1,500 before): a runner that dies between recording the bank's "succeeded"
and marking the share paid never makes the share be charged twice, and the reconciliation
finishes the job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing import charges as charge_module
from core.billing.charges import run_charges
from core.billing.models import Charge
from core.billing.reconcile import reconcile
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from sandbox.app import Sandbox
from tests.billing import RULES, bank, bills, link_card, linked, provider

__all__ = ["bank", "linked", "provider"]


class Killed(BaseException):
    """The process stops here (SIGKILL leaves no chance to clean up either)."""


def succeeded_at_bank(bank: Sandbox) -> list[str]:
    return [
        p["metadata"]["charge"]
        for p in bank.bank.payments.values()
        if p["status"] == "succeeded" and "charge" in (p.get("metadata") or {})
    ]


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(Charge.status).order_by(Charge.id)))


async def test_a_runner_killed_after_the_bank_said_succeeded_charges_nobody_twice(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await link_card(sessions, provider, clock)
    await bills(sessions, clock, "136.00")
    clock.advance(timedelta(days=30))

    async def dies(*args: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(charge_module, "charge_answered", dies)
        with pytest.raises(Killed):
            await run_charges(sessions, provider, RULES, clock.now())
    assert await statuses(sessions) == ["charging"] and len(succeeded_at_bank(bank)) == 1

    clock.advance(RULES.stale_claim + timedelta(minutes=1))  # the next leader's tick
    assert await run_charges(sessions, provider, RULES, clock.now()) == 1, "the claim is stale"
    assert len(succeeded_at_bank(bank)) == 1, "the share was not charged again"
    async with sessions() as session:
        assert await reconcile(session, provider, RULES, clock.now()) == 1
    assert await statuses(sessions) == ["paid"]


async def test_the_next_tick_cannot_take_over_a_share_a_runner_is_paying(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run longer than the stale-claim time (1,000 shares one at a time on a slow bank): the
    next tick must not take a share the first runner is paying at that very moment."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: the next tick would wait for the first runner")
    await link_card(sessions, provider, clock)
    await bills(sessions, clock, "136.00")
    clock.advance(timedelta(days=30))
    first_tick = clock.now()
    real_cards = charge_module.payer_cards
    overtaken: list[int] = []
    paused: list[bool] = []

    async def cards_then_the_next_tick(session: AsyncSession, person_id: int) -> object:
        if not paused:  # the first runner is between its checks and its payment
            paused.append(True)
            later = first_tick + RULES.stale_claim + timedelta(minutes=1)
            overtaken.append(await run_charges(sessions, provider, RULES, later))
        return await real_cards(session, person_id)

    monkeypatch.setattr(charge_module, "payer_cards", cards_then_the_next_tick)
    assert await run_charges(sessions, provider, RULES, first_tick) == 1
    assert overtaken == [0], "the share being paid was not taken by the next tick"
    assert len(succeeded_at_bank(bank)) == 1
    assert await statuses(sessions) == ["paid"]
