"""A pooled PostgreSQL connection is pinged only after it sat idle (issue 19): a busy pool costs
no round trip for it, and a connection a server restart left dead is replaced unnoticed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

import core.db
from core.db import PING_AFTER_IDLE, create_engine
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL skipped"
)


async def test_a_busy_connection_is_not_pinged_and_an_idle_dead_one_is_replaced(
    postgres_migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[Any] = []
    ping = core.db.ping

    def counted(dbapi_connection: Any) -> None:
        pings.append(dbapi_connection)
        ping(dbapi_connection)

    monkeypatch.setattr(core.db, "ping", counted)
    engine, admin = create_engine(postgres_migrated), create_engine(postgres_migrated)
    try:
        for _ in range(5):  # back-to-back updates: the pooled connection goes out at once
            async with engine.connect() as connection:
                pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        assert pings == []

        async with admin.connect() as connection:  # as a restart of the server would
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await connection.commit()
        await asyncio.sleep(PING_AFTER_IDLE + 0.1)
        async with engine.connect() as connection:  # pinged, found dead, replaced: no error
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
        assert len(pings) == 1
    finally:
        await engine.dispose()
        await admin.dispose()
