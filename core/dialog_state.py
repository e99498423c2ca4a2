"""Where a person is in a dialog, kept in the database so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, String, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import Clock
from core.db import Base, Deferred, UtcDateTime, current_unit
from core.fast_rows import Write


class DialogState(Base):
    __tablename__ = "dialog_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# Core statements, built once: a step is read and written on most updates, and the ORM's
# identity map and flush cost more than the statements themselves (issue 19).
_TABLE = Base.metadata.tables[DialogState.__tablename__]
_LOAD = select(_TABLE.c.state, _TABLE.c.data).where(_TABLE.c.key == bindparam("key"))
_LOCK = _LOAD.with_for_update()  # PostgreSQL: workers write a chat's step one at a time
_VALUES: dict[str, Any] = {
    "state": bindparam("b_state"),
    "data": bindparam("b_data"),
    "updated_at": bindparam("b_at"),
}
# Written with the update's final commit, in its call (core.db.UnitOfWork.defer), and on SQLite
# without the session's execution machinery (core.fast_rows.Write).
_INSERT = Write(insert(_TABLE).values(key=bindparam("b_key"), **_VALUES))
_UPDATE = Write(update(_TABLE).where(_TABLE.c.key == bindparam("b_key")).values(**_VALUES))
_DELETE = Write(delete(_TABLE).where(_TABLE.c.key == bindparam("b_key")))
_Step = tuple[str | None, dict[str, Any]]  # state, data
_ABSENT = None  # no row
_UNREAD = object()  # not read in this update yet


def read_with(key: str, found: tuple[str | None, str | None, dict[str, Any] | None]) -> None:
    """The step of `key` as a statement of the update read it beside other rows (the user's:
    core.accounts.users), `found` being its key (None: no row), state and data: the update's
    unit of work keeps it, so that the step is not queried again."""
    unit = current_unit()
    if unit is not None:
        row_key, state, data = found
        unit.known[(DialogState, key)] = (state, data or {}) if row_key is not None else _ABSENT


class DialogStateStore:
    """Key-value access used by the bot's FSM storage. Inside an update it works in the
    update's unit of work (committed once at the update's end); elsewhere each call is its
    own transaction."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def load(self, key: str) -> _Step:
        unit = current_unit()
        if unit is not None:
            known = unit.known.get((DialogState, key), _UNREAD)  # read with the user, perhaps
            if known is _UNREAD:
                known = await self._select(unit.session, key, lock=False)
                unit.known[(DialogState, key)] = known  # `_change` starts from it
            return self._read(cast(_Step | None, known))
        async with self._sessions() as session:
            return self._read(await self._select(session, key, lock=False))

    @staticmethod
    async def _select(session: AsyncSession, key: str, *, lock: bool) -> _Step | None:
        row = (await session.execute(_LOCK if lock else _LOAD, {"key": key})).first()
        return (row[0], row[1] or {}) if row is not None else _ABSENT

    @staticmethod
    def _read(row: _Step | None) -> _Step:
        return (row[0], dict(row[1])) if row is not None else (None, {})

    async def set_state(self, key: str, state: str | None) -> None:
        await self._write(key, state=state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        await self._write(key, data=data)

    async def save(self, key: str, values: dict[str, Any]) -> None:
        """The state and/or the data ("state", "data") in one statement."""
        await self._write(key, **values)

    async def _write(self, key: str, **values: Any) -> None:
        unit = current_unit()
        if unit is not None:
            # The step is saved after the handler, the last thing before the final commit: it
            # waits for that commit, in the same call (core.db.UnitOfWork.defer).
            change = await self._change(unit.session, key, values, unit.known)
            if change is not None:
                unit.defer(*change)
            return
        async with self._sessions() as session, session.begin():
            change = await self._change(session, key, values, {})
            if change is not None:
                write, parameters = change
                await session.run_sync(write, parameters)

    async def _change(
        self, session: AsyncSession, key: str, values: dict[str, Any], known: dict[Any, Any]
    ) -> tuple[Deferred, dict[str, Any]] | None:
        """The write to make, if anything changed. `known` holds what this update read of the
        row (its writes included), so that the step written after its data is not read
        again."""
        # SQLite has one writer at a time anyway; PostgreSQL workers lock the row.
        lock = session.get_bind().dialect.name != "sqlite"
        if lock or (DialogState, key) not in known:
            known[(DialogState, key)] = await self._select(session, key, lock=lock)
        row: _Step | None = known[(DialogState, key)]
        state, data = row if row is not None else (None, {})
        state = values.get("state", state)
        data = values.get("data", data)
        if state is None and not data:
            if row is None:
                return None
            known[(DialogState, key)] = _ABSENT
            return _DELETE.run, {"b_key": key}
        if row is not None and row == (state, data):
            return None  # nothing changed: nothing written
        written = {"b_key": key, "b_state": state, "b_data": dict(data), "b_at": self._clock.now()}
        known[(DialogState, key)] = (state, dict(data))
        return (_INSERT if row is None else _UPDATE).run, written
