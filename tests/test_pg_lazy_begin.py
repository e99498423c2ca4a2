"""PostgreSQL: BEGIN is sent before a session's first write, not before its first read (issue
19, core/pg_lazy_begin.py). A session that only reads costs its statements alone; what a
session writes is still one transaction with every read after its first write, and a locking
read still holds its lock until the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg.transaction
import pytest
from sqlalchemy import exc, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine, create_session_factory
from core.inbox import ProcessedUpdate
from core.pg_lazy_begin import reads_only
from tests.conftest import POSTGRES_URL

UNTIL = datetime(2026, 12, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sql", "alone"),
    [
        ("SELECT users.id FROM users WHERE users.telegram_id = $1::BIGINT", True),
        ("\n  select 1", True),
        ("SELECT dialog_states.data FROM dialog_states WHERE key = $1 FOR UPDATE", False),
        ("SELECT charges.id FROM charges FOR UPDATE SKIP LOCKED", False),
        ("SELECT x FROM t FOR NO KEY UPDATE", False),
        ("SELECT x FROM t FOR SHARE", False),
        ("SELECT pg_advisory_xact_lock(7)", False),
        ("SELECT pg_try_advisory_lock(7)", False),
        ("SELECT nextval('users_id_seq')", False),
        ("INSERT INTO users (telegram_id) VALUES ($1) RETURNING id", False),
        ("WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone", False),
        ("UPDATE users SET last_seen_at = $1", False),
    ],
)
def test_which_statements_need_no_transaction(sql: str, alone: bool) -> None:
    assert reads_only(sql) is alone


pytestmark_pg = pytest.mark.skipif(
    not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL skipped"
)


@pytest.fixture
async def engine(postgres_migrated: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_migrated)
    async with engine.connect() as connection:  # the first connection's set-up is done
        await connection.execute(text("SELECT 1"))
    yield engine
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE processed_updates"))
    await engine.dispose()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """BEGIN, COMMIT and ROLLBACK as asyncpg sends them to the server."""
    sent: list[str] = []
    for name in ("start", "commit", "rollback"):
        original = getattr(asyncpg.transaction.Transaction, name)

        def counted(original=original, name=name):  # type: ignore[no-untyped-def]
            async def call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                sent.append(name)
                return await original(self, *args, **kwargs)

            return call

        monkeypatch.setattr(asyncpg.transaction.Transaction, name, counted())
    return sent


def ledger(update_id: int) -> ProcessedUpdate:
    return ProcessedUpdate(update_id=update_id, state="done", until=UNTIL)


@pytestmark_pg
async def test_a_session_that_only_reads_sends_no_begin_nor_rollback(
    engine: AsyncEngine, sent: list[str]
) -> None:
    async with create_session_factory(engine)() as session:
        session.add(ledger(1))
        await session.commit()
    sent.clear()
    async with create_session_factory(engine)() as session:
        assert await session.scalar(select(ProcessedUpdate.state)) == "done"
        assert await session.scalar(select(ProcessedUpdate.update_id)) == 1
        await session.rollback()
    assert sent == []


@pytestmark_pg
async def test_what_follows_the_first_write_is_one_transaction(
    engine: AsyncEngine, sent: list[str]
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        assert await session.scalar(select(ProcessedUpdate.update_id)) is None  # no BEGIN yet
        assert sent == []
        session.add(ledger(2))
        await session.flush()
        assert sent == ["start"]
        # Its own write is seen by its reads, and by nobody else before the commit.
        assert await session.scalar(select(ProcessedUpdate.update_id)) == 2
        async with sessions() as other:
            assert await other.scalar(select(ProcessedUpdate.update_id)) is None
        session.add(ledger(3))
        await session.flush()
        await session.rollback()  # both writes go
    assert sent == ["start", "rollback"]
    async with sessions() as session:
        assert (await session.scalars(select(ProcessedUpdate.update_id))).all() == []
        session.add(ledger(4))
        await session.commit()
        assert (await session.scalars(select(ProcessedUpdate.update_id))).all() == [4]


@pytestmark_pg
async def test_a_locking_read_holds_its_lock_until_the_session_ends(
    engine: AsyncEngine, sent: list[str]
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        session.add(ledger(5))
        await session.commit()
    sent.clear()
    locked = select(ProcessedUpdate).where(ProcessedUpdate.update_id == 5).with_for_update()
    async with sessions() as holder:
        await holder.scalar(locked)
        assert sent == ["start"]
        async with sessions() as other:
            with pytest.raises(exc.DBAPIError, match="could not obtain lock"):
                await other.scalar(locked.with_for_update(nowait=True))
        await holder.commit()
    async with sessions() as other:  # let go with the commit
        assert (await other.scalar(locked.with_for_update(nowait=True))) is not None
        row = await other.get(ProcessedUpdate, 5)
        assert row is not None and row.until - UNTIL < timedelta(seconds=1)
