"""Handle each update once across redeliveries and workers (see core/inbox.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from bot.fsm import redis_gate
from core.db import current_unit
from core.inbox import KEEP, LEASE, Claim

if TYPE_CHECKING:  # loaded only when REDIS_URL is set (start-up, memory)
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Inbox(Protocol):
    async def claim(self, update_id: int) -> Claim: ...

    async def finish(self, update_id: int) -> None: ...

    async def release(self, update_id: int) -> None: ...

    async def is_done(self, update_id: int) -> bool: ...

    async def release_unfinished(self) -> int: ...


class UpdateInProgress(Exception):
    """Another worker is handling this update now: the sender should try again later."""


class RedisInbox:
    """The same ledger in Redis, shared by every worker, with expiring keys."""

    def __init__(self, redis: Redis, prefix: str = "dms:update") -> None:
        self.redis, self.prefix = redis, prefix

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:{update_id}"

    async def claim(self, update_id: int) -> Claim:
        entered = self._entered(update_id)
        if entered is not None and entered.claim is not None:
            return entered.claim  # claimed on the way in (bot/fsm/redis_gate.py)
        key = self._key(update_id)
        if await self.redis.set(key, "working", nx=True, px=int(LEASE.total_seconds() * 1000)):
            return Claim.MINE
        state = await self.redis.get(key)
        if state is None:  # expired between the two calls: try once more
            return await self.claim(update_id)
        return Claim.DONE if state in (b"done", "done") else Claim.BUSY

    async def finish(self, update_id: int) -> None:
        if (entered := self._entered(update_id)) is not None:
            entered.outcome = "done"  # written with the chat lock's release, after the commit
            return
        await self.redis.set(self._key(update_id), "done", ex=int(KEEP.total_seconds()))

    async def release(self, update_id: int) -> None:
        if (entered := self._entered(update_id)) is not None:
            entered.outcome = "release"
            return
        await self.redis.delete(self._key(update_id))

    @staticmethod
    def _entered(update_id: int) -> redis_gate.Entered | None:
        entered = redis_gate.current()
        return entered if entered is not None and entered.update_id == update_id else None

    async def is_done(self, update_id: int) -> bool:
        return await self.redis.get(self._key(update_id)) in (b"done", "done")

    async def release_unfinished(self) -> int:
        """Polling's single poller starts: every claim still `working` is a dead one's."""
        released = 0
        async for key in self.redis.scan_iter(match=f"{self.prefix}:*", count=1000):
            if await self.redis.get(key) in (b"working", "working"):
                released += await self.redis.delete(key)
        return released


class OncePerUpdate(BaseMiddleware):
    """The outermost update middleware: a repeated update is acknowledged and not handled."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        claim = await self.inbox.claim(event.update_id)
        if claim is Claim.DONE:
            log.info("update %s was handled already: skipped", event.update_id)
            return UNHANDLED
        if claim is Claim.BUSY:
            raise UpdateInProgress(f"update {event.update_id} is being handled by another worker")
        try:
            result = await handler(event, data)
        except BaseException:
            unit = current_unit()
            if unit is not None:  # the release is written, not the half-done update
                await unit.discard()
            await self.inbox.release(event.update_id)  # the redelivery does the work
            raise
        await self.inbox.finish(event.update_id)
        return result
