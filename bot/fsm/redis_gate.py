"""With Redis, an update's way in and way out are one round trip each (issue 19).

Handling an update with Redis asked it six things one after another: take the chat's lock,
claim the update in the ledger, read the dialog state and data, take a token from the sender's
flood bucket, then mark the update done and let the lock go. Each round trip costs the worker
more than the command itself (a system call and a wake-up of the event loop).

`RedisGate.entered` does the first four in one Lua script, atomically, and keeps what it
learnt for the update (`current()`): the ledger's claim, the state and data, the bucket's
verdict. `RedisInbox`, `StepStorage` and `RedisBuckets` take their answer from there instead
of asking. The dialog step and the ledger's "done" (or the claim's release, for an update that
failed) are kept for the way out and go in one script with the lock's release, after the
update's database commit: a worker killed before it leaves neither the step moved on nor the
update done, so the redelivered update does the step again from where it was.

When another worker holds the chat's lock, the script changes nothing and says so; the update
then waits for the lock as before (aiogram's Redis lock) and asks each thing on its own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiogram.fsm.storage.base import StorageKey

from core.inbox import KEEP, LEASE, Claim

if TYPE_CHECKING:  # loaded only when REDIS_URL is set (start-up, memory)
    from aiogram.fsm.storage.redis import RedisStorage

    from bot.middlewares.throttling import RedisBuckets

# KEYS: the chat's lock, the update's ledger entry, the state, the data, the sender's bucket.
# ARGV: the lock's token, its time-out (ms), the claim's lease (ms); then the bucket's rate,
# burst and now, or nothing when the update is not throttled. The bucket (`take`, from
# bot/middlewares/throttling.py BUCKET) is taken only for an update this worker now handles.
ENTER = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
if not redis.call('SET', KEYS[2], 'working', 'NX', 'PX', ARGV[3]) then
  return {1, redis.call('GET', KEYS[2]) or 'working'}
end
local found = redis.call('MGET', KEYS[3], KEYS[4])
local verdict = -1
if ARGV[4] then
  verdict = take(KEYS[5], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
end
return {1, 'mine', found[1] and 1 or 0, found[1] or '', found[2] and 1 or 0, found[2] or '',
        verdict}
"""

# KEYS: the chat's lock, the update's ledger entry, the state, the data. ARGV: the lock's
# token, what became of the update ('done', 'release' or '' when it was not this worker's),
# how long "done" is kept (s); then the step, if it changed: the data ('set' with its JSON and
# time to live in seconds or '', or 'del'), the state (the same, with the state's name).
LEAVE = """
local function put(op, key, value, ttl)
  if op == 'set' then
    if ttl ~= '' then
      redis.call('SET', key, value, 'EX', ttl)
    else
      redis.call('SET', key, value)
    end
  elseif op == 'del' then
    redis.call('DEL', key)
  end
end
put(ARGV[4], KEYS[4], ARGV[5], ARGV[6])
put(ARGV[7], KEYS[3], ARGV[8], ARGV[9])
if ARGV[2] == 'done' then
  redis.call('SET', KEYS[2], 'done', 'EX', ARGV[3])
elseif ARGV[2] == 'release' then
  redis.call('DEL', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
"""


@dataclass(slots=True)
class Entered:
    """What the way in learnt of one update, and what its way out has to write."""

    update_id: int
    claim: Claim | None
    key: StorageKey
    state: str | None = None
    data: dict[str, Any] | None = None
    user_id: int | None = None
    verdict: int | None = None  # the sender's bucket, if it was taken
    outcome: str = ""  # "done" or "release", written on the way out
    step: dict[str, Any] | None = None  # the new state and/or data, written on the way out


_entered: ContextVar[Entered | None] = ContextVar("redis_gate_entered", default=None)


def current() -> Entered | None:
    return _entered.get()


