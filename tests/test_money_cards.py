"""One card is one card (issue 16, item 3), driven as a person would: the same card linked twice
stays one card; a card linked for one policy activates another (the child's) with one tap and
no second check payment; removing the last card warns that co-payments become debts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.payments_web import PaymentNotifications
from core.accounts.models import Account
from core.billing.models import Card, Franchise, FranchiseStatus, Payment, PaymentPurpose
from core.clock import FrozenClock
from core.policies.linking import link_child
from sandbox.bank import SUCCESS_CARD
from tests.billing import anna, bank, fill_card_page, provider
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_core_linking import MIKHAIL
from tests.test_dialog_franchise import dp, notifications
from tests.test_dialog_policies import add_by_number

__all__ = ["bank", "dp", "notifications", "provider"]


async def card_page(chat: ChatClient, notifications: PaymentNotifications) -> None:
    [sent] = chat.sent("sendMessage")
    [button] = [b for row in sent.reply_markup.inline_keyboard for b in row if b.url]
    assert "Готово" in await fill_card_page(str(button.url), SUCCESS_CARD)
    await notifications.drain()


async def test_one_card_serves_every_policy_and_its_removal_is_warned(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    await chat.tap("Даю согласие на автоматические списания")
    await card_page(chat, notifications)
    # The same card again, through "Link another card": still one card, one button.
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("➕ Привязать другую карту")
    await card_page(chat, notifications)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Card)) == 1
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("💳 Франшиза и карты")
    assert [b for b in chat.inline_buttons if "4477" in b] == ["⭐ •••• 4477"]

    # The child's policy: the linked card in one tap, no second check payment.
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await anna(session)
        await link_child(session, user, account, "ONDL-500002", MIKHAIL, now=clock.now())
        bindings = await session.scalar(
            select(func.count()).where(Payment.purpose == PaymentPurpose.BINDING)
        )
    await chat.send("/policies")
    await chat.tap("ONDL-500002 · Михаил")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    assert "Даю согласие: привязать другую карту" in chat.inline_buttons
    await chat.tap("Даю согласие: списывать с карты •••• 4477")
    assert "соплатежи по полису ONDL-500002 (Михаил)" in chat.text
    assert (
        "проверочный платёж не понадобился" in chat.text and "действует с 22.11.2026" in chat.text
    )
    async with sessions() as session:
        statuses = (await session.scalars(select(Franchise.status))).all()
        assert sorted(statuses) == [FranchiseStatus.SCHEDULED, FranchiseStatus.SCHEDULED]
        assert bindings == await session.scalar(
            select(func.count()).where(Payment.purpose == PaymentPurpose.BINDING)
        ), "no second check payment"
    await chat.tap("Даю согласие: списывать с карты •••• 4477")  # an old button again
    assert "уже активирована" in chat.text

    # Removing the last card: warned that co-payments will become debts.
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("⭐ •••• 4477")
    await chat.tap("🗑 Удалить карту")
    assert "Это ваша последняя карта" in chat.text and "станет долгом" in chat.text
