"""One message for what one run did with one payer's debts (CONVERSATION.md 6: one event, one
message). The daily retry pays a payer's shares one after another; each paid share and each
franchise it restores is collected here instead of being a message of its own, and the run
tells the payer once: what was paid, from which cards, what is still owed, which clinics are
back (a walker got five messages from one run, one of them "available again" between two
shares)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.notifications.outbox import enqueue


@dataclass
class RunDigest:
    paid: list[dict[str, Any]] = field(default_factory=list)  # share_args with the card's last4
    resumed: list[dict[str, Any]] = field(default_factory=list)  # person_args


_current: ContextVar[RunDigest | None] = ContextVar("debt_run_digest", default=None)


def current() -> RunDigest | None:
    """The run's digest, when a run is collecting; else messages go one by one."""
    return _current.get()


@contextlib.contextmanager
def collecting() -> Iterator[RunDigest]:
    digest = RunDigest()
    token = _current.set(digest)
    try:
        yield digest
    finally:
        _current.reset(token)


async def tell(
    session: AsyncSession, user_id: int, digest: RunDigest, left: int, now: datetime
) -> None:
    """The run's one message to the payer (nothing when nothing was paid)."""
    if not digest.paid:
        return
    await enqueue(
        session,
        user_id=user_id,
        kind="debt_paid",
        dedupe_key=f"debt-run:{user_id}:{now.isoformat()}",
        now=now,
        amount=sum(int(item["amount"]) for item in digest.paid),
        items=digest.paid,
        left=left,
        resumed=digest.resumed,
    )
    await session.commit()
