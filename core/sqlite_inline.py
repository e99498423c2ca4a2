"""SQLite for the async engine without aiosqlite: the standard `sqlite3` module, called in the
event loop's thread (issue 19).

aiosqlite runs every call of a connection (cursor, execute, fetchall, close, commit) on the
connection's own thread and wakes the event loop for each answer: about 40 hops per update,
each a few context switches, which cost more than the statements themselves (an indexed read
of a local SQLite file takes tens of microseconds). Even run in the loop's thread, each of its
calls is a coroutine that SQLAlchemy's async adapter awaits through a greenlet switch and
wraps in its own cursor objects: some 50 µs of Python around a 10 µs statement.

`InlineSQLiteDialect` is SQLAlchemy's own pysqlite dialect marked asynchronous, so that
`create_async_engine` and `AsyncSession` take it: each session call still runs in a greenlet
(core/greenlets.py), but the statements inside call `sqlite3` directly and never leave it.
The greenlet is used only for the two waits SQLite may need:

- A write lock held by another connection is not waited out by blocking the loop: the
  connection's busy timeout is 0, and a statement refused with SQLITE_BUSY is retried after an
  asynchronous sleep (`await_`) until `busy_timeout` seconds have passed, so the connection
  that holds the lock (perhaps in this very process, awaiting something) goes on meanwhile.
- Statements that never wait would never let the loop run: a long run of them (an import of
  10,000 rows) would hold every update back until it ends. So a connection whose calls have
  kept the loop from running for `HOLD` seconds lets it run once before going on;
  `executemany` and `executescript`, which may run long, go to a worker thread.

A statement run outside `greenlet_spawn` (a lazy load by mistake) fails as it would on
PostgreSQL, with SQLAlchemy's `MissingGreenlet`, instead of quietly working here only. Rows
are read whole when the statement runs, as aiosqlite's adapter did.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import exc, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

BUSY_TIMEOUT = 5.0  # seconds a statement waits for another connection's write lock
HOLD = 0.02  # seconds of statements in a row after which the loop gets its turn

_T = TypeVar("_T")
INLINE_DRIVER = "inline"  # `sqlite+inline://`: core.db.create_engine's name for `sqlite+aiosqlite`


def _is_busy(error: sqlite3.OperationalError) -> bool:
    # SQLITE_BUSY itself, not its extended codes: SQLITE_BUSY_SNAPSHOT (a deferred transaction
    # whose snapshot went stale) fails the same way however long one waits.
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class InlineConnection(sqlite3.Connection):
    """A sqlite3 connection whose waits are asynchronous (see the module)."""

    busy_timeout = BUSY_TIMEOUT
    _run_started: float | None = None  # the first call since the loop last ran

    def _loop_ran(self) -> None:
        self._run_started = None

    def _pace(self) -> None:
        """Called before each statement: outside `greenlet_spawn` it fails (see the module),
        and the loop gets its turn after `HOLD` seconds of statements."""
        if not in_greenlet():
            raise exc.MissingGreenlet(
                "greenlet_spawn has not been called; can't run a statement here. "
                "Was IO attempted in an unexpected place?"
            )
        now = time.monotonic()
        if self._run_started is None:
            self._run_started = now
            asyncio.get_running_loop().call_soon(self._loop_ran)  # runs when the loop does
        elif now - self._run_started > HOLD:
            await_(asyncio.sleep(0))  # the loop runs (and `_loop_ran` with it)

    def _retrying(self, call: Callable[[], _T]) -> _T:
        """`call`, retried after asynchronous sleeps while another connection holds the lock."""
        try:
            return call()
        except sqlite3.OperationalError as error:
            refused = error
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.001
        while True:
            if not _is_busy(refused) or time.monotonic() >= deadline:
                raise refused
            await_(asyncio.sleep(pause))
            pause = min(pause * 2, 0.05)
            try:
                return call()
            except sqlite3.OperationalError as again:
                refused = again

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or InlineCursor)

    def commit(self) -> None:
        self._retrying(super().commit)


class InlineCursor(sqlite3.Cursor):
    """Reads every row of a query at once, as aiosqlite's adapter did: a statement left half
    read would keep the transaction from committing ("SQL statements in progress")."""

    connection: InlineConnection
    _rows: deque[Any] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> InlineCursor:
        self.connection._pace()
        self.connection._retrying(lambda: sqlite3.Cursor.execute(self, sql, parameters))
        self._rows = deque(super().fetchall()) if self.description is not None else None
        return self

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        if not rows:
            return []
        count = self.arraysize if size is None else size
        return [rows.popleft() for _ in range(min(count, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, None
        return list(rows) if rows else []

    def executemany(self, sql: str, parameters: Any, /) -> InlineCursor:
        self.connection._pace()
        self._rows = None
        run = sqlite3.Cursor.executemany
        self.connection._retrying(lambda: await_(asyncio.to_thread(run, self, sql, parameters)))
        return self

    def executescript(self, script: str, /) -> InlineCursor:
        self.connection._pace()
        self._rows = None
        await_(asyncio.to_thread(sqlite3.Cursor.executescript, self, script))
        return self

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio results call this before a result leaves the greenlet: the
        rows are read already."""


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """SQLAlchemy's pysqlite dialect for the async engine (see the module)."""

    driver = INLINE_DRIVER
    supports_statement_cache = True
    is_async = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def create_connect_args(self, url: URL) -> Any:
        args, options = super().create_connect_args(url)
        # Made in the loop's thread; `executemany` runs on a worker thread meanwhile.
        options.update(factory=InlineConnection, check_same_thread=False)
        return args, options


registry.register(f"sqlite.{INLINE_DRIVER}", __name__, InlineSQLiteDialect.__name__)
