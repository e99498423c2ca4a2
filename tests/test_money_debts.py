"""Shares, debts and disputes (issue 16, items 4-7 and 10), driven as a person would: the chat,
the bank's page, the provider's notifications and the scheduler's runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.payments_web import PaymentNotifications
from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.appeals.models import Appeal
from core.billing.charges import hold_payer, retry_open_debts, run_charges, suspend_overdue
from core.billing.franchise import activate_with_card
from core.billing.models import Bill, Card, Charge, Payment, PaymentPurpose
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.i18n import translator
from core.importers.bills import import_bills
from core.notifications.delivery import Courier
from core.notifications.messages import render
from core.notifications.milestones import announce_milestones
from core.notifications.outbox import OutboxMessage
from core.policies.linking import link_by_number, link_child
from sandbox.app import Sandbox
from sandbox.bank import POOR_CARD, SUCCESS_CARD
from tests.billing import RULES, anna, bank, fill_card_page, link_card, policy, provider
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, TEST_KEY, seed_demo
from tests.dialog import ChatClient
from tests.live import PATIENCE
from tests.test_core_linking import MIKHAIL
from tests.test_dialog_appeals import tap_in
from tests.test_dialog_franchise import dp, notifications
from tests.test_dialog_policies import add_by_number
from tests.test_dialog_regions_cards import delivered

__all__ = ["bank", "dp", "notifications", "provider"]


async def bill(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bill_id: str,
    service: str,
    share: str,
    *,
    number: str = "ONDL-500001",
    birth: str = "15.01.1985",
) -> None:
    row = {
        "bill_id": bill_id,
        "policy_number": number,
        "birth_date": birth,
        "clinic": "Медицинский центр «Сокол»",
        "service": service,
        "service_date": clock.now().date().isoformat(),
        "amount": "1000.00",
        "share": share,
    }
    async with sessions() as session:
        report = await import_bills(
            session, Vault(TEST_KEY.encode()), [(1, row)], RULES, now=clock.now()
        )
    assert not report.errors


async def anna_links(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, number: str
) -> None:
    """Anna (registered) adds a policy by its number, as the chat would."""
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        await link_by_number(session, await anna(session), account, number, now=clock.now())


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Bill.external_id, Charge.status).join(Charge, Charge.bill_id == Bill.id)
        )
        return dict(rows.all())


async def outbox(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return list(rows)


async def charged(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """The charge payments the bank accepted, in kopecks."""
    async with sessions() as session:
        rows = await session.scalars(
            select(Payment.amount).where(
                Payment.purpose == PaymentPurpose.CHARGE, Payment.status == "succeeded"
            )
        )
        return sorted(rows.all())


async def test_a_disputed_share_is_not_charged_then_cancelled_or_released(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ondl 500001")  # item 10: spaces, dashes and case do not matter
    assert "ONDL-500001" in chat.text
    await link_card(sessions, provider, clock, SUCCESS_CARD)
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    await bill(sessions, clock, "B", "Консультация терапевта", "136.00")
    await bill(sessions, clock, "C", "Анализ крови", "50.00")
    for service in ("Рентгенография", "Анализ крови"):  # two appeals: "not provided"
        await chat.send("/policies")
        await chat.tap("ONDL-500001 · Анна")
        await chat.tap("🧾 Услуги")
        await chat.tap(f"🔎 21.11.2026 · {service}")
        await chat.tap("🚫 Услуга не оказывалась")
        await chat.send("Этой услуги не было.")
        await chat.tap("✅ Отправить")
    assert await statuses(sessions) == {"A": "disputed", "B": "due", "C": "disputed"}
    # The service's card says the share waits for the appeal, and offers no second one.
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🧾 Услуги")
    await chat.tap("🔎 21.11.2026 · Рентгенография")
    assert "ваша доля 200 ₽, ждёт решения по обращению «услуга не оказывалась»" in chat.text
    assert "спишется" not in chat.text
    assert "🚫 Услуга не оказывалась" not in chat.inline_buttons
    # The button of a screen opened before the appeal: no second appeal about the service.
    await tap_in(chat, "Рентгенография", "🚫 Услуга не оказывалась")
    assert "Обращение о том, что эта услуга не оказывалась, уже открыто: О-" in chat.text
    await chat.tap("💬 Открыть обращение")
    assert "Этой услуги не было." in chat.text
    async with sessions() as session:
        assert len((await session.scalars(select(Appeal))).all()) == 2, "still two appeals"

    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert await statuses(sessions) == {"A": "disputed", "B": "paid", "C": "disputed"}
    assert await charged(sessions) == [13600], "the disputed shares are not charged"
    clock.advance(timedelta(days=20))  # long past any deadline: nothing owed, nothing suspended
    await run_charges(sessions, provider, RULES, clock.now())
    assert await outbox(sessions, "debts") == []

    # The desk decides each dispute in its topic: A confirmed, C rejected.
    operator = ChatClient(
        chat.dp, chat.bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT
    )
    async with sessions() as session:
        ids = dict((await session.execute(select(Bill.external_id, Bill.id))).all())
        appeals = dict((await session.execute(select(Appeal.bill_id, Appeal.id))).all())
    await operator.callback(f"dk:{appeals[ids['A']]}:close")  # a plain close is refused
    assert await statuses(sessions) == {"A": "disputed", "B": "paid", "C": "disputed"}
    await operator.callback(f"dk:{appeals[ids['A']]}:confirm")
    assert "закрыл(а) обращение: подтверждено" in operator.text
    await operator.callback(f"dk:{appeals[ids['C']]}:reject")
    assert "закрыл(а) обращение: отклонено" in operator.text
    texts = await delivered(sessions, bot, clock)
    [upheld] = [t for t in texts if "Обращение удовлетворено" in t]
    assert "200 ₽ за «Рентгенография» от 21.11.2026, полис ONDL-500001 (Анна), отменён" in upheld
    [rejected] = [t for t in texts if "отклонено" in t]
    assert "«Анализ крови»" in rejected and "50 ₽ будет списан" in rejected
    await run_charges(sessions, provider, RULES, clock.now())
    assert await statuses(sessions) == {"A": "cancelled", "B": "paid", "C": "paid"}
    assert await charged(sessions) == [5000, 13600], "the shares less the cancelled one"
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🧾 Услуги")
    await chat.tap("🔎 21.11.2026 · Рентгенография")
    assert "ваша доля 200 ₽, отменена: услуга не оказывалась" in chat.text
    texts = await delivered(sessions, bot, clock)
    assert any("С карты •••• 4477 списано 50 ₽: соплатёж за «Анализ крови»" in t for t in texts)


async def test_a_childs_share_without_a_franchise_is_announced_at_once_not_silent(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await link_card(sessions, provider, clock, SUCCESS_CARD)  # Anna's own franchise
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        await link_child(
            session, await anna(session), account, "ONDL-500002", MIKHAIL, now=clock.now()
        )
    await bill(
        sessions, clock, "K", "Осмотр педиатра", "300.00", number="ONDL-500002", birth="10.03.2016"
    )
    # Nobody linked Petrov's policy: his share waits for a payer, it never becomes a silent debt.
    await bill(
        sessions, clock, "P", "Осмотр", "100.00", number="DMS-K-2026-0002", birth="02.07.1979"
    )
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert (await statuses(sessions))["K"] == "debt", "no consent for the child: not charged"
    assert await charged(sessions) == []
    texts = await delivered(sessions, bot, clock)
    [debts] = [t for t in texts if "Долг по соплатежам" in t]
    assert "• 300 ₽: «Осмотр педиатра» от 21.11.2026, полис ONDL-500002 (Михаил)" in debts
    assert "по полису выше не активирована" in debts and "до 04.01.2027" in debts
    # Seed 000 4.1: the debt's size is on «My policies», whichever page the child's policy is
    # on, with the way to pay it (a walker found it on page 3, with no button).
    await chat.send("📋 Мои полисы")
    assert chat.text.splitlines()[:2] == ["<b>Ваши полисы</b>", "⚠️ Долг по соплатежам: 300 ₽."]
    assert chat.inline_buttons[0] == "💸 Погасить долг"
    await chat.tap("💸 Погасить долг")
    assert "Задолженность: 300 ₽" in chat.text


async def test_a_debt_is_paid_by_one_tap_by_money_put_on_the_card_and_by_a_new_card(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    bank: Sandbox,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await link_card(sessions, provider, clock, POOR_CARD)
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert (await statuses(sessions))["A"] == "debt"
    await delivered(sessions, bot, clock)

    # The debt message's «💸 Погасить долг»: the stored cards first, in that one tap.
    await top_up(bank, POOR_CARD)
    clock.advance(timedelta(hours=1))
    await chat.tap("💸 Погасить долг")
    # One message for the money, at once, with the amount, the card and what it was for: the
    # notice is not sent a second time, nor a 'charged' one (a walker got two messages).
    assert chat.text == (
        "✅ Долг погашен: 200 ₽ с карты •••• 4535.\n"
        "• 200 ₽: «Рентгенография» от 21.11.2026, полис ONDL-500001 (Анна)"
    )
    markup = chat.sent("sendMessage")[-1].reply_markup
    assert not [b for row in markup.inline_keyboard for b in row if b.url], "no bank page"
    assert (await statuses(sessions))["A"] == "paid"
    assert await delivered(sessions, bot, clock) == []

    # Money put on the card: the daily retry (from 10:00 Moscow time) clears it with no tap.
    bank.bank.funded.clear()
    await bill(sessions, clock, "B", "Консультация терапевта", "136.00")
    clock.advance(timedelta(days=30))  # 20.01.2027, 12:00 Moscow time
    await run_charges(sessions, provider, RULES, clock.now())
    assert (await statuses(sessions))["B"] == "debt"
    await top_up(bank, POOR_CARD)
    assert await retry_open_debts(sessions, provider, RULES, clock.now()) == 0, "tried today"
    clock.advance(datetime(2027, 1, 21, 6, 59, tzinfo=UTC) - clock.now())  # 09:59 Moscow
    assert await retry_open_debts(sessions, provider, RULES, clock.now()) == 0
    clock.advance(timedelta(minutes=1))
    assert await retry_open_debts(sessions, provider, RULES, clock.now()) == 1
    assert await retry_open_debts(sessions, provider, RULES, clock.now()) == 0, "once a day"
    assert (await statuses(sessions))["B"] == "paid"
    texts = await delivered(sessions, bot, clock)
    assert any("Долг погашен: 136 ₽ с карты •••• 4535" in t for t in texts), texts
    assert not any("списано" in t for t in texts)

    # Linking another card while debts are open charges them at once, one after another:
    # the first message does not say the debt is paid while the other is still owed.
    bank.bank.funded.clear()
    await bill(sessions, clock, "C", "Анализ крови", "50.00")
    await bill(sessions, clock, "D", "Анализ мочи", "30.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert {(await statuses(sessions))[b] for b in "CD"} == {"debt"}
    await link_card(sessions, provider, clock, SUCCESS_CARD, another=True)
    await notifications.drain()  # the bank's own notification of the card may be the one
    assert {(await statuses(sessions))[b] for b in "CD"} == {"paid"}
    texts = [
        t for t in await delivered(sessions, bot, clock) if "4477" in t and "долг" in t.lower()
    ]
    assert len(texts) == 2, texts
    assert "осталось погасить" in texts[0] and "Долг погашен" not in texts[0], texts
    # The last one says it is paid. On PostgreSQL the bank's notification may pay one share
    # while the retry pays the other: they are settled one after the other all the same.
    assert texts[1].startswith("✅ Долг погашен:"), texts


async def top_up(bank: Sandbox, card: str) -> None:
    """The person puts money on the card (the sandbox bank's switch)."""
    async with (
        ClientSession() as http,
        http.post(f"{bank.url}/sandbox/api/bank/settings", json={"top_up": card}) as response,
    ):
        assert response.status == 200


async def test_a_routine_debt_reminder_waits_for_the_morning_a_new_debt_does_not(
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await anna_links(sessions, clock, "ONDL-500001")
    await link_card(sessions, provider, clock, POOR_CARD)
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    courier = Courier(per_chat_interval=0)
    sent: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent.append(text)

    clock.advance(datetime(2026, 12, 21, 20, 0, tzinfo=UTC) - clock.now())  # 23:00 Moscow
    await run_charges(sessions, provider, RULES, clock.now())
    await courier.run(sessions, send, clock.now())
    assert [t for t in sent if "Долг по соплатежам: 200 ₽" in t], "a new debt comes at once"
    sent.clear()
    clock.advance(timedelta(days=3))  # 24.12, 23:00 Moscow: the first reminder is due
    async with sessions() as session:
        await announce_milestones(session, RULES, clock.now(), debt_every=timedelta(days=3))
    await courier.run(sessions, send, clock.now())
    assert not [t for t in sent if "Напоминаем" in t], "a routine reminder waits for the morning"
    clock.advance(timedelta(hours=10))  # 25.12, 09:00 Moscow
    await courier.run(sessions, send, clock.now())
    [reminder] = [t for t in sent if "Напоминаем" in t]
    assert "Напоминаем: долг по соплатежам — 200 ₽" in reminder
    assert "Последний день для оплаты — 04.01.2027" in reminder, "the deadline is a date"
    assert reminder.endswith("\nПолис: ONDL-500001 (Анна)"), "whose debt it is"

    # Past the deadline the clinics are suspended: a reminder no longer threatens a date gone
    # by (a walker read «…будут приостановлены 10.02.2027» on 11.02).
    sent.clear()
    clock.advance(datetime(2027, 1, 6, 7, 0, tzinfo=UTC) - clock.now())  # 06.01, 10:00 Moscow
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 1
        await announce_milestones(session, RULES, clock.now(), debt_every=timedelta(days=3))
    await courier.run(sessions, send, clock.now())
    [reminder] = [t for t in sent if "Напоминаем" in t]
    assert "приостановлены до погашения долга; оплата сразу возвращает доступ" in reminder
    assert "04.01.2027" not in reminder and reminder.endswith("Полис: ONDL-500001 (Анна)")


async def dispute_an_x_ray(
    chat: ChatClient,
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    """Anna, her ONDL-500001 with a card, a 200 ₽ share of an X-ray (bill "A") she files a
    «service not provided» appeal about."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await link_card(sessions, provider, clock, SUCCESS_CARD)
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🧾 Услуги")
    await chat.tap("🔎 21.11.2026 · Рентгенография")
    await chat.tap("🚫 Услуга не оказывалась")
    await chat.send("Не было.")
    await chat.tap("✅ Отправить")


async def test_a_dispute_the_person_closes_releases_the_share_with_a_message(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await dispute_an_x_ray(chat, sessions, provider, clock)
    assert await statuses(sessions) == {"A": "disputed"}
    await chat.tap("💬 Мои обращения")
    await chat.tap(next(b for b in chat.inline_buttons if "О-26-" in b))
    await chat.tap("✅ Закрыть обращение")
    await chat.tap("✅ Закрыть обращение")  # nobody answered it: closed without a rating
    assert await statuses(sessions) == {"A": "due"}
    texts = await delivered(sessions, bot, clock)
    assert any("закрыто по вашей просьбе" in t and "200 ₽ будет списан" in t for t in texts)
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert await statuses(sessions) == {"A": "paid"}


async def test_a_rejected_dispute_reopened_holds_the_share_again_and_a_confirmation_cancels_it(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await dispute_an_x_ray(chat, sessions, provider, clock)
    operator = ChatClient(
        chat.dp, chat.bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT
    )
    async with sessions() as session:
        appeal_id = await session.scalar(select(Appeal.id))
    await operator.callback(f"dk:{appeal_id}:reject")
    assert await statuses(sessions) == {"A": "due"}, "released for charging"
    await delivered(sessions, bot, clock)

    await chat.send("/appeals")
    await chat.tap(next(b for b in chat.inline_buttons if "О-26-" in b))
    await chat.tap("↩️ Открыть снова с сообщением")
    await chat.send("Не согласна: в этот день я была в другом городе.")
    assert "открыто снова" in chat.text
    assert await statuses(sessions) == {"A": "disputed"}, "held again while it is reopened"
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert await statuses(sessions) == {"A": "disputed"}
    assert await charged(sessions) == []

    await operator.callback(f"dk:{appeal_id}:confirm")
    assert "закрыл(а) обращение: подтверждено" in operator.text
    texts = await delivered(sessions, bot, clock)
    assert any("200 ₽ за «Рентгенография»" in t and "отменён" in t for t in texts), texts
    await run_charges(sessions, provider, RULES, clock.now())
    assert await statuses(sessions) == {"A": "cancelled"}
    assert await charged(sessions) == [], "nothing is taken for a service not provided"


async def test_the_shares_of_one_payer_are_settled_one_after_the_other(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """PostgreSQL: a settlement holds the payer's lock until its commit, so a second share of
    the same payer, paid at that moment, reads the first as paid (its message says whether
    anything is left); another payer's share does not wait."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: settlements are one after the other already")
    async with sessions() as first, sessions() as second, sessions() as other:
        await hold_payer(first, 7)
        waiting = asyncio.create_task(hold_payer(second, 7))
        await hold_payer(other, 8)  # another payer: at once
        await other.commit()
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the same payer waits for the first settlement's commit"
        await first.commit()
        await asyncio.wait_for(waiting, PATIENCE)
        await second.commit()


async def test_an_old_bank_page_paid_after_the_debt_was_settled_is_returned_and_said_so(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    bank: Sandbox,
    clock: FrozenClock,
) -> None:
    """A walker paid an old «Pay» page after the daily retry had cleared the debt: the bank
    took the money and the bot said «Debt paid: 0 ₽. Thank you!»."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await link_card(sessions, provider, clock, POOR_CARD)
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    await delivered(sessions, bot, clock)
    await chat.tap("💸 Погасить долг")  # the card has no money: the bank's page
    markup = chat.sent("sendMessage")[-1].reply_markup
    [page] = [b.url for row in markup.inline_keyboard for b in row if b.url]
    assert page is not None

    await top_up(bank, POOR_CARD)  # then money on the card: the daily retry clears the debt
    clock.advance(timedelta(days=1))
    assert await retry_open_debts(sessions, provider, RULES, clock.now()) == 1
    assert (await statuses(sessions))["A"] == "paid"
    await delivered(sessions, bot, clock)

    await fill_card_page(page)  # the old page, paid all the same with another card
    await notifications.drain()
    texts = await delivered(sessions, bot, clock)
    assert texts == [
        "↩️ Долг уже был погашен, когда прошла ваша оплата 200 ₽ на странице банка, поэтому "
        "деньги возвращены на карту •••• 4477."
    ]
    assert [r["amount"]["value"] for r in bank.bank.refunds.values()] == ["200.00"]
    assert (await statuses(sessions))["A"] == "paid"


async def test_a_retry_run_is_one_message_and_the_clinics_come_back_after_its_last_share(
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    """A walker's daily retry sent five messages: a share paid, "available again", the next
    share paid while "still owed", and so on. One run is one message; the shares being charged
    are owed until paid."""
    await seed_demo(sessions)
    await anna_links(sessions, clock, "ONDL-500001")
    await link_card(sessions, provider, clock, POOR_CARD)
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    await bill(sessions, clock, "B", "Анализ крови", "91.05")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    clock.advance(timedelta(days=15))
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 1
    await top_up(bank, POOR_CARD)
    clock.advance(timedelta(days=1))
    async with sessions() as session:
        before = len((await session.scalars(select(OutboxMessage))).all())
    assert await retry_open_debts(sessions, provider, RULES, clock.now()) == 2
    assert set((await statuses(sessions)).values()) == {"paid"}
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    [message] = rows[before:]
    assert render(message.kind, message.args, translator("ru"), "ru").splitlines() == [
        "✅ Долг погашен: 291,05 ₽ с карты •••• 4535.",
        "• 200 ₽: «Рентгенография» от 21.11.2026, полис ONDL-500001 (Анна)",
        "• 91,05 ₽: «Анализ крови» от 21.11.2026, полис ONDL-500001 (Анна)",
        "✅ Клиники по франшизе по полису ONDL-500001 (Анна) снова доступны.",
    ]


async def test_one_runs_suspension_of_several_policies_is_one_message_with_the_total(
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    """A walker's debts of her own policy and her son's were suspended in one run as two
    messages, each with a «Pay» button for the whole debt."""
    await seed_demo(sessions)
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await anna(session)
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        await link_child(session, user, account, "ONDL-500002", MIKHAIL, now=clock.now())
    await link_card(sessions, provider, clock, POOR_CARD)
    async with sessions() as session:
        user = await anna(session)
        son = await policy(session, "ONDL-500002", clock)
        card_id = await session.scalar(select(Card.id))
        assert card_id is not None
        await activate_with_card(session, user, son, card_id, now=clock.now())
    await bill(sessions, clock, "A", "Рентгенография", "200.00")
    await bill(
        sessions, clock, "B", "Приём педиатра", "300.00", number="ONDL-500002", birth="10.03.2016"
    )
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert set((await statuses(sessions)).values()) == {"debt"}
    clock.advance(timedelta(days=15))
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 2
    [message] = await outbox(sessions, "franchise_suspended")
    text = render(message.kind, message.args, translator("ru"), "ru")
    assert text.splitlines() == [
        "⛔ Клиники по франшизе приостановлены из-за неоплаченного долга 500 ₽:",
        "• полис ONDL-500001 (Анна): 200 ₽",
        "• полис ONDL-500002 (Михаил): 300 ₽",
        "Оплата долга сразу возвращает доступ.",
    ]


async def test_one_file_of_new_services_is_one_message_with_a_button_per_policy(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """A walker got «Новые услуги» three times at once, once per policy, with no button."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        await link_child(
            session, await anna(session), account, "ONDL-500002", MIKHAIL, now=clock.now()
        )
    rows = [
        (n, {
            "bill_id": f"F-{n}", "policy_number": number, "birth_date": birth,
            "clinic": "Медицинский центр «Сокол»", "service": service,
            "service_date": clock.now().date().isoformat(), "amount": "1000.00", "share": "0.00",
        })
        for n, (number, birth, service) in enumerate(
            [("ONDL-500001", "15.01.1985", "Рентгенография"),
             ("ONDL-500002", "10.03.2016", "Приём педиатра")], start=1
        )
    ]  # fmt: skip
    async with sessions() as session:
        report = await import_bills(session, Vault(TEST_KEY.encode()), rows, RULES, now=clock.now())
    assert not report.errors
    [text] = [t for t in await delivered(sessions, bot, clock) if "Новые услуги" in t]
    assert text == (
        "🧾 Новые услуги по полисам ONDL-500001 (Анна), ONDL-500002 (Михаил): смотрите "
        "«Услуги» ниже."
    )
    [call] = [c for c in chat.session.calls if "Новые услуги" in str(getattr(c, "text", ""))]
    markup = getattr(call, "reply_markup", None)
    assert [b.text for row in markup.inline_keyboard for b in row] == [
        "🧾 Услуги · ONDL-500001",
        "🧾 Услуги · ONDL-500002",
    ]
    await chat.tap("🧾 Услуги · ONDL-500002")
    assert "Оказанные услуги · полис ONDL-500002" in chat.text and "Приём педиатра" in chat.text
