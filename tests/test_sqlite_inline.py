"""SQLite statements run in the event loop's thread, and a write lock held elsewhere is waited
out without blocking the loop (core/sqlite_inline.py, issue 19)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import MissingGreenlet, OperationalError

from core.db import create_engine
from core.sqlite_inline import InlineConnection


async def heartbeat(ticks: list[float], pause: float) -> None:
    """Notes the loop's time at each of its turns, until cancelled."""
    while True:
        ticks.append(asyncio.get_running_loop().time())
        await asyncio.sleep(pause)


async def test_statements_run_in_the_loops_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    threads: list[int] = []
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection.create_function(  # type: ignore[union-attr]
                "here", 0, lambda: threads.append(threading.get_ident()) or 1
            )
            assert (await connection.execute(text("SELECT here()"))).scalar() == 1
    finally:
        await engine.dispose()
    assert threads == [threading.get_ident()]


async def test_a_write_lock_held_by_a_waiting_transaction_is_waited_out_without_blocking(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    ticks: list[float] = []
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        beating = asyncio.create_task(heartbeat(ticks, 0.01))
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock

            async def release_later() -> None:
                await asyncio.sleep(0.3)  # e.g. the holder talks to Telegram meanwhile
                await first.commit()

            releasing = asyncio.create_task(release_later())
            started = asyncio.get_running_loop().time()
            await second.execute(text("INSERT INTO t VALUES (2)"))  # waits, asynchronously
            waited = asyncio.get_running_loop().time() - started
            await second.commit()
            await releasing
        beating.cancel()
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT n FROM t ORDER BY n"))).scalars()
            assert list(rows) == [1, 2]
    finally:
        await engine.dispose()
    assert waited >= 0.25
    # The loop went on while the second writer waited (a blocked loop would stall for the
    # whole busy timeout: the holder could not commit). Generous: CI may be busy.
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 10 and max(gaps) < 1.0, gaps


async def test_a_lock_held_past_the_timeout_fails_as_sqlite_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(InlineConnection, "busy_timeout", 0.2)
    path = tmp_path / "x.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)  # another process, say
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        holder.execute("BEGIN IMMEDIATE")
        async with engine.connect() as connection:
            with pytest.raises(OperationalError, match="locked"):
                await connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.close()
        await engine.dispose()


async def test_a_long_run_of_statements_lets_the_loop_run_meanwhile(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    ticks: list[float] = []
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        beating = asyncio.create_task(heartbeat(ticks, 0))
        await asyncio.sleep(0)
        started = asyncio.get_running_loop().time()
        async with engine.begin() as connection:  # an import, say: 0.8 s of statements
            while asyncio.get_running_loop().time() - started < 0.8:
                await connection.execute(text("INSERT INTO t VALUES (1)"))
        beating.cancel()
    finally:
        await engine.dispose()
    during = [t for t in ticks if t > started]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    # Without the loop's turns the heartbeat would stop for the whole 0.8 s.
    assert len(during) >= 5 and max(gaps) < 0.4, (len(during), max(gaps, default=None))


async def test_a_result_read_later_does_not_hold_the_commit_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT n FROM t ORDER BY n"))
            assert rows.fetchone() == (1,)  # the rest not read yet
            await connection.execute(text("INSERT INTO t VALUES (4)"))
            await connection.commit()  # sqlite3 refuses while a statement is half read
            assert rows.fetchall() == [(2,), (3,)]
    finally:
        await engine.dispose()


async def test_a_statement_outside_sqlalchemys_greenlet_fails_as_on_postgresql(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
            with pytest.raises(MissingGreenlet):
                connection.sync_connection.execute(text("SELECT 2"))  # type: ignore[union-attr]
    finally:
        await engine.dispose()
