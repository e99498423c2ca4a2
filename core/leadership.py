"""Exactly one scheduler: the first process to take the lock runs the ticks; the others wait
as standbys and take over when it dies.

PostgreSQL: a session-level advisory lock on a connection the leader keeps open. A killed
leader's connection closes and the server releases the lock; a standby polling
`pg_try_advisory_lock` gets it on its next try. SQLite (one machine): an exclusive `flock`
on a file beside the database, which the kernel releases when the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
SCHEDULER_LOCK = 0x646D7302  # one key per database; the migration lock is another


class LeaderLock(Protocol):
    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class PostgresLock:
    def __init__(self, engine: AsyncEngine, key: int = SCHEDULER_LOCK) -> None:
        self.engine, self.key = engine, key
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        connection = await self.engine.connect()
        try:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            await connection.commit()  # the lock is the session's; no transaction stays open
        except Exception:
            await connection.close()
            raise
        if got:
            self.connection = connection
            return True
        await connection.close()
        return False

    async def still_held(self) -> bool:
        """The lock lives as long as its connection: a live connection still holds it."""
        if self.connection is None:
            return False
        try:
            await self.connection.scalar(text("SELECT 1"))
            await self.connection.commit()
        except Exception:
            log.exception("the scheduler lock's connection is gone")
            with contextlib.suppress(Exception):
                await self.connection.invalidate()
            self.connection = None
            return False
        return True

    async def release(self) -> None:
        if self.connection is None:
            return
        with contextlib.suppress(Exception):
            await self.connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
            )
            await self.connection.commit()
        with contextlib.suppress(Exception):
            await self.connection.close()
        self.connection = None


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    async def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    async def still_held(self) -> bool:
        return self.fd is not None

    async def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leader_lock(engine: AsyncEngine) -> LeaderLock:
    url = make_url(str(engine.url))
    if url.get_backend_name() == "postgresql":
        return PostgresLock(engine)
    database = Path(url.database or "memory")
    return FileLock(database.with_name(database.name + ".scheduler.lock"))


async def lead(
    lock: LeaderLock,
    start: Callable[[], Awaitable[None]],
    halt: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    poll: float = 2.0,
) -> None:
    """Run `start` when this process takes the lock and `halt` when it loses it or stops;
    until then, try again every `poll` seconds."""
    leading, said_standby = False, False
    try:
        while not stop.is_set():
            if not leading:
                try:
                    leading = await lock.try_acquire()
                except Exception:
                    log.exception("cannot reach the scheduler lock; trying again")
                if leading:
                    log.info("this process now runs the scheduler")
                    await start()
                elif not said_standby:
                    log.info("another process runs the scheduler: standing by")
                    said_standby = True
            elif not await lock.still_held():
                log.error("the scheduler lock was lost: ticks stop until it is taken again")
                leading, said_standby = False, False
                await halt()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
    finally:
        if leading:
            await halt()
        await lock.release()
