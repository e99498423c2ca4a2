"""Helpers for billing tests: the sandbox bank over HTTP and a person finishing its card page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.accounts.models import Account, User
from core.billing.franchise import open_card_page, start_activation
from core.billing.models import Payment
from core.billing.reconcile import on_notification
from core.billing.rules import BillingRules
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.importers.bills import import_bills
from core.notifications.outbox import OutboxMessage
from core.policies.cabinet import PolicyView, my_policies
from core.policies.linking import link_by_number
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from sandbox.bank import EXPIRING_CARD, SUCCESS_CARD, THREE_DS_CODE
from tests.conftest import TEST_KEY, seed_demo


@pytest.fixture
async def bank() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0)) as sandbox:
        yield sandbox


@pytest.fixture
async def provider(bank: Sandbox) -> AsyncIterator[YooKassa]:
    client = YooKassa(bank.url, "sandbox-shop", "sandbox-secret")
    yield client
    await client.close()


def card_form(card: str = SUCCESS_CARD) -> dict[str, str]:
    """The card page's fields as a person fills them: the expiring test card with this month."""
    expiry = datetime.now(UTC).strftime("%m/%y") if card == EXPIRING_CARD else "12/30"
    return {"step": "card", "number": card, "expiry": expiry, "cvc": "123"}


async def fill_card_page(url: str, card: str = SUCCESS_CARD, code: str = THREE_DS_CODE) -> str:
    """What a person does on the hosted page: the card, then the 3-D Secure code."""
    async with ClientSession() as http:
        async with http.post(url, data=card_form(card)) as response:
            assert "Подтверждение 3-D Secure" in await response.text()
        async with http.post(url, data={"step": "3ds", "code": code}) as response:
            return await response.text()


RULES = BillingRules(return_url="https://t.me/dms_cabinet_bot")


async def anna(session: AsyncSession) -> User:
    account = await session.scalar(select(Account))
    assert account is not None
    user = await session.get(User, account.user_id)
    assert user is not None
    return user


async def policy(session: AsyncSession, number: str, clock: FrozenClock) -> PolicyView:
    views = await my_policies(session, await anna(session), today=clock.now().date())
    return next(v for v in views if v.policy.number == number)


@pytest.fixture
async def linked(
    sessions: async_sessionmaker[AsyncSession], registered: Account, clock: FrozenClock
) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        user = await anna(session)
        account = await session.scalar(select(Account))
        assert account is not None
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        await link_by_number(session, user, account, "DMS-K-2026-0001", now=clock.now())


async def link_card(
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    clock: FrozenClock,
    card: str = SUCCESS_CARD,
    *,
    another: bool = False,
) -> Payment:
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        user = await anna(session)
        if another:
            payment = await open_card_page(
                session, provider, user, RULES, description="x", now=clock.now()
            )
        else:
            payment = await start_activation(
                session, provider, user, view, RULES, description="x", now=clock.now()
            )
    assert payment.confirmation_url
    await fill_card_page(payment.confirmation_url, card)
    async with sessions() as session:
        assert payment.provider_id is not None
        await on_notification(session, provider, payment.provider_id, RULES, clock.now())
    return payment


async def messages(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id))
        return list(rows)


async def bills(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, *shares: str
) -> None:
    rows = [
        (
            line,
            {
                "bill_id": f"B-{line}",
                "policy_number": "ONDL-500001",
                "birth_date": "15.01.1985",
                "clinic": "ВОККДЦ",
                "service": "Повторная консультация",
                "service_date": clock.now().date().isoformat(),
                "amount": "680.00",
                "share": share,
                "diagnosis": "Ушиб грудной клетки",
            },
        )
        for line, share in enumerate(shares, start=1)
    ]
    async with sessions() as session:
        report = await import_bills(session, Vault(TEST_KEY.encode()), rows, RULES, now=clock.now())
    assert not report.errors
