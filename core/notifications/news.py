"""The insurer's news: one message per registered person who keeps news on, in their language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Account
from core.notifications.outbox import OutboxMessage, OutboxStatus

MAX_LENGTH = 4000  # Telegram takes 4,096 characters in a message
BATCH = 500


class NewsRejected(ValueError):
    pass


async def announce_news(
    session: AsyncSession, key: str, texts: dict[str, str], now: datetime
) -> int:
    """Queue the news `key` for everyone who keeps news on; running it again adds nothing.

    `texts` holds the text per language; Russian is required, others fall back to it.
    Returns how many messages were queued now.
    """
    texts = {locale: text.strip() for locale, text in texts.items() if text and text.strip()}
    if "ru" not in texts:
        raise NewsRejected("the Russian text is required")
    if any(len(text) > MAX_LENGTH for text in texts.values()):
        raise NewsRejected(f"a text is longer than {MAX_LENGTH} characters")
    if not key or len(key) > 64:
        raise NewsRejected("the key must be 1 to 64 characters")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    people = await session.scalars(
        select(Account.user_id).where(Account.notify_news.is_(True)).order_by(Account.user_id)
    )
    queued, batch = 0, []
    for user_id in [*people, None]:
        if user_id is not None:
            batch.append(
                {
                    "user_id": user_id,
                    "kind": "news",
                    "args": {"texts": texts},
                    "dedupe_key": f"news:{key}:{user_id}",
                    "status": OutboxStatus.PENDING,
                    "send_after": now,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        if batch and (user_id is None or len(batch) == BATCH):
            done = await session.execute(
                insert(OutboxMessage)
                .values(batch)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
            queued += done.rowcount  # type: ignore[attr-defined]
            batch = []
    await session.commit()
    return queued
