"""An appeal end to end: a person files a complaint in the sandbox's web chat, the appeal opens
a topic in the sandbox's operators' group, an operator answers there, and the answer reaches
the person's chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import Settings
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, register_anna
from tests.live import Live, has, live_system, tap


@pytest.fixture
async def live(settings: Settings, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Live]:
    async with live_system(settings, clock, tmp_path / "sandbox") as system:
        yield system


async def test_a_complaint_is_answered_by_an_operator_in_the_group_topic(
    live: Live,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    await register_anna(sessions, settings, clock, 611)
    anna = live.user(611)
    await anna.send("/appeals")
    await tap(anna, "➕ Новое обращение", "О чём обращение?")
    await tap(anna, "Жалоба", "К какому полису")
    await tap(anna, "Не по полису", "Опишите")
    await anna.send("Врач опоздал на час и не извинился.")
    await tap(anna, "Готово", "проверьте и отправьте")
    receipt = await tap(anna, "✅ Отправить", "получено")
    assert "О-26-000001" in receipt["text"]

    deadline = time.monotonic() + 10
    while True:
        messages = await live.group_messages(OPERATORS_CHAT)
        cards = [m for m in messages if "Жалоба О-26-000001" in (m.get("text") or "")]
        if cards or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    [card] = cards
    assert "Врач опоздал на час" in card["text"]
    await live.group_post(
        OPERATORS_CHAT,
        OPERATOR_ID,
        "Приносим извинения, разберёмся с клиникой.",
        card["message_thread_id"],
    )
    answer = await anna.wait_for(has("Ответ на ваше обращение О-26-000001"), within=15)
    assert any("Приносим извинения" in (m["text"] or "") for m in answer)
