"""The franchise end to end: the person in the sandbox's chat adds a policy, agrees to the
conditions, opens the bank's page from the URL button, enters the card and the 3-D Secure code;
the bank notifies the bot's web route; the scheduler delivers "card linked"; the card shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import Settings
from sandbox.bank import SUCCESS_CARD
from tests.billing import fill_card_page
from tests.conftest import register_anna
from tests.live import Live, buttons, has, live_system, tap


@pytest.fixture
async def live(settings: Settings, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Live]:
    async with live_system(settings, clock, tmp_path / "sandbox", payments=True) as system:
        yield system


async def test_a_person_activates_the_franchise_on_the_banks_page_and_sees_the_card(
    live: Live,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    await register_anna(sessions, settings, clock, 601)
    anna = live.user(601)
    await anna.send("/policies")
    await tap(anna, "➕ Добавить полис", "Как добавить полис?")
    await tap(anna, "По номеру полиса", "Номер полиса")
    await anna.send("ONDL-500001")
    await anna.wait_for(has("франшиза не активирована"))
    await tap(anna, "💳 Франшиза и карты", "Вы оплачиваете 20%")
    await tap(anna, "✅ Активировать программу с франшизой", "два SMS")
    page = await tap(anna, "Даю согласие на автоматические списания", "страницу банка")
    link, *nav = buttons(page)
    assert link["text"] == "💳 Привязать карту"
    assert [b["text"] for b in nav] == ["🏠 Меню"]

    assert "Готово" in await fill_card_page(link["url"], SUCCESS_CARD)
    await anna.wait_for(has("Карта •••• 4477 привязана"))
    await anna.send("/policies")
    await anna.wait_for(has("карта привязана, франшиза действует с 22.11.2026"))
    await tap(anna, "ONDL-500001 · Анна", "ONDL-500001")
    section = await tap(anna, "💳 Франшиза и карты", "MasterCard 5555 55•• •••• 4477")
    assert "основная" in section["text"]
    assert "⭐ •••• 4477" in [b["text"] for b in buttons(section)]


async def test_time_travel_in_the_web_chat_activates_the_franchise_the_next_day(
    live: Live,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    await register_anna(sessions, settings, clock, 602)
    anna = live.user(602)
    await anna.send("/policies")
    await tap(anna, "➕ Добавить полис", "Как добавить полис?")
    await tap(anna, "По номеру полиса", "Номер полиса")
    await anna.send("ONDL-500001")
    await anna.wait_for(has("франшиза не активирована"))
    await tap(anna, "💳 Франшиза и карты", "Вы оплачиваете 20%")
    await tap(anna, "✅ Активировать программу с франшизой", "два SMS")
    page = await tap(anna, "Даю согласие на автоматические списания", "страницу банка")
    await fill_card_page(buttons(page)[0]["url"], SUCCESS_CARD)
    await anna.wait_for(has("Карта •••• 4477 привязана"))

    async with live.http.get(f"{live.url}/sandbox/api/clock") as response:
        before = (await response.json())["now"]
    async with live.http.post(f"{live.url}/sandbox/api/clock", json={"advance": "1d"}) as response:
        moved = (await response.json())["now"]
    assert moved > before and clock.now().isoformat() == moved
    await anna.wait_for(has("Программа с франшизой по полису ONDL-500001 (Анна) действует."))
    # A regional policy: no region chosen yet, so the message asks for one, with the button.
    said = await anna.wait_for(has("Регион обслуживания ещё не выбран"))
    [active] = [m for m in said if "Регион обслуживания ещё не выбран" in (m.get("text") or "")]
    assert [b["text"] for b in buttons(active)] == ["🗺 Выбрать регионы"]
    async with live.http.post(f"{live.url}/sandbox/api/clock", json={"advance": "1y"}) as response:
        assert response.status == 400
