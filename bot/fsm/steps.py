"""A dialog step is saved when its update is handled, not halfway.

Handlers move the state and then answer (`state.set_state(...)`, then `message.answer(...)`).
Were the worker killed between the two, Telegram's redelivery would find the dialog one step on
with the question never asked, and the person's answer would be read by the wrong step. So
during an update the FSM writes are kept aside and written once the handler is done (also when
it failed: what the person entered is kept). A worker killed mid-update leaves the dialog where
it was; the redelivered update does the step again.

What an update reads is also kept for the rest of that update (`reads_once`, opened by the
dispatcher for each update; the chat's lock keeps other updates of the chat out meanwhile):
aiogram reads the state for its filters, the handler reads it and the data again, and each
read was a query (issue 19).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.types import TelegramObject

from bot.fsm import redis_gate
from bot.fsm.storage import DatabaseStorage
from core.db import current_unit

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
_Pending = dict[StorageKey, dict[str, Any]]  # key -> {"state": ..., "data": ...}
_pending: ContextVar[_Pending | None] = ContextVar("dialog_step_pending", default=None)
_loaded: ContextVar[_Pending | None] = ContextVar("dialog_step_loaded", default=None)


class StepStorage(BaseStorage):
    """Wraps the real storage; outside an update (tests, tools) it writes through."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        pending = _pending.get()
        if pending is None:
            _forget(key)
            await self.inner.set_state(key, state)
            return
        pending.setdefault(key, {})["state"] = state.state if isinstance(state, State) else state

    async def get_state(self, key: StorageKey) -> str | None:
        pending = _pending.get()
        if pending is not None and "state" in pending.get(key, {}):
            state: str | None = pending[key]["state"]
            return state
        loaded = await self._load(key, "state")
        return loaded["state"] if loaded is not None else await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        pending = _pending.get()
        if pending is None:
            _forget(key)
            await self.inner.set_data(key, data)
            return
        pending.setdefault(key, {})["data"] = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        pending = _pending.get()
        if pending is not None and "data" in pending.get(key, {}):
            return dict(pending[key]["data"])
        loaded = await self._load(key, "data")
        return dict(loaded["data"]) if loaded is not None else await self.inner.get_data(key)

    async def _load(self, key: StorageKey, part: str) -> dict[str, Any] | None:
        """What this update read of the key (read once); None outside an update."""
        loaded = _loaded.get()
        if loaded is None:
            return None
        known = loaded.setdefault(key, {})
        if part not in known:
            if isinstance(self.inner, DatabaseStorage):  # one row holds both
                known["state"], known["data"] = await self.inner.load(key)
            elif _is_redis(self.inner):  # read on the way in, or two keys in one round trip
                entered = redis_gate.current()
                if entered is not None and entered.key == key and entered.data is not None:
                    known["state"], known["data"] = entered.state, entered.data
                else:
                    known["state"], known["data"] = await _redis_load(self.inner, key)
            elif part == "state":
                known["state"] = await self.inner.get_state(key)
            else:
                known["data"] = await self.inner.get_data(key)
        return known

    async def close(self) -> None:
        await self.inner.close()


def _is_redis(storage: BaseStorage) -> bool:
    # aiogram's Redis storage is imported only when REDIS_URL is set (start-up, memory).
    module = sys.modules.get("aiogram.fsm.storage.redis")
    return module is not None and isinstance(storage, module.RedisStorage)


async def _redis_load(storage: Any, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
    """The state and the data of a key with one MGET, decoded as `RedisStorage` decodes them."""
    build = storage.key_builder.build
    return redis_gate.decode_step(
        storage, *await storage.redis.mget(build(key, "state"), build(key, "data"))
    )


async def _redis_save(storage: Any, key: StorageKey, change: dict[str, Any]) -> None:
    """A step's data and state written as `RedisStorage` writes them, in one transaction."""
    build = storage.key_builder.build
    data, state = redis_gate.step_writes(storage, change)
    async with storage.redis.pipeline(transaction=True) as pipe:
        for (op, value, ttl), part in ((data, "data"), (state, "state")):  # the data first
            if op == "set":
                pipe.set(build(key, part), value, ex=int(ttl) if ttl else None)
            elif op == "del":
                pipe.delete(build(key, part))
        await pipe.execute()


def _forget(key: StorageKey) -> None:
    loaded = _loaded.get()
    if loaded is not None:
        loaded.pop(key, None)


@contextlib.contextmanager
def reads_once() -> Iterator[None]:
    """One update: each key's state and data are read from the storage once."""
    token = _loaded.set({})
    try:
        yield
    finally:
        _loaded.reset(token)


def underlying(storage: BaseStorage) -> BaseStorage:
    return storage.inner if isinstance(storage, StepStorage) else storage


class SaveStepAfterHandling(BaseMiddleware):
    """An update middleware inside the chat's lock: collects the step, then writes it."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = underlying(storage)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        pending: _Pending = {}
        token = _pending.set(pending)
        try:
            result = await handler(event, data)
        except BaseException:
            _pending.reset(token)
            unit = current_unit()
            if unit is not None:  # the failed update's half-done writes go, its step stays
                await unit.discard()
            await self._save(pending)
            raise
        _pending.reset(token)
        await self._save(pending)
        return result

    async def _save(self, pending: _Pending) -> None:
        for key, change in pending.items():
            if isinstance(self.storage, DatabaseStorage):  # one row holds both: one write
                await self.storage.save(key, change)
                continue
            if _is_redis(self.storage):
                entered = redis_gate.current()
                if entered is not None and entered.key == key:
                    entered.step = change  # with the update's "done", on the way out
                else:  # both keys in one MULTI/EXEC: one round trip
                    await _redis_save(self.storage, key, change)
                continue
            if "data" in change:  # the data first: a state never points at missing data
                await self.storage.set_data(key, change["data"])
            if "state" in change:
                await self.storage.set_state(key, change["state"])
