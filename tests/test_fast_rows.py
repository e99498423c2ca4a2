"""The reads every update makes (the user with the account and step, the person's policies, a
policy's regions) and the ledger's "done", run on SQLite and PostgreSQL without the ORM's work
per execution (core.fast_rows, issue 19): the same rows and objects as the ORM's, objects that
behave as loaded ones, writes that store what the session would, a driver's error raised and
handled as SQLAlchemy does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from core.accounts.models import Account, User
from core.accounts.users import _USER_ACCOUNT_AND_STEP, _USER_AND_ACCOUNT
from core.billing.charges import _DEBTS, debts_of_user
from core.billing.models import ServiceRegion
from core.billing.regions import _REGIONS_OF, regions_of
from core.clinics.searches import _KEEP, recall_search, remember_search
from core.clock import FrozenClock
from core.fast_rows import EntityRows, Write
from core.inbox import _DONE, ProcessedUpdate
from core.policies.cabinet import _MY_POLICIES, my_policies
from core.policies.linking import link_by_number
from tests.billing import anna
from tests.conftest import seed_demo

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def columns_of(item: Any) -> Any:
    if item is None or not hasattr(item, "__mapper__"):
        return item
    return {a.key: getattr(item, a.key) for a in inspect(type(item)).column_attrs}


async def anna_with_policies(sessions: Sessions, clock: FrozenClock) -> User:
    await seed_demo(sessions)
    async with sessions() as session:
        user = await anna(session)
        account = await session.scalar(select(Account))
        assert account is not None
        for number in ("DMS-K-2026-0001", "ONDL-500001"):
            await link_by_number(session, user, account, number, now=clock.now())
        view = (await my_policies(session, user, today=clock.now().date()))[0]
        for code in ("77", "50"):
            session.add(
                ServiceRegion(
                    insured_person_id=view.person.id,
                    region_code=code,
                    confirmed_at=clock.now(),
                    available_from=clock.now(),
                )
            )
        await session.commit()
        return user


async def test_the_short_path_gives_the_orms_rows_and_objects(
    sessions: Sessions, registered: Account, clock: FrozenClock
) -> None:
    user = await anna_with_policies(sessions, clock)
    async with sessions() as session:
        person_id = (await my_policies(session, user, today=clock.now().date()))[0].person.id
    cases: list[tuple[EntityRows, dict[str, Any]]] = [
        (_USER_AND_ACCOUNT, {"telegram_id": user.telegram_id}),
        (_USER_ACCOUNT_AND_STEP, {"telegram_id": user.telegram_id, "step_key": "no step"}),
        (_MY_POLICIES, {"user_id": user.id}),
        (_REGIONS_OF, {"person_id": person_id}),
    ]
    for rows, params in cases:
        async with sessions() as fast, sessions() as orm:
            got = await rows.all(fast, params)
            expected = (await orm.execute(rows.statement, params)).all()
            assert [[columns_of(i) for i in row] for row in got] == [
                [columns_of(i) for i in row] for row in expected
            ]
            assert got, rows.statement
            for item in (i for row in got for i in row if hasattr(i, "__mapper__")):
                assert inspect(item).persistent and item in fast
                assert not fast.is_modified(item)
    # A row added and not flushed yet is seen, as `session.execute` would flush it first.
    async with sessions() as session:
        added = ServiceRegion(
            insured_person_id=person_id,
            region_code="78",
            confirmed_at=clock.now(),
            available_from=clock.now(),
        )
        session.add(added)
        seen = [row for (row,) in await _REGIONS_OF.all(session, {"person_id": person_id})]
        assert added in seen and len(seen) == 3
        await session.rollback()
    # Two policies, the account found, no step: the outer joins' misses are None.
    async with sessions() as session:
        policies = await _MY_POLICIES.all(session, {"user_id": user.id})
        assert [link.latin_name is None for link, *_ in policies] == [True, True]
        row = await _USER_ACCOUNT_AND_STEP.first(
            session, {"telegram_id": user.telegram_id, "step_key": "no step"}
        )
        assert row[1] is not None and row[2:] == (None, None, None)


async def test_the_hot_reads_take_the_short_path(
    sessions: Sessions, registered: Account, clock: FrozenClock
) -> None:
    """The short path is planned for each hot read, on SQLite and PostgreSQL alike (were a
    statement's SQL to differ from the ORM's, it would quietly go the ORM's way, and the cost
    would come back)."""
    user = await anna_with_policies(sessions, clock)
    async with sessions() as session:
        view = (await my_policies(session, user, today=clock.now().date()))[0]
        await regions_of(session, view, now=clock.now())
        await _USER_ACCOUNT_AND_STEP.first(session, {"telegram_id": 1, "step_key": "x"})
        await _USER_AND_ACCOUNT.first(session, {"telegram_id": 1})
        await debts_of_user(session, user.id)
        search = await remember_search(session, user.id, point=(55.75, 37.61), now=NOW)
        assert (await recall_search(session, user.id, search)).latitude == 55.75  # type: ignore[union-attr]
        dialect = session.sync_session.get_bind().dialect
    for rows in (_USER_AND_ACCOUNT, _USER_ACCOUNT_AND_STEP, _MY_POLICIES, _REGIONS_OF, _DEBTS):
        assert rows._plans[dialect] is not None, rows.statement
    # The kept search's id through RETURNING, on the short path too.
    assert _KEEP._plans[dialect] is not None


async def test_objects_of_the_short_path_are_written_as_loaded_ones(
    sessions: Sessions, registered: Account
) -> None:
    user_id = registered.user_id
    async with sessions() as session:
        person = await session.get(User, user_id)
        assert person is not None
        telegram_id = {"telegram_id": person.telegram_id}
    async with sessions() as session:
        user, account = await _USER_AND_ACCOUNT.first(session, telegram_id)
        assert (user.id, account.user_id) == (user_id, user_id)
        user.language = "en"
        account.notify_news = False
        assert session.is_modified(user) and session.is_modified(account)
        # Read again in the same session: the same objects, the change kept, not overwritten.
        again, again_account = await _USER_AND_ACCOUNT.first(session, telegram_id)
        assert again is user and again_account is account and user.language == "en"
        await session.commit()
    async with sessions() as session:
        stored = await session.get(User, user_id)
        assert stored is not None and stored.language == "en"
        assert (await session.scalar(select(Account.notify_news))) is False
    # An object the session already holds, changed and not flushed: the query flushes it
    # first (as `session.execute` would) and returns that very object.
    async with sessions() as session:
        held = await session.get(User, user_id)
        assert held is not None
        held.first_name = "Анна-Мария"
        (found, _account) = await _USER_AND_ACCOUNT.first(session, telegram_id)
        assert found is held and found.first_name == "Анна-Мария"
        await session.rollback()


async def test_a_user_without_an_account_and_statements_seen_by_the_engines_listeners(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        session.add(
            User(telegram_id=77, first_name="Пётр", language="ru", created_at=NOW, last_seen_at=NOW)
        )
        await session.commit()
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    try:
        async with sessions() as session:
            user, account = await _USER_AND_ACCOUNT.first(session, {"telegram_id": 77})
            assert (user.first_name, account) == ("Пётр", None)
            assert await _USER_AND_ACCOUNT.first(session, {"telegram_id": 78}) is None
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert [sql.split("FROM")[1].split()[0] for sql in seen if "SELECT" in sql] == [
        "users",
        "users",
    ]


async def test_statements_the_short_path_cannot_take_go_the_orms_way(
    sessions: Sessions, registered: Account
) -> None:
    other = aliased(User)
    for statement in (
        select(User.id, User.telegram_id),  # ORM attributes, not columns
        select(other).where(other.id == registered.user_id),  # an aliased entity
    ):
        rows = EntityRows(statement)
        async with sessions() as session:
            got = await rows.all(session, {})
            assert [list(map(columns_of, r)) for r in got] == [
                list(map(columns_of, r)) for r in (await session.execute(statement)).all()
            ]
            assert got
            assert rows._plans[session.sync_session.get_bind().dialect] is None


async def test_the_ledgers_done_written_on_the_short_path_is_what_the_orm_reads(
    sessions: Sessions,
) -> None:
    """The SQLite ledger's "done" (core.inbox) goes through `Write`: its datetime through the
    column type's own processing, its conflict clause intact, seen by the cursor listeners."""
    if sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the in-process ledger is SQLite's")
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql.split()[0])

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    try:
        for until in (NOW, NOW + timedelta(days=2)):
            async with sessions() as session:
                await session.run_sync(_DONE.run, {"id": 42, "until": until})
                await session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert seen == ["INSERT", "INSERT"]
    async with sessions() as session:
        row = await session.get(ProcessedUpdate, 42)
        assert row is not None and (row.state, row.until) == ("done", NOW + timedelta(days=2))
    assert _DONE._plans[engine.dialect] is not None


