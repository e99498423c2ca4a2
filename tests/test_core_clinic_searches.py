"""Saved clinic searches: a list's buttons find their own search, a person only their own, and
searches older than a month are let go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.users import TelegramProfile, touch_user
from core.clinics.models import SavedSearch
from core.clinics.searches import KEPT, recall_search, remember_search
from core.clock import FrozenClock
from core.jobs import scheduled_ticks
from tests.conftest import START


async def test_searches_are_recalled_by_their_owner_and_pruned(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        anna = await touch_user(
            session, TelegramProfile(1, "Анна"), now=START, default_language="ru"
        )
        petr = await touch_user(
            session, TelegramProfile(2, "Пётр"), now=START, default_language="ru"
        )
        await session.commit()
        named = await remember_search(session, anna.id, query="Тверская", now=START)
        near = await remember_search(session, anna.id, point=(55.75, 37.61), now=START)

        found = await recall_search(session, anna.id, named)
        assert found is not None and found.query == "Тверская" and found.latitude is None
        found = await recall_search(session, anna.id, near)
        assert found is not None and (found.latitude, found.longitude) == (55.75, 37.61)
        assert await recall_search(session, petr.id, near) is None, "another person's"
        assert await recall_search(session, anna.id, 0) is None
        assert await recall_search(session, anna.id, 2**40) is None, "beyond the column"

        later = START + KEPT + timedelta(minutes=1)
        await remember_search(session, anna.id, query="Сокол", now=later)  # one insert
        assert await session.scalar(select(func.count()).select_from(SavedSearch)) == 3
    clock = FrozenClock(later)
    tick, every = scheduled_ticks(sessions, clock)["purge_clinic_searches"]
    assert every == 3600.0
    await tick()  # hourly
    async with sessions() as session:
        assert await recall_search(session, anna.id, named) is None, "a month old: let go"
        count = await session.scalar(select(func.count()).select_from(SavedSearch))
        assert count == 1

    with pytest.raises(ValueError, match="a query or a point"):
        async with sessions() as session:
            await remember_search(session, anna.id, now=START)
