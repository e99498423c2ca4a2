"""A user who floods gets one polite "too fast", not an error storm.

A token bucket per user: `burst` updates at once, then one per `rate` seconds. The buckets live
in this process, or in Redis when several workers share the users (REDIS_URL).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.fsm import redis_gate

if TYPE_CHECKING:  # loaded only when REDIS_URL is set (start-up, memory)
    from redis.asyncio import Redis

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _seconds() -> float:
    """Wall-clock seconds: workers on several machines compare them through Redis."""
    return time.time()


class Verdict(IntEnum):
    PASS = 0
    WARN = 1  # over the limit: say "too fast" once
    DROP = 2  # still over the limit: silently


class Buckets(Protocol):
    async def take(self, user_id: int) -> Verdict: ...


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class MemoryBuckets:
    """The buckets of the people who sent something in the last `rate × burst` seconds: an older
    bucket is full again, as a new one would be, and is forgotten (in Redis, the key expires)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.buckets: OrderedDict[int, _Bucket] = OrderedDict()  # the least recently used first

    async def take(self, user_id: int) -> Verdict:
        now = _seconds()
        self._forget_full(now)
        bucket = self.buckets.get(user_id)
        if bucket is None:
            bucket = self.buckets[user_id] = _Bucket(tokens=self.burst, updated=now)
        else:
            refill = max(0.0, now - bucket.updated) / self.rate
            bucket.tokens = min(self.burst, bucket.tokens + refill)
            bucket.updated = now
            self.buckets.move_to_end(user_id)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Verdict.PASS
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _forget_full(self, now: float) -> None:
        full_after = self.rate * self.burst
        while self.buckets:
            user_id, oldest = next(iter(self.buckets.items()))
            if now - oldest.updated <= full_after:
                return
            del self.buckets[user_id]


# The same bucket as one atomic step in Redis; the key expires once the bucket is full again.
# A Lua function: the update's way in (bot/fsm/redis_gate.py) takes the bucket with it too.
BUCKET = """
local function take(key, rate, burst, now)
  local saved = redis.call('HMGET', key, 'tokens', 'updated', 'warned')
  local tokens = tonumber(saved[1]) or burst
  local updated = tonumber(saved[2]) or now
  local warned = saved[3] == '1'
  tokens = math.min(burst, tokens + math.max(0, now - updated) / rate)
  local verdict = 0
  if tokens >= 1 then
    tokens = tokens - 1
    warned = false
  elseif warned then
    verdict = 2
  else
    warned = true
    verdict = 1
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'updated', tostring(now),
             'warned', warned and '1' or '0')
  redis.call('PEXPIRE', key, math.ceil(rate * burst * 1000) + 1000)
  return verdict
end
"""
TAKE = BUCKET + "return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))"


class RedisBuckets:
    def __init__(self, redis: Redis, rate: float, burst: int, prefix: str = "dms:throttle") -> None:
        self.rate, self.burst, self.prefix = rate, burst, prefix
        self.script = redis.register_script(TAKE)

    def key(self, user_id: int) -> str:
        return f"{self.prefix}:{user_id}"

    def arguments(self) -> list[float]:
        return [self.rate, self.burst, _seconds()]

    async def take(self, user_id: int) -> Verdict:
        entered = redis_gate.current()
        if entered is not None and entered.user_id == user_id and entered.verdict is not None:
            verdict, entered.verdict = entered.verdict, None  # taken on the way in, once
            return Verdict(verdict)
        verdict = await self.script(keys=[self.key(user_id)], args=self.arguments())
        return Verdict(int(verdict))


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(self, buckets: Buckets | None) -> None:
        self.buckets = buckets  # None: no throttling (THROTTLE_RATE=0)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or self.buckets is None:
            return await handler(event, data)
        verdict = await self.buckets.take(user.id)
        if verdict is Verdict.PASS:
            return await handler(event, data)
        if verdict is Verdict.WARN:
            text = _("Too fast: please wait a moment and try again.")
            if isinstance(event, Message | CallbackQuery):
                await event.answer(text)
        elif isinstance(event, CallbackQuery):
            await event.answer()
        return None
