"""Linking rules: by number, by passport, children, guess protection, locking the profile."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.accounts.models import Account, User
from core.accounts.users import TelegramProfile, touch_user
from core.clock import FrozenClock
from core.importers.policies import import_policies
from core.policies.linking import (
    AlreadyLinked,
    ChildData,
    ChildTooOld,
    DataMismatch,
    FirstPolicyByNumber,
    LinkedElsewhere,
    NotRepresentative,
    ParentPolicyRequired,
    PolicyNotFound,
    TooManyLookups,
    link_by_number,
    link_by_passport,
    link_child,
    same_person,
)
from core.policies.models import InsuredPerson, LookupAttempt
from tests.conftest import TEST_KEY, seed_demo

MIKHAIL = ChildData("Иванов", "Михаил", "Андреевич", date(2016, 3, 10))


@pytest.fixture
async def anna(
    sessions: async_sessionmaker[AsyncSession], registered: Account
) -> tuple[User, Account]:
    await seed_demo(sessions)
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await session.get(User, account.user_id)
        assert user is not None
        return user, account


async def test_by_number_ignores_case_spaces_and_locks_the_profile(
    sessions: async_sessionmaker[AsyncSession], anna: tuple[User, Account], clock: FrozenClock
) -> None:
    user, account = anna
    async with sessions() as session:
        linked = await link_by_number(session, user, account, " ondl-500001 ", now=clock.now())
        assert linked.policy.number == "ONDL-500001" and linked.person.first_name == "Анна"
        assert account.personal_data_locked_at == clock.now()
        with pytest.raises(AlreadyLinked):
            await link_by_number(session, user, account, "ONDL-500001", now=clock.now())


def test_yo_and_case_do_not_matter() -> None:
    person = InsuredPerson(
        surname="Сидоров", first_name="Пётр", patronymic=None, birth_date=date(1990, 8, 20)
    )
    assert same_person(person, "СИДОРОВ", "петр", None, date(1990, 8, 20))
    assert not same_person(person, "Сидоров", "Пётр", "Алексеевич", date(1990, 8, 20))


async def test_refusals_never_reveal_and_guessing_stops_after_five(
    sessions: async_sessionmaker[AsyncSession], anna: tuple[User, Account], clock: FrozenClock
) -> None:
    user, account = anna
    async with sessions() as session:
        with pytest.raises(DataMismatch):  # Petrov's policy: no name is told
            await link_by_number(session, user, account, "DMS-K-2026-0002", now=clock.now())
        with pytest.raises(DataMismatch):  # an expired policy of someone else: the same answer
            await link_by_number(session, user, account, "ONDL-400001", now=clock.now())
        for number in ("X-1", "X-2", "X-3"):
            with pytest.raises(PolicyNotFound):
                await link_by_number(session, user, account, number, now=clock.now())
        with pytest.raises(TooManyLookups) as stop:
            await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        assert stop.value.retry_at == clock.now() + timedelta(hours=1)
        linked = await link_by_number(
            session, user, account, "ONDL-500001", now=stop.value.retry_at
        )
        assert linked.policy.number == "ONDL-500001"


async def test_one_cabinet_per_insured_person(
    sessions: async_sessionmaker[AsyncSession], anna: tuple[User, Account], clock: FrozenClock
) -> None:
    user, account = anna
    async with sessions() as session:
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        other = await touch_user(
            session, TelegramProfile(777, "Анна"), now=clock.now(), default_language="ru"
        )
        await session.commit()
        with pytest.raises(LinkedElsewhere):
            await link_by_number(session, other, account, "ONDL-500001", now=clock.now())


async def test_by_passport_only_after_the_first_policy(
    sessions: async_sessionmaker[AsyncSession], anna: tuple[User, Account], clock: FrozenClock
) -> None:
    user, account = anna
    async with sessions() as session:
        with pytest.raises(FirstPolicyByNumber):
            await link_by_passport(session, user, account, now=clock.now())
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        found = await link_by_passport(session, user, account, now=clock.now())
        # The travel policy names her foreign passport, not this document: not found this way.
        assert [item.policy.number for item in found] == ["DMS-K-2026-0001", "ONFR-600001"]


async def test_children(
    sessions: async_sessionmaker[AsyncSession], anna: tuple[User, Account], clock: FrozenClock
) -> None:
    user, account = anna
    async with sessions() as session:
        with pytest.raises(ParentPolicyRequired):
            await link_child(session, user, account, "ONDL-500002", MIKHAIL, now=clock.now())
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        linked = await link_child(session, user, account, "ONDL-500002", MIKHAIL, now=clock.now())
        assert linked.person.first_name == "Михаил"

        olga = ChildData("Петрова", "Ольга", "Ивановна", date(2012, 5, 5))
        with pytest.raises(NotRepresentative):
            await link_child(session, user, account, "DMS-K-2026-0003", olga, now=clock.now())
        # Someone else's child: the same refusal whether the data typed are right or not, so
        # the refusal tells a stranger nothing about the child (and it counts as a lookup).
        wrong_birth = ChildData("Петрова", "Ольга", "Ивановна", date(2012, 5, 6))
        with pytest.raises(NotRepresentative):
            await link_child(
                session, user, account, "DMS-K-2026-0003", wrong_birth, now=clock.now()
            )
        attempts = await session.scalar(select(func.count()).select_from(LookupAttempt))
        assert attempts == 2
        with pytest.raises(DataMismatch):
            await link_child(session, user, account, "ONDL-500002", olga, now=clock.now())


async def test_the_age_limit_is_the_programs(
    sessions: async_sessionmaker[AsyncSession], anna: tuple[User, Account], clock: FrozenClock
) -> None:

    user, account = anna
    teen = {
        "policy_number": "ONDL-500009",
        "product": "Доктор Лайк (детский)",
        "contract": "retail",
        "valid_from": "2026-11-10",
        "valid_to": "2027-11-09",
        "territory": "regional",
        "program_code": "DL-REG",
        "surname": "Иванова",
        "first_name": "Ева",
        "patronymic": "Андреевна",
        "birth_date": "2010-01-01",
        "representative_surname": "Иванова",
        "representative_first_name": "Анна",
        "representative_patronymic": "Сергеевна",
        "representative_birth_date": "1985-01-15",
    }
    async with sessions() as session:
        await import_policies(session, Vault(TEST_KEY.encode()), [(1, teen)], now=clock.now())
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        with pytest.raises(ChildTooOld) as too_old:  # 16 years old, retail limit 15
            await link_child(
                session,
                user,
                account,
                "ONDL-500009",
                ChildData("Иванова", "Ева", "Андреевна", date(2010, 1, 1)),
                now=clock.now(),
            )
        assert too_old.value.limit == 15
