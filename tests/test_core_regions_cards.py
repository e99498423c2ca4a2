"""Service regions per territory type (seed 002) and the person's cards: primary, removal,
expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing.cards import (
    CardNotFound,
    KeepReason,
    LastCardNeeded,
    expire_cards,
    make_primary,
    remove_card,
)
from core.billing.models import Card, CardStatus, ServiceRegion
from core.billing.regions import (
    Refusal,
    RegionNotCovered,
    RegionsNotAllowed,
    announce_regions,
    choosable,
    confirm_regions,
    regions_of,
)
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.notifications.outbox import OutboxMessage
from core.policies.models import Policy
from core.subjects import SUBJECTS, code_of, search
from sandbox.app import Sandbox
from sandbox.bank import EXPIRING_CARD, POOR_CARD, SUCCESS_CARD
from tests.billing import anna, bank, bills, link_card, linked, messages, policy, provider

__all__ = ["bank", "linked", "provider"]  # fixtures


def test_the_list_holds_every_federal_subject_and_finds_them_by_part_of_a_name() -> None:
    assert len(SUBJECTS) == 89 and len({s.code for s in SUBJECTS}) == 89
    assert [s.code for s in search("моск")] == ["50", "77"]
    assert [s.code for s in search("ЯКУТ")] == ["14"]
    assert [s.code for s in search("petersburg")] == ["78"]
    assert [s.code for s in search("Северная Осетия-Алания")] == ["15"], "dashes do not matter"
    assert search("Атлантида") == []
    assert code_of("г. Москва") == code_of("Moscow") == code_of("77") == "77"
    assert code_of("Республика Татарстан") == "16" and code_of("Неизвестно") is None
    assert len(choosable("regional")) == 89
    assert {s.code for s in choosable("regional_excl")}.isdisjoint({"77", "50", "78", "47"})
    assert len(choosable("regional_excl")) == 85 and choosable("moscow") == []


async def test_regions_open_after_activation_the_next_day_and_are_never_removed(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        assert (await regions_of(session, view, now=clock.now())).refusal is Refusal.FRANCHISE_FIRST
        with pytest.raises(RegionsNotAllowed):
            await confirm_regions(session, view, ["16"], clock.now())
        moscow = await regions_of(
            session, await policy(session, "DMS-K-2026-0001", clock), now=clock.now()
        )
        assert moscow.refusal is Refusal.FIXED and moscow.fixed == ("77", "50")
        assert moscow.available(clock.now()) == {"77", "50"}
    await link_card(sessions, provider, clock)
    async with sessions() as session:  # linked, but the franchise starts at 22.11 00:00 MSK
        view = await policy(session, "ONDL-500001", clock)
        regions = await regions_of(session, view, now=clock.now())
        assert regions.refusal is Refusal.FRANCHISE_PENDING
        assert regions.opens == datetime(2026, 11, 21, 21, 0, tzinfo=UTC)
        with pytest.raises(RegionsNotAllowed):
            await confirm_regions(session, view, ["16"], clock.now())
    clock.advance(timedelta(hours=12))  # 22.11 00:00 in Moscow

    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        regions = await regions_of(session, view, now=clock.now())
        assert regions.refusal is None and regions.to_choose
        assert await confirm_regions(session, view, ["77", "16"], clock.now()) == ["16", "77"]
        regions = await regions_of(session, view, now=clock.now())
        tomorrow = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # 23.11 00:00 in Moscow
        assert regions.chosen == {"16": tomorrow, "77": tomorrow}
        assert regions.available(clock.now()) == set() and not regions.to_choose
        assert await announce_regions(session, clock.now()) == 0
        # More can be added at any time; the confirmed ones stay as they are.
        assert await confirm_regions(session, view, ["16", "52"], clock.now()) == ["52"]
        with pytest.raises(RegionNotCovered):
            await confirm_regions(session, view, ["99"], clock.now())
    clock.advance(tomorrow - clock.now())
    async with sessions() as session:
        assert (await regions_of(session, view, now=clock.now())).available(clock.now()) == {
            "16",
            "52",
            "77",
        }
        assert await announce_regions(session, clock.now()) == 1
        assert await announce_regions(session, clock.now()) == 0
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "regions_available")
        )
        assert message is not None and sorted(message.args["codes"]) == ["16", "52", "77"]
        assert len((await session.scalars(select(ServiceRegion))).all()) == 3


async def test_a_variant_without_the_capitals_refuses_them_and_an_expired_policy_refuses_all(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock)
    clock.advance(timedelta(hours=12))  # the franchise is active
    async with sessions() as session:
        row = await session.scalar(select(Policy).where(Policy.number == "ONDL-500001"))
        assert row is not None
        row.territory = "regional_excl"
        await session.commit()
        view = await policy(session, "ONDL-500001", clock)
        for capital in ("77", "50", "78", "47"):
            with pytest.raises(RegionNotCovered):
                await confirm_regions(session, view, [capital, "16"], clock.now())
        assert await session.scalar(select(ServiceRegion.id)) is None, "nothing half-saved"
        assert await confirm_regions(session, view, ["66"], clock.now()) == ["66"]
        row.valid_to = date(2026, 11, 1)
        await session.commit()
        view = await policy(session, "ONDL-500001", clock)
        assert (await regions_of(session, view, now=clock.now())).refusal is Refusal.EXPIRED


async def test_primary_card_removal_and_the_last_card_kept_while_a_share_is_owed(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock, POOR_CARD)
    await link_card(sessions, provider, clock, SUCCESS_CARD, another=True)
    async with sessions() as session:
        user = await anna(session)
        first, second = (await session.scalars(select(Card).order_by(Card.id))).all()
        assert first.primary and not second.primary
        await make_primary(session, user.id, second.id)
        await session.refresh(first)
        assert second.primary and not first.primary
        with pytest.raises(CardNotFound):
            await make_primary(session, user.id + 1000, first.id)
    await bills(sessions, clock, "136.00")
    async with sessions() as session:
        user = await anna(session)
        await remove_card(session, user.id, second.id)
        remaining = await session.get(Card, first.id)
        assert remaining is not None and remaining.primary, "the remaining card becomes primary"
        with pytest.raises(LastCardNeeded) as refused:
            await remove_card(session, user.id, first.id)
        assert refused.value.reason is KeepReason.DUE
        statuses = dict((await session.execute(select(Card.last4, Card.status))).all())
        assert statuses == {"4535": CardStatus.ACTIVE, "4477": CardStatus.REMOVED}


async def test_a_card_past_its_expiry_month_is_marked_and_the_person_is_asked_for_a_new_one(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock, EXPIRING_CARD)
    await link_card(sessions, provider, clock, SUCCESS_CARD, another=True)
    async with sessions() as session:
        card = await session.scalar(select(Card).where(Card.last4 == "4600"))
        assert card is not None and card.primary
        # The last day of the expiry month, then the first day after it (Moscow time).
        after = date(card.expiry_year + card.expiry_month // 12, card.expiry_month % 12 + 1, 1)
        clock.advance(datetime(after.year, after.month, 1, tzinfo=UTC) - clock.now())
        clock.advance(timedelta(hours=-4))
        assert await expire_cards(session, clock.now()) == 0, "still its month in Moscow"
        clock.advance(timedelta(hours=2))
        assert await expire_cards(session, clock.now()) == 1
        assert await expire_cards(session, clock.now()) == 0
        rows = dict((await session.execute(select(Card.last4, Card.primary))).all())
    assert rows == {"4600": False, "4477": True}
    assert (await messages(sessions))[-1] == "card_expired"
