"""asyncpg with BEGIN sent at a session's first write, not at its first statement (issue 19).

SQLAlchemy's asyncpg adapter sends BEGIN before a connection's first statement and ROLLBACK or
COMMIT at its end: an update that only reads (the user, the policies) costs three round trips
to PostgreSQL for its one SELECT. On this machine a round trip is mostly the kernel waking the
server's process, about a tenth of a millisecond of the worker's CPU each.

PostgreSQL runs under READ COMMITTED here (the engine sets no other level), where every
statement takes a fresh snapshot whether or not a transaction is open: a plain SELECT before
the first write sees what it would have seen inside one. So a connection reads without a
transaction until it is about to run anything else: a write, a SELECT that locks rows
(`FOR UPDATE`, `FOR SHARE`), takes a transaction-scoped advisory lock or opens a server-side
cursor. Then BEGIN goes first, as before, and everything from there on, the reads included,
is in the transaction and is committed or rolled back together. A unit of work that only read
ends with nothing sent.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_cursor,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.util import await_

# A SELECT that needs no transaction: neither locking rows nor taking an advisory lock (whose
# transaction-scoped form would be let go at once). Anything else (a write, WITH, SET, a
# function call through SELECT that is not a plain read) opens the transaction first.
_PLAIN_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|\bpg_(?:try_)?advisory|\bnextval\s*\(",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=1024)  # a few hundred distinct statements, each run again and again
def reads_only(operation: str) -> bool:
    return bool(_PLAIN_SELECT.match(operation)) and not _NEEDS_TRANSACTION.search(operation)


class LazyBeginCursor(AsyncAdapt_asyncpg_cursor):
    __slots__ = ()

    async def _prepare_and_execute(self, operation: str, parameters: Any) -> None:
        connection = self._adapt_connection
        if connection._transaction is not None or not reads_only(operation):  # BEGIN if none
            await super()._prepare_and_execute(operation, parameters)  # type: ignore[no-untyped-call]
            return
        # A read with no transaction open goes without one: under "autocommit" the adapter's
        # own BEGIN does nothing. One session uses a connection at a time, so nobody else sees
        # the level changed for this statement.
        level, connection.isolation_level = connection.isolation_level, "autocommit"
        try:
            await super()._prepare_and_execute(operation, parameters)  # type: ignore[no-untyped-call]
        finally:
            connection.isolation_level = level


class LazyBeginConnection(AsyncAdapt_asyncpg_connection):
    __slots__ = ()
    _cursor_cls = LazyBeginCursor  # the server-side one stays SQLAlchemy's: BEGIN first


class LazyBeginDBAPI(AsyncAdapt_asyncpg_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> Any:
        creator = kw.pop("async_creator_fn", self.asyncpg.connect)
        cache_size = kw.pop("prepared_statement_cache_size", 100)
        name_func = kw.pop("prepared_statement_name_func", None)
        return await_(
            LazyBeginConnection.create(
                self,
                creator(*arg, **kw),
                prepared_statement_cache_size=cache_size,
                prepared_statement_name_func=name_func,
            )
        )


def lazy_begin_dbapi() -> LazyBeginDBAPI:
    """The `module` for `create_async_engine` on postgresql+asyncpg."""
    return LazyBeginDBAPI(asyncpg)  # type: ignore[no-untyped-call]
