"""The database: one declarative base, the engine factory and the migration runner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, LargeBinary, MetaData, String, Text, TypeDecorator, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
    # One process owns the file: WAL lets readers run beside the writer, the busy timeout
    # waits out short write locks instead of failing, and foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 5) -> AsyncEngine:
    """SQLite: one file, WAL. PostgreSQL: a pool of `pool_size` connections kept open plus
    `max_overflow` opened under load, checked before use, renewed every half hour."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=30,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def upgrade(url: str) -> None:
    """Blocking: apply every revision up to head (Alembic runs its own event loop)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


async def migrate(url: str) -> None:
    """Apply every Alembic revision up to head (Alembic runs its own loop, so in a thread)."""
    await asyncio.to_thread(upgrade, url)
    log.info("database is at the newest revision")


class UnitOfWork:
    """One update's database work in one session: the update ledger, the dialog step and the
    user row share it, so that an update costs one session and, when something changed, one
    commit at its end instead of a session and a commit per piece (issue 19)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.wrote = False  # the ledger or the dialog step left a write for the final commit
        self._discarded = False

    async def discard(self) -> None:
        """The update failed: its half-done writes go, once; what is written after stays."""
        if not self._discarded:
            self._discarded = True
            # Detached first: the rows already read (the user, for the error handler's
            # language) keep their values instead of being expired by the rollback.
            self.session.expunge_all()
            await self.session.rollback()
            self.wrote = False


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
