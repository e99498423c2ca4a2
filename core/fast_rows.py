"""The SELECTs and writes that nearly every update runs, without the ORM's work per execution
(issue 19).

Through `session.execute`, a SELECT of whole mapped rows costs about 95 µs of Python for a
statement SQLite runs in 10 (and PostgreSQL's driver sends in a few): the ORM's execution
context, its result and the loader it builds for each execution. `EntityRows` keeps the same
statement, compiled once per dialect as plain columns, runs it on the session's own DBAPI
connection and transaction (after the autoflush a query would do, with the engine's cursor
events, so statement counts stay true, and SQLAlchemy's own handling of a driver's error: the
same exception, a dead connection invalidated), turns each value with the column type's own
result processor (chosen by the type the driver reports, as SQLAlchemy does), and makes each
row's objects as the ORM would: an object already in the session is returned as it is, a new
one enters the session as persistent, unmodified, its relationships not loaded. About 45 µs
for the user with the account, 60 µs less for a person's policies.

Used where the statement has whole entities and plain columns, single-column primary keys
and no list expanded into IN, on a driver with positional parameters that needs no
`setinputsizes` (SQLite's and asyncpg's; asyncpg's casts are in the compiled SQL); anything
else goes through `session.execute` unchanged. `Write` does the same for the writes of every
update (the ledger's "done", the dialog step, a code's events, a clinic search).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy import ColumnElement, Select, inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Entity:
    mapper: Mapper[Any]
    start: int
    keys: tuple[str, ...]  # attribute names, in the order of the entity's columns
    pk: int  # the primary key's position among them


@dataclass(slots=True)
class _Compiled:
    """A statement compiled once for the driver's positional parameters."""

    compiled: SQLCompiler
    sql: str
    binds: tuple[str, ...]  # the parameters' names, in their SQL order
    processors: tuple[Processor, ...]  # the bind types' own, for each
    returned: tuple[Any, ...] = ()  # the columns of its rows (a write's RETURNING)
    # Their types' result processors, chosen at the first execution by the type codes the
    # driver reports (PostgreSQL's NUMERIC and FLOAT need different ones, as in SQLAlchemy).
    results: tuple[Processor, ...] | None = None

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        # The statement's own fixed values (`status == "debt"`) come in with the given ones.
        values: Any = self.compiled.construct_params(dict(params))
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self.binds, self.processors, strict=True)
        )


def _compiled(statement: ClauseElement, dialect: Dialect) -> _Compiled | None:
    """`statement` for the short path, or None where it needs what only SQLAlchemy's execution
    does (a list expanded into IN, parameters by name, defaults, implicit RETURNING)."""
    if not dialect.positional or dialect.bind_typing is BindTyping.SETINPUTSIZES:
        return None
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    binds = tuple(compiled.positiontup or ())
    if any(compiled.binds[name].expanding for name in binds):
        return None
    # A column default computed in Python at each execution, or a key fetched back for
    # `inserted_primary_key` (PostgreSQL's implicit RETURNING): SQLAlchemy's execution only.
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.implicit_returning:
        return None
    processors = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in binds
    )
    returned = tuple(statement.exported_columns if isinstance(statement, UpdateBase) else ())
    return _Compiled(compiled, str(compiled), binds, processors, returned)


@dataclass(frozen=True, slots=True)
class _Plan:
    statement: _Compiled
    items: tuple[_Entity | int, ...]  # an entity, or a plain column's position


