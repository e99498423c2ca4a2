"""Alembic environment: async engine, the models' metadata, URL from the caller or DATABASE_URL."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

import core.models  # noqa: F401  (registers every table on the metadata)
from core.db import Base, create_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from core.config import Settings

    return os.environ.get("DATABASE_URL") or Settings().database_url


MIGRATION_LOCK = 0x646D7301  # any constant; every process migrating one database agrees on it


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several processes start at once (bot workers, the scheduler): one migrates, the others
        # wait here and then find the database at head. Released at the transaction's end.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
