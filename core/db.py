"""The database: one declarative base, the engine factory and the migration runner."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, LargeBinary, MetaData, String, Text, TypeDecorator, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session

from core import greenlets
from core.sqlite_inline import INLINE_DRIVER

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


Deferred = Callable[[Session, dict[str, Any]], object]  # see UnitOfWork.defer


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EncryptedString(TypeDecorator[str]):
    """A Fernet token (Vault.encrypt) in a VARCHAR: `rotate-key` finds every such column."""

    impl = String
    cache_ok = True


class EncryptedText(TypeDecorator[str]):
    """A Fernet token (Vault.encrypt) in a TEXT column: `rotate-key` finds every such column."""

    impl = Text
    cache_ok = True


class EncryptedBytes(TypeDecorator[bytes]):
    """Fernet-encrypted bytes (Vault.encrypt_bytes), e.g. a file: `rotate-key` finds them."""

    impl = LargeBinary
    cache_ok = True


ENCRYPTED_TYPES = (EncryptedString, EncryptedText, EncryptedBytes)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # One process owns the file: WAL lets readers run beside the writer, and foreign keys are
    # off by default. SQLite's own busy timeout is 0: a write lock held elsewhere is waited out
    # by `InlineConnection` with asynchronous sleeps, never by blocking the event loop.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 15, max_overflow: int = 0) -> AsyncEngine:
    """SQLite: one file, WAL. PostgreSQL: a pool of `pool_size` connections kept open plus
    `max_overflow` opened under load, checked before use after a second idle, renewed every
    half hour."""
    greenlets.install()  # each session call on a pooled greenlet, not a new one
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # `sqlite+aiosqlite://` in the settings: statements run through sqlite3 in the loop's
        # thread, without aiosqlite's thread or its async adapter (core/sqlite_inline.py).
        engine = create_async_engine(parsed.set(drivername=f"sqlite+{INLINE_DRIVER}"))
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    driver: dict[str, Any] = {}
    if parsed.get_driver_name() == "asyncpg":
        from core.pg_lazy_begin import lazy_begin_dbapi  # only then: the dialect is heavy

        driver["module"] = lazy_begin_dbapi()  # no BEGIN … ROLLBACK around reads alone
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_timeout=30,
        **driver,
    )
    event.listen(engine.sync_engine, "checkin", _note_idle)
    event.listen(engine.sync_engine, "checkout", _ping_after_idle)
    return engine


# A pooled PostgreSQL connection that sat idle is pinged before use, so that one a restart of
# the server left dead is replaced instead of failing an update. SQLAlchemy's `pool_pre_ping`
# pinged at every checkout, which with asyncpg is three round trips (BEGIN, the ping,
# ROLLBACK) per update: more than the update's own statements (issue 19). Under load a
# connection comes back within milliseconds; the first statement that meets a dead one makes
# SQLAlchemy renew the whole pool.
PING_AFTER_IDLE = 1.0  # seconds


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
        return  # just opened, or back from work a moment ago
    try:
        ping(dbapi_connection)
    except Exception as error:  # whatever the driver raises: the pool retries
        raise DisconnectionError("a pooled connection did not answer its ping") from error


def ping(dbapi_connection: Any) -> None:
    dbapi_connection.ping()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_insert(session: AsyncSession) -> Callable[[Any], Any]:
    """`insert()` of the session's database, with its `ON CONFLICT` clauses. PostgreSQL's dialect
    package (2.4 MB of modules) is imported only by a process that uses PostgreSQL (issue 19)."""
    module = importlib.import_module(f"sqlalchemy.dialects.{session.get_bind().dialect.name}")
    return module.insert  # type: ignore[no-any-return]


def upgrade(url: str) -> None:
    """Blocking: apply every revision up to head (Alembic runs its own event loop)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def head_revisions() -> set[str]:
    """The newest revisions, read from the migration files' headers without loading Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        header = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", header, re.MULTILINE)
        down = re.search(r"^down_revision\b[^=]*=(.*)$", header, re.MULTILINE)
        if revision is None or down is None:
            raise RuntimeError(f"{path.name}: no revision or down_revision line")
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return revisions - parents


async def current_revisions(url: str) -> set[str]:
    """What the database's `alembic_version` holds; empty when it has no such table yet."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return {row[0] for row in rows}
    except SQLAlchemyError:
        return set()
    finally:
        await engine.dispose()


