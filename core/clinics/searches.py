"""The searches clinic lists were shown for (a by-name query or a shared point), kept a while
so that an old list's buttons act on their own search (CONVERSATION.md, 4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clinics.models import SavedSearch
from core.db import Base
from core.fast_rows import EntityRows, Write
from core.links import MAX_ID

KEPT = timedelta(days=30)  # an older list's buttons say they no longer work

# Built once: every clinic list and its buttons use them (issue 19).
_SEARCHES = Base.metadata.tables[SavedSearch.__tablename__]  # Core: no session to update
_FORGET_OLD = delete(_SEARCHES).where(_SEARCHES.c.created_at < bindparam("before"))
_KEEP = Write(
    insert(_SEARCHES)
    .values(
        user_id=bindparam("user_id"),
        query=bindparam("query"),
        latitude=bindparam("latitude"),
        longitude=bindparam("longitude"),
        created_at=bindparam("now"),
    )
    .returning(_SEARCHES.c.id)
)  # one statement, on SQLite without the session's machinery (core.fast_rows; issue 19)
_RECALL = EntityRows(  # a clinic list's every page and filter reads it (issue 19)
    select(SavedSearch).where(
        SavedSearch.id == bindparam("search_id"), SavedSearch.user_id == bindparam("user_id")
    )
)


async def remember_search(
    session: AsyncSession,
    user_id: int,
    *,
    now: datetime,
    query: str | None = None,
    point: tuple[float, float] | None = None,
) -> int:
    """Keep a search (exactly one of `query` and `point`) and return its id for the buttons;
    the month-old ones go with `purge_searches`."""
    if (query is None) == (point is None):
        raise ValueError("a search is a query or a point")
    latitude, longitude = point or (None, None)
    values = {"user_id": user_id, "query": query, "now": now}
    [(kept,)] = await session.run_sync(
        _KEEP.run, {**values, "latitude": latitude, "longitude": longitude}
    )
    await session.commit()
    return int(kept)


async def purge_searches(session: AsyncSession, now: datetime) -> int:
    """Let go of the searches older than `KEPT` (an hourly tick; a search is one insert)."""
    gone = await session.execute(_FORGET_OLD, {"before": now - KEPT})
    await session.commit()
    return int(gone.rowcount)  # type: ignore[attr-defined]


async def recall_search(session: AsyncSession, user_id: int, search_id: int) -> SavedSearch | None:
    """The person's own search by its id; None when it is gone, someone else's, or no id at all
    (a forged number beyond the column's range)."""
    if not 0 < search_id <= MAX_ID:
        return None
    found = await _RECALL.scalar(session, {"search_id": search_id, "user_id": user_id})
    return cast(SavedSearch | None, found)
