"""A user who floods gets one polite "too fast", not an error storm."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _monotonic() -> float:
    return time.monotonic()


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class ThrottlingMiddleware(BaseMiddleware):
    """Token bucket per user: `burst` updates at once, then one per `rate` seconds."""

    MAX_TRACKED = 100_000

    def __init__(
        self, rate: float, burst: int, monotonic: Callable[[], float] | None = None
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._now = monotonic
        self._buckets: dict[int, _Bucket] = {}

    def _take(self, user_id: int) -> _Bucket | None:
        """Take a token; returns the bucket when the user is over the limit."""
        now = self._now() if self._now else _monotonic()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self.MAX_TRACKED:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(tokens=self._burst, updated=now)
        elif self._rate > 0:
            refill = (now - bucket.updated) / self._rate
            bucket.tokens = min(self._burst, bucket.tokens + refill)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return None
        return bucket

    def _forget_idle(self, now: float) -> None:
        full_after = self._rate * self._burst
        for user_id in [u for u, b in self._buckets.items() if now - b.updated > full_after]:
            del self._buckets[user_id]

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or self._rate <= 0:
            return await handler(event, data)
        bucket = self._take(user.id)
        if bucket is None:
            return await handler(event, data)
        if not bucket.warned:
            bucket.warned = True
            text = _("Too fast: please wait a moment and try again.")
            if isinstance(event, Message | CallbackQuery):
                await event.answer(text)
        elif isinstance(event, CallbackQuery):
            await event.answer()
        return None
