"""One update at a time per user and chat, in the order they came.

aiogram handles polled updates as concurrent tasks, so a quick second message could be read in
the state before the first one's answer. `asyncio.Lock` wakes its waiters in order, so within a
process the updates of a chat are handled in the order they arrived; with Redis, aiogram's
Redis lock (which polls, so it keeps no order) is taken inside it, so that several worker
processes never handle one chat at once. A chat's lock is dropped once nobody waits for it:
a million users leave no million locks behind.

The lock is taken by `ChatLock`, outside the update's session, so that the update's final
commit (its dialog step among its writes) happens before the chat's next update reads the
state; aiogram's FSM middleware, inside the session, then only reads the state (issue 19: in
the update's own session rather than in one of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.types import TelegramObject, Update

if TYPE_CHECKING:
    from bot.fsm.redis_gate import RedisGate


@dataclass(slots=True)
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class ChatIsolation(BaseEventIsolation):
    def __init__(
        self, shared: BaseEventIsolation | None = None, gate: RedisGate | None = None
    ) -> None:
        self.shared = shared  # across processes (Redis), taken inside the local lock
        self.gate = gate  # with Redis: the lock taken with the update's other first questions
        self.entries: dict[StorageKey, _Entry] = {}

    @asynccontextmanager
    async def lock(
        self, key: StorageKey, update: Update | None = None, user_id: int | None = None
    ) -> AsyncGenerator[None, None]:
        entry = self.entries.setdefault(key, _Entry())
        entry.users += 1
        try:
            async with entry.lock:
                if self.gate is not None and update is not None:
                    throttled = update.message is not None or update.callback_query is not None
                    async with self.gate.entered(key, update.update_id, user_id, throttled):
                        yield
                elif self.shared is None:
                    yield
                else:
                    async with self.shared.lock(key):
                        yield
        finally:
            entry.users -= 1
            if entry.users == 0 and self.entries.get(key) is entry:
                del self.entries[key]  # close() may have cleared it while this update ran

    async def close(self) -> None:
        self.entries.clear()
        if self.shared is not None:
            await self.shared.close()


class ChatLock(BaseMiddleware):
    """An update middleware: the whole update, its final commit included, under the lock of
    its chat (the key aiogram's FSM middleware resolves for it)."""

    def __init__(self, fsm: FSMContextMiddleware, isolation: BaseEventIsolation) -> None:
        self.fsm, self.isolation = fsm, isolation

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot: Bot = data["bot"]
        context = self.fsm.resolve_event_context(bot, data)
        if context is None:
            return await handler(event, data)
        if isinstance(self.isolation, ChatIsolation) and isinstance(event, Update):
            user = data.get("event_from_user")
            lock = self.isolation.lock(context.key, event, user.id if user is not None else None)
        else:
            lock = self.isolation.lock(context.key)
        async with lock:
            return await handler(event, data)
