"""Each Telegram update is handled once, however often it arrives.

Telegram sends an update again when it got no answer in time: a worker that died mid-update,
a slow one, or a long-polling process killed before it confirmed the offset. Handling claims
the update id for a lease; the claim is released if handling fails (so the retry does the work)
and turned into "done" when it succeeds (so a retry is skipped). A copy arriving while another
worker still holds a live claim is "busy": its sender is told to come back later.

On SQLite one process owns the database and handles every update, so its live claims need not
be in the database at all: they are kept in that process (`LocalLedger`, per database), and
an update costs one write of "done" in its final commit, instead of a committed claim and a
second write (issue 19). Nor is the ledger read for an update newer than everything it held
when this process first looked (`floor`): only this process could have written such an update
since, and it remembers the ones it did (the latest `RECENT` of them; past those the floor
rises and older ids are looked up). A process killed mid-update leaves no claim behind, which
is what the restarted poller would do with it anyway (`release_unfinished`): the update, never
confirmed to Telegram, comes again and is handled.
On PostgreSQL several workers may share the database: the claim is committed before handling.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import BigInteger, String, bindparam, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, UtcDateTime, current_unit, dialect_insert
from core.fast_rows import Write

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


DONE_PENDING = None  # a local claim whose "done" is written but not committed yet
RECENT = 10_000  # done updates remembered in the process (a redelivery comes within minutes)

_LEDGER = Base.metadata.tables[ProcessedUpdate.__tablename__]
_READ = select(_LEDGER.c.state, _LEDGER.c.until).where(_LEDGER.c.update_id == bindparam("id"))
_NEWEST = select(func.max(_LEDGER.c.update_id))
_DONE = Write(
    sqlite_insert(_LEDGER)
    .values(update_id=bindparam("id"), state="done", until=bindparam("until"))
    .on_conflict_do_update(
        index_elements=["update_id"], set_={"state": "done", "until": bindparam("until")}
    )
)  # built once, run without the session's machinery (core.fast_rows; issue 19)


@dataclass(slots=True)
class LocalLedger:
    """What the one process that owns a SQLite database knows of its ledger."""

    # update id -> lease end, or DONE_PENDING
    claims: dict[int, datetime | None] = field(default_factory=dict)
    # Every update id above `floor` in the ledger is in `done` (None: not looked yet).
    floor: int | None = None
    done: dict[int, None] = field(default_factory=dict)  # insertion-ordered: oldest first

    def remember_done(self, update_id: int) -> None:
        self.done[update_id] = None
        while len(self.done) > RECENT:
            forgotten = next(iter(self.done))
            del self.done[forgotten]
            self.floor = max(self.floor or 0, forgotten)  # below it, the database answers


# One ledger view per database in this process: every inbox over it (a test's "other worker")
# sees it.
_local: weakref.WeakKeyDictionary[Engine, LocalLedger] = weakref.WeakKeyDictionary()


def _local_ledger_of(sessions: async_sessionmaker[AsyncSession]) -> LocalLedger | None:
    """The in-process ledger view when the database is SQLite (one owning process), else None."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    return _local.setdefault(bind.sync_engine, LocalLedger())


class DatabaseInbox:
    """The ledger in the application database (one process or several on PostgreSQL).

    On PostgreSQL, inside an update's unit of work the claim is committed at once (another
    worker must see it before this one starts). On SQLite the claim stays in this process (see
    the module's docstring). Either way "done" (or the release of a failed claim) is written in
    the update's own final commit, with its dialog step."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock
        self.local = _local_ledger_of(sessions)

    @contextlib.asynccontextmanager
    async def _session(self, commit: bool, writes: bool = True) -> AsyncIterator[AsyncSession]:
        unit = current_unit()
        if unit is not None:
            yield unit.session
            if commit:
                await unit.session.commit()
            elif writes:
                unit.wrote = True
            return
        async with self.sessions() as session:
            yield session
            if writes:
                await session.commit()

    async def claim(self, update_id: int) -> Claim:
        if self.local is not None:
            return await self._claim_here(update_id, self.local)
        now = self.clock.now()
        async with self._session(commit=True) as session:
            statement = dialect_insert(session)(ProcessedUpdate).values(
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

    async def _claim_here(self, update_id: int, local: LocalLedger) -> Claim:
        """SQLite: the live claim is kept in this process; the ledger is read only for an
        update this process cannot vouch for (see the module's docstring)."""
        now = self.clock.now()
        claims = local.claims
        if update_id in claims:
            lease = claims[update_id]
            if lease is not DONE_PENDING and lease < now:
                del claims[update_id]  # expired (its handling hangs): taken over below
            elif lease is not DONE_PENDING or not await self.is_done(update_id):
                return Claim.BUSY  # being handled, or "done" is not committed yet
            else:
                del claims[update_id]
                return Claim.DONE
        if update_id in local.done:
            return Claim.DONE
        async with self._session(commit=False, writes=False) as session:
            if local.floor is None:
                local.floor = (await session.execute(_NEWEST)).scalar() or 0
            if update_id <= local.floor:
                row = (await session.execute(_READ, {"id": update_id})).first()
                if row is not None and row.state == "done":
                    return Claim.DONE
                if row is not None and row.until >= now:  # a claim written the PostgreSQL way
                    return Claim.BUSY
        claims[update_id] = now + LEASE
        return Claim.MINE

    async def finish(self, update_id: int) -> None:
        if self.local is not None:
            await self._finish_here(update_id, self.local)
            return
        async with self._session(commit=False) as session:
            await session.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.update_id == update_id)
                .values(state="done", until=self.clock.now() + KEEP)
            )

    async def _finish_here(self, update_id: int, local: LocalLedger) -> None:
        """SQLite: "done" is the ledger's one write, in the update's final commit; the claim
        in this process turns into a remembered "done" once that commit has happened."""
        local.claims[update_id] = DONE_PENDING

        def committed() -> None:
            local.claims.pop(update_id, None)
            local.remember_done(update_id)

        unit = current_unit()
        done = {"id": update_id, "until": self.clock.now() + KEEP}
        if unit is not None:
            unit.defer(_DONE.run, done)  # written with the final commit, in the same call
            unit.after_commit(committed)
            return
        async with self._session(commit=False) as session:
            await session.run_sync(_DONE.run, done)
        committed()  # `_session` committed it

    async def release(self, update_id: int) -> None:
        if self.local is not None:
            self.local.claims.pop(update_id, None)  # nothing of it is in the database
            return
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
        if self.local is not None:
            self.local.claims.clear()
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
