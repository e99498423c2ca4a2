"""The insurer's news: one message per registered person who keeps news on, in their language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Account
from core.notifications.outbox import enqueue_rows, message_row

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
    people = list(
        await session.scalars(
            select(Account.user_id).where(Account.notify_news.is_(True)).order_by(Account.user_id)
        )
    )
    queued = 0
    for start in range(0, len(people), BATCH):
        rows = [
            message_row(
                user_id=user_id,
                kind="news",
                dedupe_key=f"news:{key}:{user_id}",
                now=now,
                texts=texts,
            )
            for user_id in people[start : start + BATCH]
        ]
        queued += await enqueue_rows(session, rows)
    await session.commit()
    return queued