async def migrate(url: str) -> None:
    """Apply every Alembic revision up to head.

    A database already at head is seen from the migration files and `alembic_version`, without
    loading Alembic at all. Otherwise Alembic runs in a child process, so that its 30-odd MB of
    modules never stay in a long-running one (issue 19); an in-memory SQLite database, which a
    child could not see, is upgraded here, in a thread (Alembic runs its own event loop).
    """
    if await current_revisions(url) == head_revisions():
        log.info("database is at the newest revision")
        return
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database in (None, "", ":memory:"):
        await asyncio.to_thread(upgrade, url)
    else:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; from core.db import upgrade; upgrade(sys.argv[1])",
            url,  # in this folder: a relative SQLite path means the same file
        )  # fmt: skip
        if await child.wait() != 0:
            raise RuntimeError(f"the migrations failed (exit code {child.returncode})")
    log.info("database is at the newest revision")


class UnitOfWork:
    """One update's database work in one session: the update ledger, the dialog step and the
    user row share it, so that an update costs one session and, when something changed, one
    commit at its end instead of a session and a commit per piece (issue 19)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.wrote = False  # the ledger or the dialog step left a write for the final commit
        self._discarded = False
        self._after_commit: list[Callable[[], None]] = []
        # What this update read (and then wrote) of a row, by (kind, key): the dialog step is
        # read once and written from it, not queried again. Gone with a discard.
        self.known: dict[object, object] = {}
        # Writes that only need to be in the final commit, run with it (see `defer`).
        self._deferred: list[tuple[Deferred, dict[str, Any]]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the update's final commit has succeeded (see `commit`)."""
        self._after_commit.append(callback)

    def defer(self, write: Deferred, parameters: dict[str, Any]) -> None:
        """A write that nothing in the update reads back (the ledger's "done", the dialog
        step: a `core.fast_rows.Write`'s `run`), run with the synchronous session at the final
        commit, in the same call of the async session (each call is a trip through a
        greenlet: one fewer per update)."""
        self._deferred.append((write, parameters))
        self.wrote = True

    async def commit(self, *, close: bool = False) -> None:
        """The update's final commit (with the deferred writes first, and with `close` the
        session's close, all in one call), then what waited for it."""
        deferred, self._deferred = self._deferred, []
        if deferred or close:
            await self.session.run_sync(_final, deferred, close)
        else:
            await self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    async def discard(self) -> None:
        """The update failed: its half-done writes go, once; what is written after stays."""
        if not self._discarded:
            self._discarded = True
            # Detached first: the rows already read (the user, for the error handler's
            # language) keep their values instead of being expired by the rollback.
            self.session.expunge_all()
            await self.session.rollback()
            self.known.clear()
            self.wrote = False
            self._after_commit.clear()
            self._deferred.clear()


def _final(session: Session, deferred: list[tuple[Deferred, dict[str, Any]]], close: bool) -> None:
    try:
        for write, parameters in deferred:
            write(session, parameters)
        session.commit()
    finally:
        if close:
            session.close()


_unit: ContextVar[UnitOfWork | None] = ContextVar("unit_of_work", default=None)


def current_unit() -> UnitOfWork | None:
    return _unit.get()


@contextlib.contextmanager
def unit_of_work(session: AsyncSession) -> Iterator[UnitOfWork]:
    unit = UnitOfWork(session)
    token = _unit.set(unit)
    try:
        yield unit
    finally:
        _unit.reset(token)
