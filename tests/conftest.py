"""Shared fixtures: a real database per test (SQLite file; PostgreSQL too when configured)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bot import lazy_types  # noqa: F401  (first of all: aiogram types build on first use)

# isort: split
import pytest
import redis
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.factory import create_dispatcher
from bot.middlewares.not_modified import NotModifiedIsDone
from core.accounts.crypto import Vault, generate_key
from core.accounts.models import Account
from core.clock import Clock, FrozenClock
from core.config import Settings
from core.db import Base, create_engine, create_session_factory, upgrade
from core.demo import register_demo_person, seed_demo_data
from tests.dialog import ChatClient, RecordingMailer, RecordingSession


def _per_worker(postgres: str | None, redis_url: str | None) -> tuple[str | None, str | None]:
    """pytest-xdist runs the suite in several processes: each gets a database and a Redis db of
    its own (the first keeps the configured ones; worker N adds `_gwN` to the database name and
    counts Redis dbs down from the configured one), so that no two tests share a schema."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    if not worker:
        return postgres, redis_url
    if postgres:
        url = make_url(postgres)
        postgres = url.set(database=f"{url.database}_gw{worker}").render_as_string(False)
    if redis_url:
        base, _, db = redis_url.rpartition("/")
        redis_url = f"{base}/{(int(db or 0) - worker) % 16}"
    return postgres, redis_url


POSTGRES_URL, REDIS_URL = _per_worker(
    os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
)
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEST_KEY = generate_key()
OPERATORS_CHAT = -1001000000001
OPERATOR_ID = 9001

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL tests skipped"
        ),
    ),
]


def _in_thread(fn: Callable[..., object], *args: object) -> None:
    """Alembic and asyncio.run need a thread with no running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fn, *args).result()


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """The demo data set, loaded through the importers as sandbox mode does."""
    return await seed_demo_data(sessions, Vault(TEST_KEY.encode()), now=START)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrations run once; each test gets a copy of the migrated file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _in_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


async def _reset_schema(url: str) -> None:
    """A clean `public` schema, in a database created first if it is missing (xdist workers)."""
    name = make_url(url).database
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        found = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not found:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """A clean schema migrated from scratch once: every migration runs on PostgreSQL too."""
    assert POSTGRES_URL is not None
    _in_thread(asyncio.run, _reset_schema(POSTGRES_URL))
    _in_thread(upgrade, POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_migrated")
    yield url
    await _empty_tables(url)


async def _empty_tables(url: str) -> None:
    """Every table emptied for the next test. A connection the test left behind (a pool not
    disposed, a task still in its transaction) would make the TRUNCATE wait for its locks, or
    deadlock with it: it is ended first. This xdist worker's database is its own, and the
    session-wide fixtures hold no connection to it."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        await connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No .env and no throttling: dialog tests type faster than any person.

    On PostgreSQL the dialogs also keep their state in Redis when TEST_REDIS_URL is set: the
    scale-out set-up (several workers) runs every dialog test; SQLite keeps the embedded one.
    """
    redis_url = None
    if REDIS_URL and database_url.startswith("postgresql"):
        redis_url = REDIS_URL
        with redis.Redis.from_url(REDIS_URL) as client:
            client.flushdb()
    return Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        throttle_rate=0,
        data_encryption_key=SecretStr(TEST_KEY),
        operators_chat_id=OPERATORS_CHAT,
        operator_ids=[OPERATOR_ID],
    )


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    session = RecordingSession()
    session.middleware(NotModifiedIsDone())  # as create_bot() sets it up
    bot = Bot(
        "7000000001:test-token",
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    yield bot
    await bot.session.close()


@pytest.fixture
def mailbox() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
async def dp(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: RecordingMailer,
) -> AsyncIterator[Dispatcher]:
    dispatcher = create_dispatcher(settings, sessions, clock, mailer=mailbox)
    yield dispatcher
    await dispatcher.storage.close()


@pytest.fixture
def chat(dp: Dispatcher, bot: Bot) -> ChatClient:
    return ChatClient(dp, bot)


async def register_anna(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, telegram_id: int
) -> Account:
    """A registered person (the registration dialog itself is tested on its own)."""
    assert settings.data_encryption_key is not None
    vault = Vault(settings.data_encryption_key.get_secret_value().encode())
    return await register_demo_person(sessions, vault, telegram_id, now=clock.now())


@pytest.fixture
async def registered(
    chat: ChatClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> Account:
    return await register_anna(sessions, settings, clock, chat.user.id)
