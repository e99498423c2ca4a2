"""When the franchise starts (issue 16, items 1-2), driven as a person would: the program's own
start rule (seed 000: 00:00 Moscow time the next day; seed 001: 30 minutes, with 5 working days
of "call the desk first"), one instant for the message, the policy card, the clinic card and
the tick; regions only once the franchise is active, and the "active" message asking for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ClinicCallback
from bot.payments_web import PaymentNotifications
from core.accounts.models import Account
from core.billing.franchise import announce_activations
from core.billing.models import Franchise
from core.clinics.models import Clinic
from core.clock import FrozenClock
from core.policies.models import Policy
from sandbox.bank import SUCCESS_CARD
from tests.billing import bank, fill_card_page, provider
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_franchise import dp, notifications
from tests.test_dialog_policies import add_by_number
from tests.test_dialog_regions_cards import delivered

__all__ = ["bank", "dp", "notifications", "provider"]


async def activate_in_chat(chat: ChatClient, notifications: PaymentNotifications) -> None:
    """The franchise section of the policy on screen: consent, the bank's page, the notice."""
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    await chat.tap("Даю согласие на автоматические списания")
    [sent] = chat.sent("sendMessage")
    [button] = [b for row in sent.reply_markup.inline_keyboard for b in row if b.url]
    assert "Готово" in await fill_card_page(str(button.url), SUCCESS_CARD)
    await notifications.drain()


async def ids(sessions: async_sessionmaker[AsyncSession], number: str) -> tuple[int, int]:
    async with sessions() as session:
        policy_id = await session.scalar(select(Policy.id).where(Policy.number == number))
        clinic_id = await session.scalar(select(Clinic.id).where(Clinic.code == "MSK-003"))
    assert policy_id is not None and clinic_id is not None
    return policy_id, clinic_id


async def activations(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> int:
    async with sessions() as session:
        return await announce_activations(session, clock.now())


async def test_a_seed_001_program_starts_30_minutes_after_the_card_with_the_desk_first(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)  # START: Saturday 21.11.2026, 12:00 Moscow time
    await add_by_number(chat, "ONFR-600001")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    terms = chat.text
    assert "через 30 минут после привязки карты" in terms
    assert "до 5 рабочих дней" in terms and "8 800 100-00-19" in terms
    await chat.send("/policies")
    await chat.tap("ONFR-600001 · Анна")
    await activate_in_chat(chat, notifications)

    [linked] = [t for t in await delivered(sessions, bot, clock) if "привязана" in t]
    assert "по полису ONFR-600001 (Анна) действует с 21.11.2026 12:30" in linked
    # Working days after Saturday 21.11: 23, 24, 25, 26 and 27.11.
    assert "оформляют ваше прикрепление до 27.11.2026 включительно" in linked
    assert "8 800 100-00-19" in linked
    async with sessions() as session:
        franchise = await session.scalar(select(Franchise))
        assert franchise is not None
        assert franchise.active_from == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
        assert franchise.desk_first_until == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)

    policy_id, sokol = await ids(sessions, "ONFR-600001")
    card = ClinicCallback(id=sokol, policy=policy_id).pack()
    clock.advance(timedelta(minutes=29))  # 12:29: not yet, by the same instant everywhere
    await chat.callback(card)
    assert "Сейчас недоступна: программа с франшизой действует с 21.11.2026 12:30" in chat.text
    await chat.send("/policies")
    assert "франшиза действует с 21.11.2026 12:30" in chat.text
    assert await activations(sessions, clock) == 0

    clock.advance(timedelta(minutes=1))  # 12:30
    assert await activations(sessions, clock) == 1
    [active] = [t for t in await delivered(sessions, bot, clock) if "действует." in t]
    assert "Программа с франшизой по полису ONFR-600001 (Анна) действует." in active
    assert "Её клиники вам доступны" in active and "до 27.11.2026 включительно" in active
    await chat.callback(card)
    assert "✅ Вы можете обратиться в эту клинику." in chat.text
    assert "☎️ Клиники оформляют ваше прикрепление до 27.11.2026 включительно" in chat.text
    assert "сначала звоните на круглосуточный пульт, 8 800 100-00-19" in chat.text

    clock.advance(datetime(2026, 11, 27, 21, 0, tzinfo=UTC) - clock.now())  # 28.11 00:00
    await chat.callback(card)
    assert "✅ Вы можете обратиться в эту клинику." in chat.text
    assert "оформляют ваше прикрепление" not in chat.text


async def test_a_seed_000_program_starts_at_moscow_midnight_and_then_asks_for_regions(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    # 25.11 23:00 Moscow time: the waiting period of ONDL-500001 is over.
    clock.advance(datetime(2026, 11, 25, 20, 0, tzinfo=UTC) - clock.now())
    await add_by_number(chat, "ONDL-500001")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    assert "с 00:00 по московскому времени следующего дня" in chat.text
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await activate_in_chat(chat, notifications)
    [linked] = [t for t in await delivered(sessions, bot, clock) if "привязана" in t]
    assert "по полису ONDL-500001 (Анна) действует с 26.11.2026." in linked
    assert "пульт" not in linked, "a seed-000 program has no desk-first period"

    policy_id, sokol = await ids(sessions, "ONDL-500001")
    card = ClinicCallback(id=sokol, policy=policy_id).pack()
    clock.advance(timedelta(minutes=59, seconds=59))  # 25.11 23:59:59
    await chat.callback(card)
    assert "программа с франшизой действует с 26.11.2026" in chat.text
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🗺 Регионы")
    assert "когда программа с франшизой начнёт действовать: с 26.11.2026" in chat.text
    assert "➕ Выбрать регионы" not in chat.inline_buttons
    assert await activations(sessions, clock) == 0

    clock.advance(timedelta(seconds=1))  # 26.11 00:00 Moscow time
    assert await activations(sessions, clock) == 1
    [active] = [t for t in await delivered(sessions, bot, clock) if "действует." in t]
    assert "Регион обслуживания ещё не выбран" in active
    assert "клиники вам доступны" not in active
    await chat.callback(card)
    assert "программа с франшизой" not in chat.text
    assert "её регион не входит в выбранные регионы обслуживания" in chat.text
    await chat.tap("🗺 Выбрать регионы")  # the button under the "active" message
    assert "➕ Выбрать регионы" in chat.inline_buttons