async def telegram_id_of(sessions: Sessions, account: Account) -> int:
    async with sessions() as session:
        user = await session.get(User, account.user_id)
        assert user is not None
        return user.telegram_id


_ANOTHER_USER = Write(
    insert(User)
    .values(
        telegram_id=bindparam("telegram_id"),
        first_name="Пётр",
        language="ru",
        language_chosen=False,
        created_at=bindparam("at"),
        last_seen_at=bindparam("at"),
    )
    .returning(User.id)
)


async def test_a_drivers_error_on_the_short_path_is_sqlalchemys_own(
    sessions: Sessions, registered: Account
) -> None:
    """A broken constraint is SQLAlchemy's IntegrityError, as through `session.execute` (the
    callers that catch it keep working); the session rolls back and goes on."""
    anna = {"telegram_id": await telegram_id_of(sessions, registered)}
    async with sessions() as session:
        await session.run_sync(_ANOTHER_USER.run, {"telegram_id": 501, "at": NOW})
        with pytest.raises(IntegrityError):
            await session.run_sync(_ANOTHER_USER.run, {"telegram_id": 501, "at": NOW})
        assert _ANOTHER_USER._plans[session.sync_session.get_bind().dialect] is not None
        await session.rollback()
        user, account = await _USER_AND_ACCOUNT.first(session, anna)
        assert user.first_name == "Анна" and account.user_id == user.id
        assert await _USER_AND_ACCOUNT.first(session, {"telegram_id": 501}) is None


