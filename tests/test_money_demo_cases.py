"""The sandbox demo's insurer cases (issue 16, item 14): OSAGO, KASKO and property policies come
with their cases in every stage, which appear in «My cases» of whoever links the policy, and
time travel with every tick keeps them (and the bills and slots) there."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.appeals.models import Appeal, InsurerCase
from core.billing.models import Bill
from core.clock import FrozenClock
from core.demo import refresh_demo_slots, seed_demo_data
from core.importers.insurer_cases import import_insurer_cases
from core.jobs import scheduled_ticks
from tests.billing import RULES
from tests.conftest import TEST_KEY
from tests.dialog import ChatClient
from tests.test_dialog_policies import add_by_number


async def test_the_demo_policies_bring_their_cases_in_every_stage_and_time_travel_keeps_them(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    assert await seed_demo_data(sessions, Vault(TEST_KEY.encode()), now=clock.now(), rules=RULES)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InsurerCase)) == 6
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 0

    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    assert "Вы ещё не заявляли о страховых случаях" in chat.text, "none before the policy"

    await add_by_number(chat, "OSAGO-XXX-0123456")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По паспортным данным")  # KASKO and the flat come by the passport
    assert "KASKO-2026-004567" in chat.text and "IMU-2026-000789" in chat.text

    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    listing = chat.inline_buttons
    cases = {b.split(" · ", 1)[1] for b in listing if b.startswith("С-26-")}
    assert cases == {
        "OSAGO-XXX-0123456 · получено",
        "KASKO-2026-004567 · запрошены документы",
        "IMU-2026-000789 · на рассмотрении",
        "OSAGO-XXX-0123456 · решение: выплата",
        "KASKO-2026-004567 · решение: отказ",
        "IMU-2026-000789 · закрыто",
    }
    await chat.tap(next(b for b in listing if b.endswith("решение: выплата")))
    assert "Полис: OSAGO-XXX-0123456" in chat.text and "Выплата: 48\xa0500 ₽" in chat.text
    await chat.tap("⬅️ Назад")
    await chat.tap(next(b for b in listing if b.endswith("решение: отказ")))
    assert "Причина: Ущерб (6 200 ₽) меньше безусловной франшизы" in chat.text
    await chat.tap("⬅️ Назад")
    await chat.tap(next(b for b in listing if b.endswith("запрошены документы")))
    assert "Справка из полиции" in chat.text
    assert chat.inline_buttons[0] == "📎 Загрузить документы"  # the next action leads the card
    await chat.tap("📎 Загрузить документы")
    assert "Отправьте документы по случаю С-26-" in chat.text
    await chat.send("/appeals")  # leave the upload step for the menu

    # A month of time travel with every tick: the cases, the bills and the slots stay.
    ticks = scheduled_ticks(sessions, clock, rules=RULES)
    for _month in range(2):
        clock.advance(timedelta(days=30))
        for tick, _seconds in ticks.values():
            await tick()
        assert await refresh_demo_slots(sessions, clock.now()) > 0
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Bill)) > 0
        appeals = (await session.scalars(select(Appeal))).all()
        assert len(appeals) == 6 and {a.flagged_at for a in appeals} == {None}
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    assert chat.inline_buttons == listing


async def test_a_case_imported_for_a_linked_policy_is_attached_at_once_and_only_once(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    assert await seed_demo_data(sessions, Vault(TEST_KEY.encode()), now=clock.now(), rules=RULES)
    await add_by_number(chat, "osago xxx 0123456")
    row = {
        "reference": "У-ОСАГО-000200",
        "policy_number": "OSAGO-XXX-0123456",
        "event_date": "2026-11-19",
        "filed_at": "2026-11-20T10:00:00+03:00",
        "description": "Разбито боковое зеркало.",
        "stages": [{"stage": "review", "at": "2026-11-21T10:00:00+03:00", "detail": "Осмотр."}],
    }
    bad = row | {
        "reference": "У-ОСАГО-000201",
        "stages": [{"stage": "paid", "at": "2026-11-21T10:00:00+03:00"}],
    }
    for _twice in range(2):
        async with sessions() as session:
            report = await import_insurer_cases(session, [(1, row), (2, bad)], now=clock.now())
        assert [line for line, _error in report.errors] == [2], "a payment needs its amount"
    async with sessions() as session:
        cases = (await session.scalars(select(Appeal).order_by(Appeal.id))).all()
    assert len(cases) == 3, "two demo OSAGO cases and the new one, once"
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    assert f"{cases[-1].number} · OSAGO-XXX-0123456 · на рассмотрении" in chat.inline_buttons
