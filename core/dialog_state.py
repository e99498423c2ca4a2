"""Where a person is in a dialog, kept in the database so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, UtcDateTime, current_unit


class DialogState(Base):
    __tablename__ = "dialog_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


_LOAD = select(DialogState).where(DialogState.key == bindparam("key"))  # built once (issue 19)


class DialogStateStore:
    """Key-value access used by the bot's FSM storage. Inside an update it works in the
    update's unit of work (committed once at the update's end); elsewhere each call is its
    own transaction."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        unit = current_unit()
        if unit is not None:
            row = await unit.session.scalar(_LOAD, {"key": key})
            unit.hold(row)  # read again by `_change` if the step moves: from the session
            return self._read(row)
        async with self._sessions() as session:
            return self._read(await session.scalar(_LOAD, {"key": key}))

    @staticmethod
    def _read(row: DialogState | None) -> tuple[str | None, dict[str, Any]]:
        return (row.state, dict(row.data or {})) if row else (None, {})

    async def set_state(self, key: str, state: str | None) -> None:
        await self._write(key, state=state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        await self._write(key, data=data)

    async def _write(self, key: str, **values: Any) -> None:
        unit = current_unit()
        if unit is not None:
            if await self._change(unit.session, key, values):
                unit.wrote = True
            return
        async with self._sessions() as session, session.begin():
            await self._change(session, key, values)

    async def _change(self, session: AsyncSession, key: str, values: dict[str, Any]) -> bool:
        """Whether anything is to be written."""
        # SQLite has one writer at a time anyway; PostgreSQL workers lock the row.
        lock = session.get_bind().dialect.name != "sqlite"
        row = await session.get(DialogState, key, with_for_update=lock or None)
        state, data = (row.state, row.data) if row else (None, {})
        state = values.get("state", state)
        data = values.get("data", data)
        if state is None and not data:
            if row is None:
                return False
            await session.delete(row)
            return True
        if row is not None and (row.state, row.data) == (state, data):
            return False  # nothing changed: nothing written
        if row is None:
            row = DialogState(key=key)
            session.add(row)
        row.state, row.data, row.updated_at = state, dict(data), self._clock.now()
        return True
