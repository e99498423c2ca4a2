"""An appeal end to end: a person files a complaint in the sandbox's web chat, the appeal opens
a topic in the sandbox's operators' group, an operator answers there, and the answer reaches
the person's chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import Settings
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, register_anna
from tests.live import PATIENCE, Live, has, live_system, tap
from tests.test_dialog_cases import anna_has


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
    await tap(anna, "Жалоба", "Опишите")  # no policies: "which policy?" is not asked
    await anna.send("Врач опоздал на час и не извинился.")
    await tap(anna, "Готово", "проверьте и отправьте")
    receipt = await tap(anna, "✅ Отправить", "получено")
    assert "О-26-000001" in receipt["text"]

    card = await group_message_with(live, "Жалоба О-26-000001")
    assert "Врач опоздал на час" in card["text"]
    await live.group_post(
        OPERATORS_CHAT,
        OPERATOR_ID,
        "Приносим извинения, разберёмся с клиникой.",
        card["message_thread_id"],
    )
    answer = await anna.wait_for(has("отвечает на обращение О-26-000001"))
    assert any("Приносим извинения" in (m["text"] or "") for m in answer)


async def group_message_with(live: Live, text: str, within: float = PATIENCE) -> dict[str, Any]:
    """The newest message in the operators' group that contains `text`."""
    deadline = time.monotonic() + within
    while True:
        found = [m for m in await live.group_messages(OPERATORS_CHAT) if text in (m["text"] or "")]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"nothing with {text!r} in the group"
        await asyncio.sleep(0.1)


async def topic_becomes(live: Live, thread: int, name: str, closed: bool) -> None:
    deadline = time.monotonic() + PATIENCE
    while await live.topic(OPERATORS_CHAT, thread) != (name, closed):
        assert time.monotonic() < deadline, await live.topic(OPERATORS_CHAT, thread)
        await asyncio.sleep(0.1)


