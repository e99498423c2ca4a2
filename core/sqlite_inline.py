"""SQLite calls made on the event loop's own thread, without aiosqlite's thread hop (issue 19).

aiosqlite runs every call (execute, fetch, close the cursor, commit) on a worker thread and
wakes the event loop for its answer: about four hops per statement, each a queue put, a thread
switch and a loop wake-up, which cost more than the statement itself on a local file (and much
more on a busy machine, where every switch waits for a core). Here the same aiosqlite
`Connection` runs each call at once on the caller's thread. SQLAlchemy's aiosqlite dialect uses
it unchanged (through `async_creator`).

What the worker thread gave and how it is kept:
- A write lock held by another connection (another task of this process, or another process on
  the file) must not freeze the event loop, since the holder may need the loop to finish and
  commit. So these connections have no busy timeout (SQLite answers SQLITE_BUSY at once) and
  the call is retried after an asynchronous sleep, backing off up to `BUSY_TIMEOUT` in all, as
  SQLite's own busy handler would have waited on the thread.
- A slow statement blocks the loop for its duration. The bot's statements are indexed look-ups
  of a few rows (a fraction of a millisecond); a big import or purge may hold the loop for as
  long as it runs, which it also did before when it held the write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

BUSY_TIMEOUT = 5.0  # seconds, as PRAGMA busy_timeout=5000 on a threaded connection
_BUSY_CODES = {sqlite3.SQLITE_BUSY, getattr(sqlite3, "SQLITE_BUSY_RECOVERY", 261)}
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05


def _busy(error: sqlite3.OperationalError) -> bool:
    """A lock another connection holds, which waiting can outlast (not a stale snapshot:
    SQLITE_BUSY_SNAPSHOT needs a rollback, and SQLite's busy handler does not wait for it)."""
    return getattr(error, "sqlite_errorcode", None) in _BUSY_CODES


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its worker thread: a put runs the call now. (aiosqlite
    and SQLAlchemy put a few calls there directly: connecting, stopping, the isolation level.)"""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)

    put = put_nowait


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection without its thread: each call runs on the event loop's thread."""

    inline = True  # read by core.db's connect hook: no busy timeout on this connection

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        deadline: float | None = None
        pause = _FIRST_PAUSE
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + BUSY_TIMEOUT
                elif now >= deadline:
                    raise
                await asyncio.sleep(min(pause, deadline - now))
                pause = min(pause * 2, _LONGEST_PAUSE)


def connect_inline(database: str, **kwargs: Any) -> InlineConnection:
    """Like `aiosqlite.connect`, awaited the same way."""
    return InlineConnection(lambda: sqlite3.connect(database, **kwargs))
