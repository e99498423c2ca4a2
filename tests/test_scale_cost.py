"""What one update costs (issue 19): no thread hop per filter, few database round trips, no
write when nothing changed. The figures themselves come from `benchmarks/updates.py`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.accounts.models import Account
from tests.dialog import ChatClient


async def test_filters_run_without_a_thread_hop(
    chat: ChatClient, registered: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[Any] = []
    to_thread = asyncio.to_thread

    async def counted(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(function)
        return await to_thread(function, *args, **kwargs)

    await chat.send("/start")  # the first update may load what is loaded once
    monkeypatch.setattr(asyncio, "to_thread", counted)
    await chat.send("☎️ Контакты")
    assert "медицинский пульт, круглосуточно" in chat.text
    await chat.send("📋 Мои полисы")
    assert "пока нет полисов" in chat.text
    await chat.send("что-то непонятное")
    await chat.send("/help")
    assert "/menu" in chat.text
    assert hops == [], "aiogram ran a synchronous filter in a thread"
