"""What the scheduler ticks, and how often. Each tick is cheap when there is nothing to do."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.identity import purge_expired_files
from core.clock import Clock
from core.notifications.scheduler import Tick

log = logging.getLogger(__name__)


def scheduled_ticks(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> dict[str, tuple[Tick, float]]:
    async def purge_identity_files() -> None:
        async with sessions() as session:
            erased = await purge_expired_files(session, now=clock.now())
        if erased:
            log.info("erased %s identity check files past their retention", erased)

    return {"purge_identity_files": (purge_identity_files, 3600.0)}
