"""Helpers for billing tests: the sandbox bank over HTTP and a person finishing its card page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession

from core.billing.yookassa import YooKassa
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from sandbox.bank import SUCCESS_CARD, THREE_DS_CODE


@pytest.fixture
async def bank() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0)) as sandbox:
        yield sandbox


@pytest.fixture
async def provider(bank: Sandbox) -> AsyncIterator[YooKassa]:
    client = YooKassa(bank.url, "sandbox-shop", "sandbox-secret")
    yield client
    await client.close()


async def fill_card_page(url: str, card: str = SUCCESS_CARD, code: str = THREE_DS_CODE) -> str:
    """What a person does on the hosted page: the card number, then the 3-D Secure code."""
    async with ClientSession() as http:
        async with http.post(url, data={"step": "card", "number": card}) as response:
            assert "3-D Secure" in await response.text()
        async with http.post(url, data={"step": "3ds", "code": code}) as response:
            return await response.text()
