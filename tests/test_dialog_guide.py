"""The help sections: how to get care with the person's own desk number, the FAQ leading to the
right section, telemedicine, the shop, contacts with the contract's curator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_policies import add_by_number


async def test_help_sections_fill_in_the_persons_own_numbers_and_lead_to_the_sections(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.send("/help")
    assert "/appeals — мои обращения" in chat.text
    await chat.tap("🩺 Как получить помощь")
    assert (
        "Стационарная помощь" in chat.inline_buttons and "Телемедицина" not in chat.inline_buttons
    )
    await chat.tap("Вызов врача на дом")
    assert "+7 495 100-00-00" in chat.text, "the program's own desk number"
    await chat.send("/help")
    await chat.tap("❓ Вопросы и ответы")
    await chat.tap("Как добавить клинику в программу?")
    await chat.tap("➕ Добавить клинику")
    assert "Страховщик проверит, может ли клиника войти" in chat.text
    await chat.send("/cancel")
    await chat.send("/help")
    await chat.tap("📱 Телемедицина")
    [sent] = chat.sent("editMessageText")  # the help screen turns into the telemedicine one
    assert sent.reply_markup.inline_keyboard[0][0].url == "https://telemed.example.org"  # type: ignore[union-attr]
    await chat.send("/help")
    await chat.tap("🛒 Купить полис")
    assert chat.inline_buttons == [
        "ДМС",
        "Путешествия",
        "ОСАГО",
        "КАСКО",
        "Имущество",
        "⬅️ Помощь",
        "🏠 Меню",
    ]
    await chat.send("/contacts")
    assert "Врач-куратор вашего договора" in chat.text and "доктор Орлов А. П." in chat.text
