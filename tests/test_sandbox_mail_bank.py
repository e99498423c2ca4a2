"""The sandbox's mailbox (real SMTP) and bank (the YooKassa v3 API shape, hosted card page)."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from core.mail import Mailer, SmtpConfig
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from tests.live import receiving


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AUTH = basic("sandbox-shop", "sandbox-secret")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def test_mail_sent_over_smtp_is_in_the_mailbox(sandbox: Sandbox, http: ClientSession) -> None:
    mailer = Mailer(
        SmtpConfig(host="127.0.0.1", port=sandbox.config.smtp_port, sender="cabinet@example.org")
    )
    await mailer.send("Anna@Example.org", "Код подтверждения", "Ваш код: 123456")
    await mailer.send("other@example.org", "Другое", "—")

    async with http.get(
        f"{sandbox.url}/sandbox/api/mail", params={"to": "anna@example.org"}
    ) as response:
        [letter] = (await response.json())["messages"]
    assert letter["subject"] == "Код подтверждения"
    assert "Ваш код: 123456" in letter["text"]
    assert letter["sender"] == "cabinet@example.org"


async def create_payment(
    http: ClientSession, sandbox: Sandbox, key: str, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {
        "amount": {"value": "10.00", "currency": "RUB"},
        "capture": False,
        "save_payment_method": True,
        "confirmation": {"type": "redirect", "return_url": "https://t.me/dms_cabinet_bot"},
        "description": "Привязка карты",
        **extra,
    }
    async with http.post(
        f"{sandbox.url}/v3/payments", json=body, headers={**AUTH, "Idempotence-Key": key}
    ) as response:
        return response.status, await response.json()


async def test_payment_api_checks_credentials_and_idempotence(
    sandbox: Sandbox, http: ClientSession
) -> None:
    async with http.post(
        f"{sandbox.url}/v3/payments", json={}, headers={**basic("x", "y"), "Idempotence-Key": "k"}
    ) as response:
        assert response.status == 401
        assert (await response.json())["code"] == "invalid_credentials"

    status, first = await create_payment(http, sandbox, "binding-1")
    assert status == 200 and first["status"] == "pending" and first["paid"] is False
    status, again = await create_payment(http, sandbox, "binding-1")
    assert again["id"] == first["id"], "the same key gives the same payment"
    status, clash = await create_payment(http, sandbox, "binding-1", description="other")
    assert status == 400 and clash["code"] == "invalid_request"
    status, bad = await create_payment(
        http, sandbox, "binding-2", amount={"value": "-1", "currency": "RUB"}
    )
    assert status == 400 and bad["parameter"] == "amount"


async def test_hosted_page_with_3ds_saves_the_card_and_notifies(
    sandbox: Sandbox, http: ClientSession
) -> None:
    async with receiving("/payments/notifications") as (url, received):
        sandbox.bank.notification_url = url
        _, payment = await create_payment(http, sandbox, "binding-3ds")
        page_url = payment["confirmation"]["confirmation_url"]
        async with http.get(page_url) as response:
            assert "Номер карты" in await response.text()
        async with http.post(
            page_url, data={"step": "card", "number": "5555 5555 5555 4477"}
        ) as response:
            assert "3-D Secure" in await response.text()
        async with http.post(page_url, data={"step": "3ds", "code": "000000"}) as response:
            assert "Неверный код" in await response.text()
        async with http.post(page_url, data={"step": "3ds", "code": "123456"}) as response:
            assert "Готово" in await response.text()

        _, note = await asyncio.wait_for(received.get(), timeout=5)
        assert note["event"] == "payment.waiting_for_capture"
        card = note["object"]["payment_method"]
        assert (
            card["saved"] is True
            and card["card"]["last4"] == "4477"
            and card["card"]["first6"] == "555555"
        )

        async with http.post(
            f"{sandbox.url}/v3/payments/{payment['id']}/cancel",
            json={},
            headers={**AUTH, "Idempotence-Key": "cancel-1"},
        ) as response:
            cancelled = await response.json()
        assert cancelled["status"] == "canceled"
        async with http.get(f"{sandbox.url}/v3/payments/{payment['id']}", headers=AUTH) as response:
            assert (await response.json())["status"] == "canceled"


async def test_declined_card(sandbox: Sandbox, http: ClientSession) -> None:
    _, payment = await create_payment(http, sandbox, "binding-declined")
    page_url = payment["confirmation"]["confirmation_url"]
    await http.post(page_url, data={"step": "card", "number": "5555555555554592"})
    async with http.post(page_url, data={"step": "3ds", "code": "123456"}) as response:
        assert re.search("отклонён", await response.text())
    async with http.get(f"{sandbox.url}/v3/payments/{payment['id']}", headers=AUTH) as response:
        declined = await response.json()
    assert (
        declined["status"] == "canceled"
        and declined["cancellation_details"]["reason"] == "general_decline"
    )