class EntityRows:
    """`statement`'s rows (tuples of entities and values, as `session.execute(...).all()` gives
    them), read cheaply on SQLite (see the module)."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Plan | None] = {}  # None: not for this path

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        dialect = session.sync_session.get_bind().dialect
        if dialect not in self._plans:
            self._plans[dialect] = _plan_of(self.statement, dialect)
        plan = self._plans[dialect]
        if plan is None:
            return list((await session.execute(self.statement, params)).all())
        return await session.run_sync(_run, plan, params)

    async def first(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        rows = await self.all(session, params)
        return rows[0] if rows else None

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        """The first row's first item, or None: `session.scalar`'s answer."""
        row = await self.first(session, params)
        return None if row is None else row[0]

    async def scalars(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """Each row's first item: `session.scalars`' answer, as a list."""
        return [row[0] for row in await self.all(session, params)]


def _plan_of(statement: Select[*tuple[Any, ...]], dialect: Dialect) -> _Plan | None:
    columns: list[Any] = []
    items: list[_Entity | int] = []
    for described in statement.column_descriptions:
        expression = described["expr"]
        if isinstance(expression, type):  # a whole entity
            mapper: Mapper[Any] = inspect(expression)
            props = list(mapper.column_attrs)
            if len(mapper.primary_key) != 1 or any(len(p.columns) != 1 for p in props):
                return None
            own: list[Any] = [p.columns[0] for p in props]
            pk = own.index(mapper.primary_key[0])
            items.append(_Entity(mapper, len(columns), tuple(p.key for p in props), pk))
            columns += own
        elif isinstance(expression, ColumnElement):
            items.append(len(columns))
            columns.append(expression)
        else:  # an aliased entity, an ORM attribute: the ORM's path
            return None
    plain = _compiled(statement.with_only_columns(*columns), dialect)
    # The same SQL as the ORM's own compilation, or the ORM's path stays.
    if plain is None or plain.sql != str(statement.compile(dialect=dialect)):
        return None
    plain.returned = tuple(columns)
    return _Plan(plain, tuple(items))


def _run(session: Session, plan: _Plan, params: Mapping[str, Any]) -> list[Any]:
    if session.autoflush:
        session.flush()  # what a query sees, as `session.execute` would
    rows = []
    for values in _execute(session.connection(), plan.statement, params):
        rows.append(tuple(_item(session, item, values) for item in plan.items))
    return rows


def _execute(
    connection: Connection, statement: _Compiled, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """`statement` on the connection's own DBAPI connection (its transaction), seen by the
    engine's cursor listeners, a driver's error handled by SQLAlchemy itself; the rows' values
    through their columns' result processors."""
    sql, arguments = statement.sql, statement.arguments(params)
    dialect = connection.dialect
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if hasattr(cursor, "_invalidate_schema_cache_asof"):  # asyncpg: as its execution context
        cursor._invalidate_schema_cache_asof = dialect._invalidate_schema_cache_asof  # type: ignore[union-attr, attr-defined]
    dispatch = connection.dispatch
    for listener in dispatch.before_cursor_execute:
        listener(connection, cursor, sql, arguments, None, False)
    try:
        cursor.execute(sql, arguments)
        fetched: Sequence[Any] = cursor.fetchall() if cursor.description else ()
        if statement.results is None and cursor.description:
            statement.results = tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, described[1])
                for c, described in zip(statement.returned, cursor.description, strict=True)
            )
    except Exception as error:
        _failed(connection, error, sql, arguments, cursor)
    finally:
        cursor.close()
    for listener in dispatch.after_cursor_execute:
        listener(connection, cursor, sql, arguments, None, False)
    processors = statement.results or ()
    return [
        tuple(v if p is None else p(v) for p, v in zip(processors, raw, strict=True))
        for raw in fetched
    ]


def _failed(
    connection: Connection, error: Exception, sql: str, arguments: tuple[Any, ...], cursor: Any
) -> NoReturn:
    """What `session.execute` does with a driver's error: the asyncpg dialect's own step (a
    statement cached before a schema change is prepared again next time), then SQLAlchemy's
    handling (the `exc` class of the error, a connection lost invalidated, the engine's
    `handle_error` events)."""
    dialect = connection.dialect
    stale = tuple(
        getattr(dialect.loaded_dbapi, name, None)
        for name in ("InvalidCachedStatementError", "InternalServerError")
    )
    if isinstance(error, tuple(kind for kind in stale if kind is not None)):
        dialect._invalidate_schema_cache()  # type: ignore[attr-defined]
    connection._handle_dbapi_exception(error, sql, arguments, cursor, None)


def _item(session: Session, item: _Entity | int, values: Sequence[Any]) -> Any:
    if isinstance(item, int):
        return values[item]
    mine = values[item.start : item.start + len(item.keys)]
    pk = mine[item.pk]
    if pk is None:  # an outer join found nothing
        return None
    key = item.mapper.identity_key_from_primary_key((pk,))
    known = session.identity_map.get(key)
    if known is not None:
        expired = inspect(known).expired_attributes
        if expired:  # the ORM's loader would fill them from the row: read them again
            session.refresh(known, attribute_names=list(expired))
        return known
    # What the ORM's loader does for a row it has not seen: the object made without its
    # constructor, its values set as loaded (nothing to flush), its identity in the session's
    # map (`make_transient_to_detached` and `session.add` do the same in 7 µs, not 2.5).
    instance = item.mapper.class_manager.new_instance()
    instance.__dict__.update(zip(item.keys, mine, strict=True))
    state = instance_state(instance)
    state.key, state.identity_token = key, None
    session.identity_map.add(state)
    state.session_id = session.hash_key
    return instance


class Write:
    """A write built once with bound parameters (the ledger's "done"), run on the session's
    connection without the session's execution machinery (about 30 µs less on SQLite); through
    `session.execute` where the short path cannot go. Called with the synchronous session (in
    `run_sync`)."""

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Compiled | None] = {}

    def run(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        """The rows its RETURNING gives, if any."""
        dialect = session.get_bind().dialect
        if dialect not in self._plans:
            self._plans[dialect] = _compiled(self.statement, dialect)
        plan = self._plans[dialect]
        if plan is None:
            result = session.execute(self.statement, params)
            return list(result.all()) if self.statement.exported_columns else []
        return _execute(session.connection(), plan, params)
