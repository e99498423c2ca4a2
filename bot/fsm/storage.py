"""aiogram FSM storage over the application database: dialog state survives restarts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)

from core.dialog_state import DialogStateStore


class DatabaseStorage(BaseStorage):
    def __init__(self, store: DialogStateStore, key_builder: KeyBuilder | None = None) -> None:
        self._store = store
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._store.set_state(self._keys.build(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._store.load(self._keys.build(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._store.set_data(self._keys.build(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._store.load(self._keys.build(key))
        return data

    async def save(self, key: StorageKey, change: Mapping[str, Any]) -> None:
        """A step's new state and/or data ("state", "data") at once: one row, one write."""
        values = dict(change)
        if isinstance(values.get("state"), State):
            values["state"] = values["state"].state
        if "data" in values:
            values["data"] = dict(values["data"])
        await self._store.save(self._keys.build(key), values)

    def row_key(self, key: StorageKey) -> str:
        """The key of the step's row (core.dialog_state)."""
        return self._keys.build(key)

    async def load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        """The state and the data at once (one row)."""
        return await self._store.load(self._keys.build(key))

    async def close(self) -> None:
        """The session factory belongs to the application; nothing to close here."""
