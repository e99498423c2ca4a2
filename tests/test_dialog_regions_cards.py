"""Service regions, cards, services and debts, driven as a person would in the chat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notify import telegram_send
from core.accounts.models import Account
from core.billing.charges import run_charges
from core.billing.models import Card, CardStatus, ServiceRegion
from core.billing.regions import announce_regions
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.notifications.delivery import deliver
from core.notifications.messages import Action
from sandbox.app import Sandbox
from sandbox.bank import POOR_CARD, SUCCESS_CARD
from tests.billing import RULES, bank, bills, fill_card_page, link_card, provider
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_franchise import dp, notifications
from tests.test_dialog_policies import add_by_number

__all__ = ["bank", "dp", "notifications", "provider"]


async def delivered(
    sessions: async_sessionmaker[AsyncSession], bot: Bot, clock: FrozenClock
) -> list[str]:
    """The outbox drained through the bot as in production (with the messages' buttons)."""
    texts = []
    telegram = telegram_send(bot)

    async def send(chat_id: int, text: str, actions: Sequence[Action] = ()) -> None:
        texts.append(text)
        await telegram(chat_id, text, actions)

    await deliver(sessions, send, clock.now())
    return texts


async def test_regions_are_chosen_after_activation_by_search_and_ticks_then_announced(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    assert "🗺 Регионы обслуживания: выбираются после активации программы с франшизой" in chat.text
    await chat.tap("🗺 Регионы")
    assert "Выбор регионов доступен только после активации франшизной программы" in chat.text
    assert chat.inline_buttons == [
        "✅ Активировать программу с франшизой",
        "⬅️ К полису",
        "🏠 Меню",
    ]

    await link_card(sessions, provider, clock)
    await chat.tap("⬅️ К полису")
    await chat.tap("🗺 Регионы")
    assert (
        "Регионы можно выбрать, когда программа с франшизой начнёт действовать: с 22.11.2026"
        in chat.text
    )
    assert chat.inline_buttons == ["⬅️ К полису", "🏠 Меню"]
    clock.advance(timedelta(hours=12))  # 22.11 00:00 Moscow: the franchise is active
    await chat.tap("⬅️ К полису")
    await chat.tap("🗺 Регионы")
    assert "доступны поликлиники во всех регионах России" in chat.text
    await chat.tap("➕ Выбрать регионы")
    assert chat.inline_buttons[0] == "Республика Адыгея" and "1/12" in chat.inline_buttons

    await chat.send("татар")
    assert "Поиск «татар»: найдено 1" in chat.text
    await chat.tap("Республика Татарстан")
    assert (
        "✅ Республика Татарстан" in chat.inline_buttons
        and "Подтвердить (1)" in chat.inline_buttons
    )
    await chat.send_sticker()
    assert "Отправьте текстом часть названия региона" in chat.text
    await chat.send("Атлантида")
    assert "Нет региона, подходящего под «Атлантида»" in chat.text
    await chat.send("моск")
    assert chat.inline_buttons[:2] == ["Московская область", "г. Москва"]
    await chat.tap("г. Москва")
    await chat.tap("Подтвердить (2)")
    assert "г. Москва, Республика Татарстан" in chat.text and "с 23.11.2026" in chat.text
    assert "Подтверждённые регионы удалить нельзя" in chat.text
    await chat.tap("✅ Подтвердить")
    assert "Сохранено: г. Москва, Республика Татарстан" in chat.text
    async with sessions() as session:
        codes = set((await session.scalars(select(ServiceRegion.region_code))).all())
    assert codes == {"16", "77"}

    await chat.tap("⬅️ К полису")
    assert "🗺 Регионы обслуживания: г. Москва, Республика Татарстан (с 23.11.2026)" in chat.text
    await chat.tap("🗺 Регионы")
    await chat.tap("➕ Выбрать регионы")
    await chat.send("моск")
    assert "☑️ г. Москва" in chat.inline_buttons
    await chat.tap("☑️ г. Москва")
    assert "уже подтверждён" in chat.text
    # A region where the program has no clinic: said before it is confirmed, and when it
    # opens (a walker was told the clinics of Saint Petersburg were open to her: there were none).
    await chat.send("петербург")
    await chat.tap("г. Санкт-Петербург")
    await chat.tap("Подтвердить (1)")
    assert "⚠️ У программы пока нет клиник в регионах: г. Санкт-Петербург." in chat.text
    await chat.tap("✅ Подтвердить")

    clock.advance(timedelta(days=1))
    async with sessions() as session:
        assert await announce_regions(session, clock.now()) == 1
    [text] = [t for t in await delivered(sessions, bot, clock) if "регион" in t]
    assert text.splitlines() == [
        "🗺 С сегодняшнего дня по полису ONDL-500001 (Анна) вам открыты клиники новых регионов "
        "обслуживания: г. Москва, Республика Татарстан.",
        "⚠️ У программы пока нет клиник в регионах: г. Санкт-Петербург. За помощью там "
        "звоните на круглосуточный пульт (☎️ Контакты).",
    ]


async def test_cards_are_made_primary_and_removed_but_the_last_one_stays_while_a_share_is_due(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await link_card(sessions, provider, clock, POOR_CARD)
    await link_card(sessions, provider, clock, SUCCESS_CARD, another=True)
    await bills(sessions, clock, "136.00")
    await chat.tap("💳 Франшиза и карты")
    assert "⭐ •••• 4535" in chat.inline_buttons and "💳 •••• 4477" in chat.inline_buttons
    await chat.tap("💳 •••• 4477")
    await chat.tap("⭐ Сделать основной")
    assert "Карта •••• 4477 теперь основная" in chat.text
    async with sessions() as session:
        primary = await session.scalar(select(Card.last4).where(Card.primary.is_(True)))
    assert primary == "4477"

    await chat.tap("⬅️ Франшиза и карты")
    await chat.tap("💳 •••• 4535")
    await chat.tap("🗑 Удалить карту")
    assert "Удалить карту •••• 4535?" in chat.text
    await chat.tap("🗑 Да, удалить")
    assert "Карта •••• 4535 удалена" in chat.text
    await chat.tap("⬅️ Франшиза и карты")
    assert "4535" not in chat.text
    await chat.tap("⭐ •••• 4477")
    await chat.tap("🗑 Удалить карту")
    await chat.tap("🗑 Да, удалить")
    assert "единственная карта" in chat.text and "доплата за услугу ещё не списана" in chat.text
    async with sessions() as session:
        status = await session.scalar(select(Card.status).where(Card.last4 == "4477"))
    assert status == CardStatus.ACTIVE


async def test_services_show_the_shares_and_a_debt_is_paid_on_the_banks_page(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: object,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.tap("🧾 Услуги")
    assert "По этому полису пока нет оказанных услуг" in chat.text
    await link_card(sessions, provider, clock, POOR_CARD)
    await bills(sessions, clock, "136.00", "408.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    notices = await delivered(sessions, bot, clock)
    [debts] = [text for text in notices if "Долг по соплатежам" in text]  # one run, one message
    assert "Долг по соплатежам: 544 ₽" in debts
    assert "• 136 ₽: «Повторная консультация» от 21.11.2026, полис ONDL-500001 (Анна)" in debts
    assert "• 408 ₽: «Повторная консультация»" in debts
    assert "до 04.01.2027" in debts, "the deadline: 14 days after the debt"
    await chat.tap("💸 Погасить долг")  # the button under the debt message: the cards first
    assert "С ваших карт списать не удалось: остаётся к оплате 544 ₽" in chat.text
    assert "Задолженность: 544 ₽" in chat.text
    await chat.send("/policies")
    assert "долг 544 ₽" in chat.text
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🧾 Услуги")
    assert "Услуг: 2, их стоимость 1\xa0360 ₽" in chat.text
    assert "долг 544 ₽" in chat.text and chat.text.count("⚠️ не оплачено") == 2
    assert "Повторная консультация" in chat.text and "ваша доля 136 ₽" in chat.text

    await chat.tap("⬅️ К полису")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("💸 Оплатить долг с моей карты")
    assert "не удалось списать оплату: к оплате по-прежнему 544 ₽" in chat.text
    await chat.tap("🔗 Оплатить другой картой")
    [sent] = chat.sent("sendMessage")
    button, *nav = [b for row in sent.reply_markup.inline_keyboard for b in row]
    assert [b.text for b in nav] == ["🏠 Меню"]
    assert button.text == "💸 Оплатить 544 ₽"
    await fill_card_page(str(button.url), SUCCESS_CARD)
    await notifications.drain()  # type: ignore[attr-defined]
    texts = await delivered(sessions, bot, clock)
    assert any("Долг погашен: 544 ₽" in text for text in texts), texts
    await chat.send("/policies")
    assert "долг" not in chat.text


async def test_the_region_pickers_ticks_survive_a_menu_tap(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    """Issue 15 item 1: a menu tap in the picker lost the ticks, and the old picker then said
    «Этот список устарел»."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await link_card(sessions, provider, clock)
    clock.advance(timedelta(hours=12))  # the franchise is active
    await chat.tap("🗺 Регионы")
    await chat.tap("➕ Выбрать регионы")
    await chat.send("татар")
    await chat.tap("Республика Татарстан")
    assert "Подтвердить (1)" in chat.inline_buttons

    await chat.send("☎️ Контакты")
    assert "8 800 100-00-00" in chat.text and "введённое сохранено" in chat.text
    await chat.send("📄 Документы")
    await chat.tap("Подтвердить (1)")  # the old picker, higher up
    assert "устарел" not in chat.text and "больше не действует" not in chat.text
    assert "Республика Татарстан" in chat.text
    await chat.tap("⬅️ Изменить выбор")
    assert "✅ Республика Татарстан" in chat.inline_buttons
    await chat.send("моск")  # the picker's search works again: its step is back
    await chat.tap("г. Москва")
    assert "Подтвердить (2)" in chat.inline_buttons

    await chat.send("/policies")  # the picker left again; reopened from the policy card
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🗺 Регионы")
    await chat.tap("➕ Выбрать регионы")
    assert "Отмечено: г. Москва, Республика Татарстан" in chat.text, "the ticks are kept"
    await chat.tap("Подтвердить (2)")
    await chat.tap("✅ Подтвердить")
    assert "Сохранено: г. Москва, Республика Татарстан" in chat.text
    async with sessions() as session:
        codes = set((await session.scalars(select(ServiceRegion.region_code))).all())
    assert codes == {"16", "77"}

    await chat.tap("Подтвердить (2)")  # the picker is saved and closed: now it is out of date
    assert "устарел" in chat.text


async def test_back_from_a_fixed_policys_regions_replaces_the_screen_with_the_card(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.send("/policies")
    await chat.tap("DMS-K-2026-0001 · Анна")
    await chat.tap("🗺 Регионы")
    assert "зафиксированы" in chat.text
    assert chat.inline_buttons == ["⬅️ К полису", "🏠 Меню"]
    await chat.tap("⬅️ К полису")
    assert not chat.sent("sendMessage"), "a new card was sent under the regions screen"
    [card] = chat.sent("editMessageText")
    assert "Полис № DMS-K-2026-0001" in str(card.text)  # type: ignore[attr-defined]
