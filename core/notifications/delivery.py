"""Draining the outbox: render each message in the recipient's language and send it.

The notifications issue adds Telegram's rate limits, quiet hours and 403/429 handling; this
worker sends in order, marks what was sent, and gives up on a message after a few failures.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import User
from core.i18n import translator
from core.notifications.messages import render
from core.notifications.outbox import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
Send = Callable[[int, str], Awaitable[None]]  # (telegram chat id, text)
MAX_ATTEMPTS = 5


async def deliver(
    sessions: async_sessionmaker[AsyncSession], send: Send, now: datetime, limit: int = 100
) -> int:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(OutboxMessage, User)
                .join(User, User.id == OutboxMessage.user_id)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.send_after <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        ).all()
        sent = 0
        for message, user in rows:
            claimed = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.attempts == message.attempts,
                )
                .values(attempts=message.attempts + 1)
            )
            await session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            text = render(message.kind, message.args, translator(user.language), user.language)
            try:
                await send(user.telegram_id, text)
            except Exception as error:
                log.warning("outbox message %s not sent: %s", message.id, error)
                message.last_error = str(error)[:500]
                message.send_after = now + timedelta(minutes=message.attempts)
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxStatus.DEAD
                await session.commit()
                continue
            message.status, message.sent_at = OutboxStatus.SENT, now
            await session.commit()
            sent += 1
    return sent
