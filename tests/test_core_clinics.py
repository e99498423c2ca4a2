"""The clinic index against a plain scan, the availability rule reason by reason, and the name
search (parts, case, ё/е, typos)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing.franchise import FranchiseState
from core.billing.models import Franchise
from core.billing.regions import confirm_regions
from core.billing.yookassa import YooKassa
from core.clinics.availability import (
    Entitlement,
    Fix,
    Reason,
    entitlement_of,
    nearest_for,
)
from core.clinics.index import ClinicDirectory, ClinicIndex, Entry, unit_vector
from core.clinics.search import by_name
from core.clock import FrozenClock
from core.policies.cabinet import Status
from sandbox.app import Sandbox
from tests.billing import bank, link_card, linked, policy, provider

__all__ = ["bank", "linked", "provider"]


def entry(
    i: int, lat: float, lon: float, *, name: str = "", region: str = "77", fo: bool = False
) -> Entry:
    return Entry(i, name or f"Клиника {i:05d}", lat, lon, region, fo, unit_vector(lat, lon))


def random_index(n: int, seed: int = 7) -> ClinicIndex:
    rng = random.Random(seed)
    entries = [
        entry(i, rng.uniform(42, 70), rng.uniform(27, 179), region=str(i % 89)) for i in range(n)
    ]
    return ClinicIndex(entries, {1: {e.id: frozenset({"outpatient"}) for e in entries if e.id % 2}})


def test_the_grid_finds_exactly_what_a_full_scan_finds_with_and_without_a_filter() -> None:
    index = random_index(4000)
    rng = random.Random(11)

    def odd_thirds(e: Entry) -> bool:
        return e.id % 3 == 0

    for _ in range(150):
        lat, lon = rng.uniform(40, 72), rng.uniform(20, 180)
        for accept in (None, odd_thirds):
            fast = [h.entry.id for h in index.nearest(lat, lon, 5, accept)]
            slow = [h.entry.id for h in index.full_scan(lat, lon, 5, accept)]
            assert fast == slow
    # A filter nothing nearby passes: the walk goes as far as it must.
    far = [h.entry.id for h in index.nearest(55.75, 37.6, 3, lambda e: e.id in {5, 3999})]
    assert sorted(far) == [5, 3999]


def test_far_away_ties_and_the_antimeridian() -> None:
    index = ClinicIndex(
        [
            entry(1, 55.75, 37.62, name="Б"),
            entry(2, 55.75, 37.62, name="А"),  # the same building: by name
            entry(3, 65.0, -179.95, name="Чукотка"),
        ],
        {},
    )
    assert [h.entry.id for h in index.nearest(55.75, 37.62, 2)] == [2, 1]
    [hit] = index.nearest(65.0, 179.95, 1)
    assert hit.entry.id == 3 and hit.distance_km < 5, "across 180°"
    sydney = index.nearest(-33.87, 151.21, 3)
    assert len(sydney) == 3 and sydney[0].distance_km > 10_000, "honest about the distance"


def rights(**changes: object) -> Entitlement:
    base = Entitlement(
        policy_id=1,
        program_id=1,
        status=Status.ACTIVE,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        covered_from=date(2026, 1, 15),
        territory="regional",
        open_regions=frozenset({"77"}),
        pending_regions={"16": datetime(2026, 11, 22, 21, tzinfo=UTC)},
        franchise_needed=True,
        franchise=FranchiseState.ACTIVE,
        franchise_since=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_each_reason_of_the_availability_rule_with_its_fix() -> None:
    moscow, kazan, spb, fo = (
        entry(1, 55.7, 37.6),
        entry(2, 55.8, 49.1, region="16"),
        entry(3, 59.9, 30.3, region="78"),
        entry(4, 55.7, 37.5, fo=True),
    )
    outside = entry(5, 55.0, 83.0, region="54")
    index = ClinicIndex(
        [moscow, kazan, spb, fo, outside], {1: {i: frozenset({"outpatient"}) for i in (1, 2, 3, 4)}}
    )

    def reason(right: Entitlement, e: Entry, care: str | None = None) -> Reason | None:
        return right.check(index, e, care).reason

    assert reason(rights(), moscow) is None
    assert reason(rights(), outside) is Reason.NOT_IN_PROGRAM
    assert reason(rights(), moscow, "dental") is Reason.NOT_IN_PROGRAM
    assert reason(rights(status=Status.EXPIRED), moscow) is Reason.EXPIRED
    assert reason(rights(status=Status.NOT_YET_ACTIVE), moscow) is Reason.NOT_STARTED
    waiting = rights(status=Status.WAITING).check(index, moscow)
    assert waiting.reason is Reason.WAITING and waiting.since == date(2026, 1, 15)
    tomorrow = rights().check(index, kazan)
    assert tomorrow.reason is Reason.REGION_TOMORROW and tomorrow.since is not None
    not_chosen = rights().check(index, spb)
    assert not_chosen.reason is Reason.REGION_NOT_CHOSEN and not_chosen.fix is Fix.CHOOSE_REGION
    assert reason(rights(territory="regional_excl"), spb) is Reason.OUTSIDE_TERRITORY
    assert (
        reason(rights(territory="moscow", open_regions=frozenset({"77", "50"})), spb)
        is Reason.OUTSIDE_TERRITORY
    )
    inactive = rights(franchise=FranchiseState.NOT_ACTIVATED).check(index, fo)
    assert (
        inactive.reason is Reason.FRANCHISE_NOT_ACTIVATED and inactive.fix is Fix.ACTIVATE_FRANCHISE
    )
    assert reason(rights(franchise=FranchiseState.NOT_ACTIVATED), moscow) is None, (
        "not a franchise clinic"
    )
    assert reason(rights(franchise=FranchiseState.CARD_LINKED), fo) is Reason.FRANCHISE_PENDING
    suspended = rights(franchise=FranchiseState.SUSPENDED).check(index, fo)
    assert suspended.reason is Reason.FRANCHISE_SUSPENDED and suspended.fix is Fix.PAY_DEBT

    for variant in (
        rights(),
        rights(status=Status.WAITING),
        rights(territory="moscow", open_regions=frozenset({"77", "50"})),
        rights(territory="regional_excl"),
        rights(franchise=FranchiseState.SUSPENDED),
        rights(franchise=FranchiseState.NOT_ACTIVATED),
    ):
        for care in (None, "outpatient", "dental"):
            admit = variant.admits(index, care)
            for e in index.entries.values():
                assert admit(e) == variant.check(index, e, care).available, (variant, e, care)

    near = nearest_for(index, [rights()], 55.7, 37.6, k=5)
    assert [n.hit.entry.id for n in near] == [1, 4], "only the available ones by default"
    everything = nearest_for(index, [rights()], 55.7, 37.6, k=5, everything=True)
    assert [n.access.reason for n in everything][:2] == [None, None] and len(everything) == 5


async def test_a_persons_rights_follow_the_waiting_period_franchise_and_regions(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    directory = ClinicDirectory()
    async with sessions() as session:
        index = await directory.index(session)
        view = await policy(session, "ONDL-500001", clock)
        right = await entitlement_of(session, view, clock.now())
        by_code = {e.name: e for e in index.entries.values()}
        tverskaya = by_code["Клиника «Здоровье на Тверской»"]
        sokol = by_code["Медицинский центр «Сокол»"]  # a franchise clinic
        assert right.check(index, tverskaya).reason is Reason.WAITING
    clock.advance(timedelta(days=4))  # 25.11: the waiting period is over
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        right = await entitlement_of(session, view, clock.now())
        assert right.check(index, sokol).reason is Reason.FRANCHISE_NOT_ACTIVATED
        # Regions are chosen only after activation: the same first reason, and its fix.
        assert right.check(index, tverskaya).reason is Reason.FRANCHISE_NOT_ACTIVATED
    await link_card(sessions, provider, clock)
    async with sessions() as session:
        right = await entitlement_of(session, view, clock.now())
        assert right.check(index, sokol).reason is Reason.FRANCHISE_PENDING
        assert right.check(index, tverskaya).reason is Reason.FRANCHISE_PENDING
    clock.advance(timedelta(hours=12))  # 26.11 00:00 Moscow: active; regions can be chosen
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        right = await entitlement_of(session, view, clock.now())
        assert right.check(index, sokol).reason is Reason.REGION_NOT_CHOSEN, "franchise: ok"
        assert right.check(index, tverskaya).reason is Reason.REGION_NOT_CHOSEN
        await confirm_regions(session, view, ["77"], clock.now())
    clock.advance(timedelta(days=1))
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        right = await entitlement_of(session, view, clock.now())
        assert right.check(index, tverskaya).available and right.check(index, sokol).available
        await session.execute(update(Franchise).values(suspended_at=clock.now()))
        await session.commit()
        right = await entitlement_of(session, view, clock.now())
        assert right.check(index, sokol).reason is Reason.FRANCHISE_SUSPENDED
        assert right.check(index, tverskaya).available, "only franchise clinics are suspended"
        assert (await session.scalar(select(Franchise.id))) is not None


async def test_the_name_search_takes_parts_any_case_yo_and_small_typos(
    sessions: async_sessionmaker[AsyncSession], linked: None
) -> None:
    async with sessions() as session:
        index = await ClinicDirectory().index(session)

    def names(query: str) -> list[str]:
        return [e.name for e in by_name(index, query)]

    assert names("тверской") == ["Клиника «Здоровье на Тверской»"]
    assert names("ЗДОРОВЬЕ")[:2] == [
        "Клиника «Сибирь-Здоровье»",
        "Клиника «Здоровье на Тверской»",
    ] or set(names("ЗДОРОВЬЕ")[:2]) == {
        "Клиника «Сибирь-Здоровье»",
        "Клиника «Здоровье на Тверской»",
    }
    assert names("Тверскй") == ["Клиника «Здоровье на Тверской»"], "one letter missing"
    assert names("сибирь здоровье")[0] == "Клиника «Сибирь-Здоровье»", "a dash or a space"
    assert "Клиника «Подмосковье» (Химки)" in names("подмосковье химки")
    assert names("зз") == [] and names("   ") == []
    found = names("клиника")
    assert all("клиника" in name.lower() for name in found[:9]), "whole parts first"
    assert found[9:] == ["Клиническая больница «Исеть»"], "near misses after"
