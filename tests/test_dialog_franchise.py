"""The franchise section driven as a person would: conditions, consent, the bank's page with
3-D Secure, the provider's notification through the bot's web route, the chat's message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher
from aiohttp import ClientSession, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import create_dispatcher
from bot.payments_web import PaymentNotifications
from bot.web import create_web_app
from core.accounts.models import Account
from core.billing.models import Card
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.config import Settings
from core.notifications.delivery import deliver
from sandbox.app import Sandbox, free_port
from sandbox.bank import SUCCESS_CARD
from tests.billing import bank, fill_card_page, provider
from tests.conftest import seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_policies import add_by_number

__all__ = ["bank", "provider"]


@pytest.fixture
async def dp(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: RecordingMailer,
    provider: YooKassa,
) -> AsyncIterator[Dispatcher]:
    dispatcher = create_dispatcher(settings, sessions, clock, mailer=mailbox, payments=provider)
    yield dispatcher
    await dispatcher.storage.close()


@pytest.fixture
async def notifications(
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    settings: Settings,
    clock: FrozenClock,
    bank: Sandbox,
    dp: Dispatcher,
    bot: Bot,
) -> AsyncIterator[PaymentNotifications]:
    """The bot's web server on a free port, told to the sandbox bank as the notification URL."""
    receiver = PaymentNotifications(
        sessions, provider, settings.billing(), clock, networks=["127.0.0.0/8"]
    )
    runner = web.AppRunner(create_web_app(dp, bot, payments=receiver))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bank.bank.notification_url = f"http://127.0.0.1:{port}/payments/notifications"
    yield receiver
    await receiver.drain()
    await runner.cleanup()


async def test_activating_the_franchise_links_a_card_on_the_banks_page(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    assert "💳 франшиза не активирована" in chat.text
    await chat.tap("💳 Франшиза и карты")
    assert "Вы оплачиваете 20% стоимости каждой услуги" in chat.text
    await chat.tap("✅ Активировать программу с франшизой")
    assert "проверочный платёж 10 ₽" in chat.text and "два SMS" in chat.text
    await chat.tap("Даю согласие на автоматические списания")
    [sent] = chat.sent("sendMessage")
    button, *nav = [b for row in sent.reply_markup.inline_keyboard for b in row]
    assert [b.text for b in nav] == ["🏠 Меню"]
    assert button.text == "💳 Привязать карту" and "/sandbox/bank/checkout/" in str(button.url)

    assert "Готово" in await fill_card_page(str(button.url), SUCCESS_CARD)
    await notifications.drain()
    async with sessions() as session:
        [card] = (await session.scalars(select(Card))).all()
    assert card.last4 == "4477"

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        await bot.send_message(chat_id, text)

    before = len(chat.session.calls)
    assert await deliver(sessions, send, clock.now()) == 1
    [message] = chat.session.calls[before:]
    assert "Карта •••• 4477 привязана" in str(message.text)
    assert "действует с 22.11.2026" in str(message.text)
    assert await deliver(sessions, send, clock.now()) == 0, "sent once"

    await chat.send("/policies")
    assert "карта привязана, франшиза действует с 22.11.2026" in chat.text
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("💳 Франшиза и карты")
    assert "MasterCard 5555 55•• •••• 4477" in chat.text and "основная" in chat.text
    assert "➕ Привязать другую карту" in chat.inline_buttons
    # The «Activate» of the section seen before the card: no terms and consent again.
    await chat.tap("✅ Активировать программу с франшизой")
    assert chat.text.startswith("Программа с франшизой уже активирована.")
    assert "Даю согласие на автоматические списания" not in chat.inline_buttons
    assert "➕ Привязать другую карту" in chat.inline_buttons


async def test_a_notification_from_a_stranger_is_refused(
    notifications: PaymentNotifications, bank: Sandbox
) -> None:
    notifications.networks = list(["185.71.76.0/27"])
    assert bank.bank.notification_url is not None
    async with ClientSession() as http:
        forged = {"type": "notification", "event": "payment.succeeded", "object": {"id": "x"}}
        async with http.post(bank.bank.notification_url, json=forged) as response:
            assert response.status == 403