async def test_the_main_flow_filed_taken_answered_closed_rated_reopened_with_the_topic_following(
    live: Live,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    await register_anna(sessions, settings, clock, 612)
    anna = live.user(612)
    await anna.send("/appeals")
    await tap(anna, "➕ Новое обращение", "О чём обращение?")
    await tap(anna, "Другое", "Опишите")
    await anna.send("Как получить справку для бассейна?")
    await tap(anna, "Готово", "проверьте и отправьте")
    await tap(anna, "✅ Отправить", "получено")
    card = await group_message_with(live, "Другое О-26-000001")
    thread = card["message_thread_id"]
    await topic_becomes(live, thread, "🆕 О-26-000001 · Другое", closed=False)
    assert card["text"].count("Как получить справку для бассейна?") == 1

    await live.group_tap(OPERATORS_CHAT, OPERATOR_ID, card["message_id"], "🙋 Взять")
    await group_message_with(live, "Ольга взял(а) обращение")
    await topic_becomes(live, thread, "🙋 О-26-000001 · Другое", closed=False)
    await anna.wait_for(has("взято в работу"))
    await live.group_post(OPERATORS_CHAT, OPERATOR_ID, "Справку выдаст терапевт.", thread)
    await anna.wait_for(has("Справку выдаст терапевт."))
    await group_message_with(live, "✉️ Ответ доставлен человеку.")
    await topic_becomes(live, thread, "💬 О-26-000001 · Другое", closed=False)

    await live.group_tap(OPERATORS_CHAT, OPERATOR_ID, card["message_id"], "✅ Закрыть")
    await topic_becomes(live, thread, "✅ О-26-000001 · Другое", closed=True)
    closed_card = next(
        m
        for m in await live.group_messages(OPERATORS_CHAT)
        if m["message_id"] == card["message_id"]
    )
    assert not (closed_card.get("reply_markup") or {}).get("inline_keyboard")
    await tap(anna, "⭐ Оценить ответ", "Как вы оцениваете ответ на обращение О-26-000001?")
    await tap(anna, "⭐⭐⭐⭐⭐", "Спасибо за оценку")
    await group_message_with(live, "Человек оценил ответ: 5/5")
    await live.group_post(OPERATORS_CHAT, OPERATOR_ID, "/stats")
    stats = await group_message_with(live, "Оценка ответов")
    assert "Оценка ответов: 5 из 5 (1)" in stats["text"]

    await anna.send("/appeals")
    await tap(anna, "О-26-000001 · Другое · закрыто", "Статус: закрыто")
    await tap(anna, "↩️ Открыть снова с сообщением", "откроется снова")
    await anna.send("А для ребёнка тоже?")
    await anna.wait_for(has("открыто снова"))
    await topic_becomes(live, thread, "🙋 О-26-000001 · Другое", closed=False)
    await group_message_with(live, "А для ребёнка тоже?")


async def test_a_case_goes_through_every_stage_in_its_topic_and_the_person_hears_each(
    live: Live,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    await register_anna(sessions, settings, clock, 613)
    await anna_has(
        sessions,
        clock,
        policy_number="KASKO-0007",
        product="КАСКО",
        kind="kasko",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
    )
    anna = live.user(613)
    await anna.send("/policies")
    await tap(anna, "➕ Добавить полис", "Как добавить полис?")
    await tap(anna, "По номеру полиса", "Номер полиса")
    await anna.send("KASKO-0007")
    await anna.wait_for(has("Добавлено: KASKO-0007"))
    await anna.send("/appeals")
    await tap(anna, "🚨 Мои страховые случаи", "страховых случаях")
    await tap(anna, "🚨 Заявить о страховом случае", "Какой полис?")
    await tap(anna, "KASKO-0007 · Анна", "Когда это произошло?")
    await anna.send("20.11.2026")
    await anna.wait_for(has("Где это случилось"))
    await anna.send("Москва, Тверская 1")
    await anna.wait_for(has("Что произошло?"))
    await anna.send("Поцарапали дверь на парковке.")
    await anna.wait_for(has("Где можно осмотреть автомобиль"))
    await anna.send("Москва, Ленинский 10")
    await tap(anna, "Готово", "проверьте и отправьте")
    await tap(anna, "✅ Отправить", "зарегистрирован")
    card = await group_message_with(live, "Страховой случай С-26-000001")
    assert "Место осмотра: Москва, Ленинский 10" in card["text"]
    thread, group = card["message_thread_id"], OPERATORS_CHAT
    await topic_becomes(live, thread, "🆕 С-26-000001 · Страховой случай", closed=False)

    await live.group_tap(group, OPERATOR_ID, card["message_id"], "📄 Запросить документы")
    prompt = await group_message_with(live, "Ответьте на это сообщение списком документов")
    await live.group_post(
        group, OPERATOR_ID, "Фото двери при дневном свете", thread, prompt["message_id"]
    )
    await topic_becomes(live, thread, "📄 С-26-000001 · Страховой случай", closed=False)
    await anna.wait_for(has("нужны документы: Фото двери при дневном свете"))
    await live.group_tap(group, OPERATOR_ID, card["message_id"], "🔎 На рассмотрении")
    await topic_becomes(live, thread, "🔎 С-26-000001 · Страховой случай", closed=False)
    await anna.wait_for(has("на рассмотрении"))
    await live.group_tap(group, OPERATOR_ID, card["message_id"], "⛔ Отказ")
    prompt = await group_message_with(live, "Ответьте на это сообщение причиной отказа")
    await live.group_post(
        group, OPERATOR_ID, "Царапина была до начала полиса", thread, prompt["message_id"]
    )
    await topic_becomes(live, thread, "⛔ С-26-000001 · Страховой случай", closed=False)
    await anna.wait_for(has("Причина: Царапина была до начала полиса"))
    await live.group_tap(group, OPERATOR_ID, card["message_id"], "✅ Закрыть")
    await topic_becomes(live, thread, "✅ С-26-000001 · Страховой случай", closed=True)
    await anna.wait_for(has("Случай С-26-000001 закрыт"))
