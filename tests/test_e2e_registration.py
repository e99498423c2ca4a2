"""Registration end to end: the sandbox's chat, its SMTP server and mailbox, over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.config import Settings
from tests.live import Live, live_system


@pytest.fixture
async def live(settings: Settings, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Live]:
    async with live_system(settings, clock, tmp_path / "sandbox") as system:
        yield system


def has(text: str):
    return lambda messages: any(text in (m["text"] or "") for m in messages)


async def test_registration_with_the_code_from_the_sandbox_mailbox(live: Live) -> None:
    anna = live.user(901)
    await anna.send("/register")
    await anna.wait_for(has("Шаг 1 из 8"))
    await anna.share_contact("+79161234567")
    await anna.wait_for(has("Шаг 2 из 8"))
    await anna.send("anna.e2e@example.org")
    await anna.wait_for(has("6-значный код"))

    [letter] = await anna.mail("anna.e2e@example.org")
    assert letter["subject"] == "Ваш код подтверждения"
    code = re.search(r"\b\d{6}\b", letter["text"])
    assert code is not None

    await anna.send(code.group())
    await anna.wait_for(has("Почта подтверждена"))
    for answer in ("Иванова", "Анна", "Сергеевна", "15.01.1985", "Женский", "Паспорт РФ"):
        await anna.send(answer)
        await anna.replies()
    await anna.send("4506 987654")
    [consents] = [
        m for m in await anna.wait_for(has("Согласия")) if "Согласия" in (m["text"] or "")
    ]
    history = await anna.history()
    assert all(m["text"] != "4506 987654" for m in history["messages"]), "deleted from the chat"

    for title in (
        "☐ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
    ):
        await anna.tap(consents["message_id"], title)
        await anna.callback_answer_count_at_least(1)
    await anna.tap(consents["message_id"], "Продолжить ➡️")
    summary = await anna.wait_for(
        lambda ms: any(m.get("reply_markup") and "Иванова" in (m["text"] or "") for m in ms)
    )
    card = next(m for m in summary if "Иванова" in (m["text"] or ""))
    await anna.tap(card["message_id"], "✅ Подтвердить")
    await anna.wait_for(has("Регистрация завершена"))


async def test_quick_messages_of_one_person_are_handled_in_order(live: Live) -> None:
    """Updates are handled as concurrent tasks; per-user isolation keeps a dialog in order."""
    anna = live.user(902)
    await anna.send("/register")
    await anna.wait_for(has("Шаг 1 из 8"))
    await anna.share_contact("+79161234568")
    await anna.wait_for(has("Шаг 2 из 8"))
    await anna.send("anna.quick@example.org")
    [letter] = await anna.mail("anna.quick@example.org")
    code = re.search(r"\b\d{6}\b", letter["text"])
    assert code is not None
    # No waiting between the messages: each must see the state the previous one left.
    await anna.send(code.group())
    await anna.send("Иванова")
    await anna.send("Анна")
    await anna.send("Сергеевна")
    await anna.wait_for(has("дата рождения"))
    history = await anna.history()
    bot_texts = [m["text"] for m in history["messages"] if m["from"] == "bot"]
    assert not any("6 цифр" in (t or "") for t in bot_texts)
