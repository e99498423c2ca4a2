"""The outbox: every message a state change owes a person, written in the same transaction.

A producer never sends; it enqueues a message kind with its arguments. The delivery worker
renders it in the recipient's saved language and sends it. The dedupe key makes "the same
message twice" impossible even when a producer runs twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime, dialect_insert


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until `send_after` (its lease), then reclaimable
    SENT = "sent"
    DEAD = "dead"  # a permanent refusal (the reason is kept)
    SKIPPED = "skipped"  # the person turned this kind of message off in the profile
    WITHDRAWN = "withdrawn"  # no longer true before it was sent (a cancelled visit's reminder)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "send_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    send_after: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def message_row(
    *,
    user_id: int,
    kind: str,
    dedupe_key: str,
    now: datetime,
    send_after: datetime | None = None,
    **args: Any,
) -> dict[str, Any]:
    """An outbox row's values, for `enqueue` and for bulk producers (`enqueue_rows`)."""
    return {
        "user_id": user_id,
        "kind": kind,
        "args": args,
        "dedupe_key": dedupe_key,
        "status": OutboxStatus.PENDING,
        "send_after": send_after or now,
        "attempts": 0,
        "created_at": now,
    }


async def enqueue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Add messages, skipping those whose dedupe key exists; returns how many were added. The
    caller commits."""
    done = await session.execute(
        dialect_insert(session)(OutboxMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def enqueue(
    session: AsyncSession,
    *,
    user_id: int,
    kind: str,
    dedupe_key: str,
    now: datetime,
    send_after: datetime | None = None,
    **args: Any,
) -> None:
    """Add a message unless one with this dedupe key exists; the caller commits. `send_after`
    schedules it (a reminder); by default it goes at once."""
    row = message_row(
        user_id=user_id,
        kind=kind,
        dedupe_key=dedupe_key,
        now=now,
        send_after=send_after,
        **args,
    )
    await enqueue_rows(session, [row])


async def withdraw(session: AsyncSession, dedupe_key: str) -> None:
    """Take back a message not sent yet; the caller commits."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.WITHDRAWN)
    )


async def take_over(
    session: AsyncSession, dedupe_keys: list[str], now: datetime
) -> list[OutboxMessage]:
    """The messages not sent yet among `dedupe_keys` (in that order), which the caller says
    itself at once (the answer to a tap): they are marked sent here, in one statement, so the
    courier never sends one a second time. Commits."""
    taken = list(
        await session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.dedupe_key.in_(dedupe_keys),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SENT, sent_at=now)
            .returning(OutboxMessage)
        )
    )
    await session.commit()
    order = {key: n for n, key in enumerate(dedupe_keys)}
    return sorted(taken, key=lambda message: order[message.dedupe_key])
