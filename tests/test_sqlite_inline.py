"""SQLite on the event loop's thread (core.sqlite_inline): no thread per connection, and a
write lock held by another task is waited out without freezing the loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core import sqlite_inline
from core.db import create_engine, create_session_factory


async def _engine(tmp_path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (who TEXT NOT NULL)"))
    return engine


async def _ticks(stop: asyncio.Event) -> int:
    ticks = 0
    while not stop.is_set():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_statements_start_no_thread(tmp_path: Path) -> None:
    threads = threading.active_count()
    engine = await _engine(tmp_path)
    sessions = create_session_factory(engine)
    for n in range(20):
        async with sessions() as session:
            await session.execute(text("INSERT INTO notes VALUES (:who)"), {"who": f"n{n}"})
            await session.commit()
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM notes")) == 20
        assert await session.scalar(text("PRAGMA busy_timeout")) == 0
        assert await session.scalar(text("PRAGMA journal_mode")) == "wal"
    assert threading.active_count() == threads
    await engine.dispose()


async def test_a_writer_waits_for_another_tasks_lock_while_the_loop_runs(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    sessions = create_session_factory(engine)
    order: list[str] = []
    a_wrote = asyncio.Event()

    async def first() -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO notes VALUES ('first')"))
            a_wrote.set()
            await asyncio.sleep(0.3)  # holds the write lock across an await (a Telegram call)
            await session.commit()
            order.append("first")

    async def second() -> None:
        await a_wrote.wait()
        async with sessions() as session:
            await session.execute(text("INSERT INTO notes VALUES ('second')"))
            await session.commit()
            order.append("second")

    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticks(stop))
    await asyncio.gather(first(), second())
    stop.set()
    assert order == ["first", "second"]
    assert await ticker >= 10  # the loop kept running while the second writer waited
    async with sessions() as session:
        stored = (await session.scalars(text("SELECT who FROM notes ORDER BY rowid"))).all()
    assert stored == ["first", "second"]
    await engine.dispose()


async def test_a_lock_held_too_long_fails_as_a_busy_timeout_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT", 0.2)
    engine = await _engine(tmp_path)
    sessions = create_session_factory(engine)
    async with sessions() as holder, sessions() as waiter:
        await holder.execute(text("INSERT INTO notes VALUES ('holder')"))
        with pytest.raises(OperationalError, match="database is locked"):
            await waiter.execute(text("INSERT INTO notes VALUES ('waiter')"))
        await waiter.rollback()
        await holder.commit()
    async with sessions() as session:
        assert (await session.scalars(text("SELECT who FROM notes"))).all() == ["holder"]
    await engine.dispose()
