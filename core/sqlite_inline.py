"""aiosqlite without a thread hop per call (issue 19).

aiosqlite runs every call of a connection (cursor, execute, fetchall, close, commit) on the
connection's own thread and wakes the event loop for each answer: about 40 hops per update,
each a few context switches, which cost more than the statements themselves (an indexed read
of a local SQLite file takes tens of microseconds). `InlineConnection` runs those calls
directly in the event loop's thread instead; only `executemany` and `executescript`, which may
run long (bulk imports), still go to the connection's thread so the loop stays free for them.

Statements that never wait would never let the loop run: a long run of them (an import of
10,000 rows) would hold every update back until it ends. So a connection whose calls have kept
the loop from running for `HOLD` seconds lets it run once before going on.

The one wait SQLite may impose, a write lock held by another connection, is not spent blocking
the loop: the connection's busy timeout is 0, and a call refused with SQLITE_BUSY is retried
after an asynchronous sleep until `busy_timeout` seconds have passed, so the connection that
holds the lock (perhaps in this very process, awaiting something) goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

BUSY_TIMEOUT = 5.0  # seconds a call waits for another connection's write lock
HOLD = 0.02  # seconds of calls in a row after which the loop gets its turn
_THREADED = frozenset({"executemany", "executescript"})


def _is_busy(error: sqlite3.OperationalError) -> bool:
    # SQLITE_BUSY itself, not its extended codes: SQLITE_BUSY_SNAPSHOT (a deferred transaction
    # whose snapshot went stale) fails the same way however long one waits.
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run in the caller's thread (see the module)."""

    busy_timeout = BUSY_TIMEOUT
    _run_started: float | None = None  # the first call since the loop last ran

    def _loop_ran(self) -> None:
        self._run_started = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        now = time.monotonic()
        if self._run_started is None:
            self._run_started = now
            asyncio.get_running_loop().call_soon(self._loop_ran)  # runs when the loop does
        elif now - self._run_started > HOLD:
            await asyncio.sleep(0)  # the loop runs (and `_loop_ran` with it)
        threaded = getattr(fn, "__name__", "") in _THREADED
        deadline = None
        pause = 0.001
        while True:
            try:
                if threaded:
                    return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.busy_timeout
                if now >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)


def inline_connector(database: str, **kwargs: Any) -> Callable[[], InlineConnection]:
    """An `async_creator` for SQLAlchemy: connections to `database` made as aiosqlite would
    make them (same sqlite3 arguments), usable from the loop's thread."""

    def connect() -> InlineConnection:
        connection = InlineConnection(
            partial(sqlite3.connect, database, **{**kwargs, "check_same_thread": False}), 64
        )
        connection._thread.daemon = True  # as SQLAlchemy's aiosqlite dialect does
        return connection

    return connect
