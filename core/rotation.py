"""Key rotation (`python main.py rotate-key`): every encrypted value re-encrypted with the
current DATA_ENCRYPTION_KEY, read with it or an old one (DATA_ENCRYPTION_OLD_KEYS).

Encrypted columns are found by their type (core.db.ENCRYPTED_TYPES) on every table of the
metadata, so a column declared `EncryptedString`/`EncryptedText`/`EncryptedBytes` later is
rotated too. Rows are done in batches, each committed; running it again is harmless (every
value is simply encrypted again with the current key). A value no key can read is left as it
is and counted.

Dialog drafts hold encrypted values too (the passport number typed at registration, until the
person confirms): the embedded dialog states and, at scale, the FSM data in Redis are searched
for Fernet tokens, which are rotated in place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import core.models  # noqa: F401  (registers every table on the metadata)
from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.accounts.registration import document_digest
from core.accounts.validation import DocumentType
from core.db import ENCRYPTED_TYPES, Base, EncryptedBytes
from core.dialog_state import DialogState

FERNET_PREFIX = "gAAAAA"  # a Fernet token's version byte 0x80 and the first timestamp bytes


@dataclass(frozen=True, slots=True)
class Rotated:
    column: str  # table.column
    rows: int
    unreadable: int


class DigestsKeyedOtherwise(Exception):
    """The stored digests were made with another digest key: lookups would stop matching."""


def encrypted_columns() -> list[tuple[Table, Column[object]]]:
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, ENCRYPTED_TYPES)
    ]


async def check_digests(session: AsyncSession, vault: Vault) -> None:
    """A person's passport digest, made again from the decrypted number, must match."""
    account = await session.scalar(select(Account).limit(1))
    if account is None:
        return
    number = vault.decrypt(account.document_encrypted)
    if (
        document_digest(vault, DocumentType(account.document_type), number)
        != account.document_digest
    ):
        raise DigestsKeyedOtherwise("set DATA_DIGEST_KEY to the digest key in use")


async def rotate_column(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    table: Table,
    column: Column[object],
    *,
    batch: int = 500,
) -> Rotated:
    [key] = table.primary_key.columns
    binary = isinstance(column.type, EncryptedBytes)
    rows = unreadable = 0
    last: object = None
    while True:
        async with sessions() as session:
            query = select(key, column).where(column.is_not(None)).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            found = (await session.execute(query)).all()
            if not found:
                return Rotated(f"{table.name}.{column.name}", rows, unreadable)
            for row_id, token in found:
                try:
                    fresh = vault.rotate_bytes(token) if binary else vault.rotate(token)
                except ValueError:
                    unreadable += 1
                    continue
                await session.execute(update(table).where(key == row_id).values({column: fresh}))
                rows += 1
            await session.commit()
            last = found[-1][0]


async def rotate_keys(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    progress: Callable[[Rotated], None] = lambda _done: None,
    batch: int = 500,
    redis_url: str | None = None,
) -> list[Rotated]:
    async with sessions() as session:
        await check_digests(session, vault)
    done = []
    for table, column in encrypted_columns():
        rotated = await rotate_column(sessions, vault, table, column, batch=batch)
        progress(rotated)
        done.append(rotated)
    rotated = await rotate_dialog_states(sessions, vault, batch=batch)
    progress(rotated)
    done.append(rotated)
    if redis_url:
        rotated = await rotate_redis_dialogs(redis_url, vault)
        progress(rotated)
        done.append(rotated)
    return done


@dataclass(slots=True)
class TokenCount:
    rows: int = 0
    unreadable: int = 0


def rotate_tokens(value: Any, vault: Vault, count: TokenCount) -> Any:
    """The JSON value with every Fernet token in it encrypted again with the current key."""
    if isinstance(value, dict):
        return {key: rotate_tokens(item, vault, count) for key, item in value.items()}
    if isinstance(value, list):
        return [rotate_tokens(item, vault, count) for item in value]
    if isinstance(value, str) and value.startswith(FERNET_PREFIX):
        try:
            fresh = vault.rotate(value)
        except ValueError:
            count.unreadable += 1
            return value
        count.rows += 1
        return fresh
    return value


async def rotate_dialog_states(
    sessions: async_sessionmaker[AsyncSession], vault: Vault, *, batch: int = 500
) -> Rotated:
    """Drafts kept by the embedded dialog storage (the `dialog_states` table)."""
    count, last = TokenCount(), ""
    while True:
        async with sessions() as session:
            rows = list(
                await session.scalars(
                    select(DialogState).where(DialogState.key > last).order_by(DialogState.key)
                    .limit(batch)
                )
            )  # fmt: skip
            if not rows:
                return Rotated("dialog_states.data", count.rows, count.unreadable)
            for row in rows:
                before = count.rows
                data = rotate_tokens(row.data or {}, vault, count)
                if count.rows != before:
                    row.data = data
            await session.commit()
            last = rows[-1].key


async def rotate_redis_dialogs(redis_url: str, vault: Vault) -> Rotated:
    """Drafts kept in Redis by the workers' FSM storage (`fsm:…:data` keys, JSON)."""
    from redis.asyncio import Redis  # only with REDIS_URL

    count = TokenCount()
    client = Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter(match="fsm:*:data", count=1000):
            raw = await client.get(key)
            if raw is None:
                continue
            before = count.rows
            data = rotate_tokens(json.loads(raw), vault, count)
            if count.rows != before:
                await client.set(key, json.dumps(data), keepttl=True)
    finally:
        await client.aclose()
    return Rotated("redis fsm data", count.rows, count.unreadable)