class RedisGate:
    def __init__(
        self, storage: RedisStorage, *, lock_timeout: float, ledger_prefix: str = "dms:update"
    ) -> None:
        self.storage, self.redis = storage, storage.redis
        self.lock_ms = int(lock_timeout * 1000)
        self.ledger_prefix = ledger_prefix
        self.buckets: RedisBuckets | None = None  # set when the flood limit is in Redis
        from bot.middlewares.throttling import BUCKET  # here: throttling imports this module

        self._enter = self.redis.register_script(BUCKET + ENTER)
        self._leave = self.redis.register_script(LEAVE)

    @contextlib.asynccontextmanager
    async def entered(
        self, key: StorageKey, update_id: int, user_id: int | None, throttled: bool
    ) -> AsyncIterator[Entered | None]:
        """The update inside the chat's lock, with what the way in read (None: the lock was
        held elsewhere and was waited for; then nothing was read)."""
        build = self.storage.key_builder.build
        lock_key, ledger_key = build(key, "lock"), f"{self.ledger_prefix}:{update_id}"
        token = uuid.uuid4().hex
        keys = [lock_key, ledger_key, build(key, "state"), build(key, "data")]
        step_keys = keys[:]
        args: list[Any] = [token, self.lock_ms, int(LEASE.total_seconds() * 1000)]
        buckets = self.buckets if throttled and user_id is not None else None
        if buckets is not None:
            keys.append(buckets.key(user_id))  # type: ignore[arg-type]
            args += buckets.arguments()
        reply = await self._enter(keys=keys, args=args)
        if not reply[0]:
            async with self.redis.lock(lock_key, timeout=self.lock_ms / 1000):
                yield None
            return
        entered = _decode(reply, update_id, key, self.storage)
        entered.user_id = user_id if buckets is not None else None
        reset = _entered.set(entered)
        try:
            yield entered
        finally:
            _entered.reset(reset)
            await self._leave(
                keys=step_keys,
                args=[token, entered.outcome, int(KEEP.total_seconds()), *self._step(entered)],
            )

    def _step(self, entered: Entered) -> list[str]:
        """The LEAVE script's arguments for the step."""
        data, state = step_writes(self.storage, entered.step or {})
        return [*data, *state]


Write = tuple[str, str, str]  # "set" with the value and its time to live (s), "del", or ""


def step_writes(storage: Any, change: dict[str, Any]) -> tuple[Write, Write]:
    """A step's data and state as `RedisStorage` writes them: the data's, then the state's."""
    data: Write = ("", "", "")
    if "data" in change:
        data = (
            ("set", storage.json_dumps(change["data"]), _seconds(storage.data_ttl))
            if change["data"]
            else ("del", "", "")
        )
    state: Write = ("", "", "")
    if "state" in change:
        state = (
            ("del", "", "")
            if change["state"] is None
            else ("set", change["state"], _seconds(storage.state_ttl))
        )
    return data, state


def _seconds(ttl: int | timedelta | None) -> str:
    if ttl is None:
        return ""
    return str(int(ttl.total_seconds()) if isinstance(ttl, timedelta) else int(ttl))


def decode_step(
    storage: Any, state: bytes | str | None, data: bytes | str | None
) -> tuple[str | None, dict[str, Any]]:
    """A step's state and data as `RedisStorage` reads them (no data: an empty dict)."""
    return (
        _text(state) if state is not None else None,
        dict(storage.json_loads(_text(data))) if data is not None else {},
    )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _decode(reply: list[Any], update_id: int, key: StorageKey, storage: Any) -> Entered:
    claim = _text(reply[1])
    if claim != "mine":
        return Entered(update_id, Claim.DONE if claim == "done" else Claim.BUSY, key)
    has_state, state, has_data, data, verdict = reply[2:7]
    state, data = decode_step(storage, state if has_state else None, data if has_data else None)
    return Entered(
        update_id,
        Claim.MINE,
        key,
        state=state,
        data=data,
        verdict=int(verdict) if int(verdict) >= 0 else None,
    )
