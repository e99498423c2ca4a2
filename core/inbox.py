"""Each Telegram update is handled once, however often it arrives.

Telegram sends an update again when it got no answer in time: a worker that died mid-update,
a slow one, or a long-polling process killed before it confirmed the offset. Handling claims
the update id for a lease; the claim is released if handling fails (so the retry does the work)
and turned into "done" when it succeeds (so a retry is skipped). A copy arriving while another
worker still holds a live claim is "busy": its sender is told to come back later.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import BigInteger, String, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, UtcDateTime, current_unit

LEASE = timedelta(seconds=30)  # longer than any update takes; a dead worker's claim expires
KEEP = timedelta(days=2)  # Telegram keeps an unconfirmed update for 24 hours


class Claim(StrEnum):
    MINE = "mine"
    DONE = "done"
    BUSY = "busy"


class ProcessedUpdate(Base):
    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(8))  # working | done
    until: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # lease end, or kept until


class DatabaseInbox:
    """The ledger in the application database (one process or several on PostgreSQL).

    Inside an update's unit of work the claim is committed at once (another worker must see
    it before this one starts), while "done" (or the release of a failed claim) is written in
    the update's own final commit, with its dialog step."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock

    @contextlib.asynccontextmanager
    async def _session(self, commit: bool) -> AsyncIterator[AsyncSession]:
        unit = current_unit()
        if unit is not None:
            yield unit.session
            if commit:
                await unit.session.commit()
            else:
                unit.wrote = True
            return
        async with self.sessions() as session:
            yield session
            await session.commit()

    async def claim(self, update_id: int) -> Claim:
        now = self.clock.now()
        async with self._session(commit=True) as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            statement = insert(ProcessedUpdate).values(
                update_id=update_id, state="working", until=now + LEASE
            )
            # A dead worker's expired claim is taken over; a live one or a done one is not.
            statement = statement.on_conflict_do_update(
                index_elements=["update_id"],
                set_={"state": "working", "until": now + LEASE},
                where=(ProcessedUpdate.state == "working") & (ProcessedUpdate.until < now),
            )
            taken = await session.execute(statement)
        if taken.rowcount:  # type: ignore[attr-defined]
            return Claim.MINE
        return Claim.DONE if await self.is_done(update_id) else Claim.BUSY

    async def finish(self, update_id: int) -> None:
        async with self._session(commit=False) as session:
            await session.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.update_id == update_id)
                .values(state="done", until=self.clock.now() + KEEP)
            )

    async def release(self, update_id: int) -> None:
        async with self._session(commit=False) as session:
            await session.execute(
                delete(ProcessedUpdate).where(
                    ProcessedUpdate.update_id == update_id, ProcessedUpdate.state == "working"
                )
            )

    async def release_unfinished(self) -> int:
        """Polling's single poller starts: every claim still `working` is a dead one's, to be
        handled again when Telegram sends the update again (it was never confirmed)."""
        async with self.sessions() as session:
            released = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.state == "working")
            )
            await session.commit()
        return int(released.rowcount)  # type: ignore[attr-defined]

    async def is_done(self, update_id: int) -> bool:
        async with self.sessions() as session:
            state = await session.scalar(
                select(ProcessedUpdate.state).where(ProcessedUpdate.update_id == update_id)
            )
        return state == "done"


async def purge_inbox(session: AsyncSession, now: datetime) -> int:
    """Forget updates older than Telegram could send again (an hourly tick)."""
    done = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.until < now))
    await session.commit()
    return int(done.rowcount)  # type: ignore[attr-defined]
