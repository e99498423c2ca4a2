"""The scheduler lock itself: one holder at a time; a standby takes it when it is freed; a
leader whose lock connection is cut stops ticking, then competes for the lock again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db import create_engine
from core.leadership import SCHEDULER_LOCK, FileLock, PostgresLock, lead
from tests.conftest import POSTGRES_URL
from tests.live import eventually


async def test_a_file_lock_has_one_holder_and_passes_on_when_freed(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "db.lock"), FileLock(tmp_path / "db.lock")
    assert await first.try_acquire() is True
    assert await second.try_acquire() is False
    await first.release()
    assert await second.try_acquire() is True
    await second.release()


@pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL skipped")
async def test_a_leader_that_loses_its_lock_connection_stops_then_leads_again(
    postgres_migrated: str,
) -> None:
    engine, other = create_engine(postgres_migrated), create_engine(postgres_migrated)
    events: list[str] = []

    async def start() -> None:
        events.append("start")

    async def halt() -> None:
        events.append("halt")

    stop = asyncio.Event()
    leader = asyncio.create_task(lead(PostgresLock(engine), start, halt, stop, poll=0.1))
    await eventually(lambda: events == ["start"])
    rival = PostgresLock(other)
    assert await rival.try_acquire() is False, "one holder at a time"
    # The database drops the leader's session (this database's only: the machine may run a
    # cabinet on another, whose scheduler must not lose its lock to a test).
    async with other.connect() as admin:
        await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = :key AND granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": SCHEDULER_LOCK},
        )
        await admin.commit()
    await eventually(lambda: events == ["start", "halt", "start"])  # noticed, stopped, led again
    stop.set()
    await leader
    assert events == ["start", "halt", "start", "halt"]
    assert await rival.try_acquire() is True, "released on a clean stop"
    await rival.release()
    await engine.dispose()
    await other.dispose()
