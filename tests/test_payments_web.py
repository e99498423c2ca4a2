"""The payment notification endpoint is bounded (issue 20, item 4): body size, one fetch per
payment within a short window, log lines cut short."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.payments_web import MAX_BODY, PaymentNotifications
from core.accounts.models import Account
from core.billing.models import Card, Payment
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from sandbox.app import Sandbox
from sandbox.bank import SUCCESS_CARD
from tests.billing import bank, fill_card_page, provider
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_franchise import dp, notifications
from tests.test_dialog_policies import add_by_number

__all__ = ["bank", "dp", "notifications", "provider"]


def url(bank: Sandbox) -> str:
    assert bank.bank.notification_url is not None
    return bank.bank.notification_url


def body(payment_id: Any) -> dict[str, Any]:
    return {"type": "notification", "event": "payment.succeeded", "object": {"id": payment_id}}


async def test_a_flood_about_one_payment_fetches_it_once_per_window(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    notifications: PaymentNotifications,
    provider: YooKassa,
    bank: Sandbox,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    await chat.tap("Согласен на автоматические списания")
    [sent] = chat.sent("sendMessage")
    button, *_nav = [b for row in sent.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert "Готово" in await fill_card_page(str(button.url), SUCCESS_CARD)
    await notifications.drain()
    async with sessions() as session:
        [payment] = (await session.scalars(select(Payment))).all()
    fetched: list[str] = []
    real_get = provider.get

    async def counting_get(payment_id: str) -> Any:
        fetched.append(payment_id)
        return await real_get(payment_id)

    monkeypatch.setattr(provider, "get", counting_get)
    async with ClientSession() as http:

        async def notify() -> int:
            async with http.post(url(bank), json=body(payment.provider_id)) as response:
                return response.status

        started = asyncio.get_running_loop().time()
        statuses = await asyncio.gather(*(notify() for _ in range(200)))
        elapsed = asyncio.get_running_loop().time() - started
    assert statuses == [200] * 200, "every notification is answered at once"
    await notifications.drain()
    assert 1 <= len(fetched) <= 2, (len(fetched), elapsed)  # at once, then one after the window
    async with sessions() as session:
        [card] = (await session.scalars(select(Card))).all()
    assert card.last4 == "4477", "the card stays linked: nothing applied twice"


async def test_malformed_ids_and_big_bodies_are_refused_and_logged_short(
    notifications: PaymentNotifications, bank: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    long_id = "x" * 5000
    caplog.set_level(logging.INFO)
    async with ClientSession() as http:
        async with http.post(url(bank), json=body(long_id)) as response:
            assert response.status == 400
        async with http.post(url(bank), json=body("a/../../etc\npasswd")) as response:
            assert response.status == 400
        async with http.post(url(bank), json=body(["not", "an", "id"])) as response:
            assert response.status == 400
        padding = "y" * (MAX_BODY + 1)
        async with http.post(url(bank), json={**body("2f1e-unknown"), "pad": padding}) as response:
            assert response.status == 413
        async with http.post(url(bank), json=body("2f1e-unknown")) as response:
            assert response.status == 200
    await notifications.drain()
    lines = [record.getMessage() for record in caplog.records]
    assert any("malformed payment id" in line and "5000 chars" in line for line in lines)
    assert any("unknown payment 2f1e-unknown" in line for line in lines)
    assert all(len(line) < 300 for line in lines), max(lines, key=len)
    assert not any(long_id in line or "\npasswd" in line for line in lines)
