"""Core rules of the foundation, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import User
from core.accounts.users import TelegramProfile, pick_language, set_language, touch_user
from core.clinics.geo import distance_km
from core.clinics.index import ClinicDirectory
from core.clinics.models import Clinic
from core.clock import FrozenClock, ShiftedClock
from core.dialog_state import DialogStateStore
from core.importers.clinics import import_clinics
from tests.conftest import seed_demo

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ru", "ru"), ("ru-RU", "ru"), ("en-US", "en"), ("EN", "en"), ("uk", "ru"), (None, "ru")],
)
def test_language_from_telegram(code: str | None, expected: str) -> None:
    assert pick_language(code, "ru") == expected


async def test_user_is_created_once_and_keeps_a_chosen_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    profile = TelegramProfile(telegram_id=10, first_name="Anna", language_code="en")
    async with sessions() as session:
        user = await touch_user(session, profile, now=NOW, default_language="ru")
        await session.commit()
        assert user.language == "en"
        await set_language(session, user, "ru")
        with pytest.raises(ValueError, match="unsupported"):
            await set_language(session, user, "de")
    later = TelegramProfile(telegram_id=10, first_name="Анна", language_code="en")
    async with sessions() as session:
        user = await touch_user(session, later, now=NOW + timedelta(hours=1), default_language="ru")
        await session.commit()
        assert user.language == "ru", "a chosen language wins over Telegram's"
        assert user.first_name == "Анна"
        assert user.last_seen_at == NOW + timedelta(hours=1)
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_dialog_state_store_round_trip_and_cleanup(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = DialogStateStore(sessions, FrozenClock(NOW))
    assert await store.load("k") == (None, {})
    await store.set_state("k", "Registration:phone")
    await store.set_data("k", {"phone": "+79990000000", "nested": {"a": [1, 2]}})
    assert await store.load("k") == (
        "Registration:phone",
        {"phone": "+79990000000", "nested": {"a": [1, 2]}},
    )
    await store.set_state("k", None)
    assert await store.load("k") == (None, {"phone": "+79990000000", "nested": {"a": [1, 2]}})
    await store.set_data("k", {})
    assert await store.load("k") == (None, {})
    async with sessions() as session:
        from core.dialog_state import DialogState

        assert await session.scalar(select(func.count()).select_from(DialogState)) == 0


async def test_clinic_import_reports_bad_rows_and_is_idempotent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    good = {
        "code": "C-1",
        "name": "Клиника",
        "region": "г. Москва",
        "city": "Москва",
        "address": "ул. Тверская, 1",
        "latitude": 55.76,
        "longitude": 37.61,
        "care_types": ["outpatient"],
    }
    rows = [
        good,
        {**good, "code": "C-2", "latitude": 95},
        {**good, "code": "C-3", "care_types": ["spa"]},
    ]
    async with sessions() as session:
        report = await import_clinics(session, enumerate(rows, start=1))
    assert report.created == 1
    assert [line for line, _ in report.errors] == [2, 3]
    assert "latitude" in report.errors[0][1] and "spa" in report.errors[1][1]

    async with sessions() as session:
        again = await import_clinics(session, [(1, {**good, "name": "Клиника (новое имя)"})])
        assert (again.created, again.updated) == (0, 1)
        names = (await session.scalars(select(Clinic.name))).all()
    assert names == ["Клиника (новое имя)"]


async def test_demo_data_is_loaded_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await seed_demo(sessions) is True
    assert await seed_demo(sessions) is False
    async with sessions() as session:
        cities = set((await session.scalars(select(Clinic.city))).all())
    assert {"Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"} <= cities


async def test_nearest_clinics_order_and_limits(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        index = await ClinicDirectory().index(session)
    found = index.nearest(55.7558, 37.6173, 3)
    assert found[0].entry.name == "Клиника «Здоровье на Тверской»"
    assert [n.distance_km for n in found] == sorted(n.distance_km for n in found)


def test_distance_is_great_circle() -> None:
    assert distance_km(55.7558, 37.6173, 59.9343, 30.3351) == pytest.approx(634, rel=0.01)
    assert distance_km(0, 179.9, 0, -179.9) == pytest.approx(22.2, rel=0.01)


def test_clocks() -> None:
    frozen = FrozenClock(NOW)
    assert frozen.advance(timedelta(days=1)) == NOW + timedelta(days=1)
    shifted = ShiftedClock()
    before = shifted.now()
    assert shifted.advance(timedelta(days=30)) - before >= timedelta(days=30)
    with pytest.raises(ValueError, match="forward"):
        shifted.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))  # noqa: DTZ001