async def test_a_connection_lost_under_the_short_path_is_not_given_out_again(
    sessions: Sessions, registered: Account
) -> None:
    """PostgreSQL gone from under a pooled connection: the short path's read fails as
    SQLAlchemy's own would (the connection invalidated), and the next unit of work gets a
    working connection instead of the dead one."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("a server to lose is PostgreSQL's")
    anna = {"telegram_id": await telegram_id_of(sessions, registered)}
    async with sessions() as session:
        await _USER_AND_ACCOUNT.first(session, anna)  # on the pooled connection
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            await _USER_AND_ACCOUNT.first(session, anna)
        assert lost.value.connection_invalidated
    async with sessions() as session:
        user, _account = await _USER_AND_ACCOUNT.first(session, anna)
        assert user.first_name == "Анна"
        assert await session.scalar(text("SELECT pg_backend_pid()")) != pid


async def test_a_write_whose_values_sqlalchemy_completes_goes_its_way(
    sessions: Sessions,
) -> None:
    """A column default made in Python at each execution (`language_chosen`, not given here)
    is SQLAlchemy's to fill in: such a write is never planned for the short path, and stores
    what `session.execute` stores."""
    write = Write(
        insert(User).values(
            telegram_id=502, first_name="Ира", language="ru", created_at=NOW, last_seen_at=NOW
        )
    )
    async with sessions() as session:
        await session.run_sync(write.run, {})
        assert write._plans[session.sync_session.get_bind().dialect] is None
        await session.commit()
    async with sessions() as session:
        assert (
            await session.scalar(select(User.language_chosen).filter_by(telegram_id=502)) is False
        )
