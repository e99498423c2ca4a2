"""The help sections: how to get care with the person's own desk number, the FAQ leading to the
right section, telemedicine, the shop, contacts with the contract's curator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import SCREEN_LINES, line_count
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
    assert "Врач-куратор (сложные случаи, госпитализация, программа): доктор Орлов А. П." in (
        chat.text
    )
    assert "Административный куратор (договор, документы): Ковалёва И. С." in chat.text
    assert "Врач-куратор: Врач-куратор" not in chat.text and "куратор договора:" not in chat.text


async def test_help_covers_every_contract_with_its_desk_curators_and_telemedicine(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.send("/help")
    await chat.tap("🩺 Как получить помощь")
    for line in (
        "<b>Доктор Лайк (регионы)</b>\nПолисы: ONDL-500001 (Анна)\nПульт, круглосуточно: 8 800 100-00-00",
        "<b>Корпоративный ДМС «Оптимум» (Москва)</b>\nПолисы: DMS-K-2026-0001 (Анна)\n"
        "Пульт, круглосуточно: +7 495 100-00-00",
    ):
        assert line in chat.text
    hospital = "Стационарная помощь · Корпоративный ДМС «Оптимум» (Москва)"
    assert hospital in chat.inline_buttons, "the other contract's hospital care"
    await chat.tap(hospital)
    assert "+7 495 100-00-00" in chat.text and "Оптимум" in chat.text
    await chat.tap("⬅️ Виды помощи")
    await chat.tap("Вызов врача на дом · Доктор Лайк (регионы)")
    assert "8 800 100-00-00" in chat.text

    await chat.send("/help")
    await chat.tap("📱 Телемедицина")
    assert "✅ Доктор Лайк (регионы) (ONDL-500001 (Анна)): входит в программу." in chat.text
    assert "❌ Корпоративный ДМС «Оптимум» (Москва) (DMS-K-2026-0001 (Анна)): не входит" in (
        chat.text
    )
    assert "8 800 100-00-30" in chat.text and "8 800 100-00-40" in chat.text
    assert "https://telemed.example.org" in chat.text

    await chat.send("/contacts")
    assert "<b>«Доктор Лайк (регионы)»</b> · ONDL-500001 (Анна)\nКураторы, пн–пт" in chat.text
    assert "доктор Смирнова Е. В." in chat.text and "Белова Н. А." in chat.text
    # Two contracts' curators make more than a screen: the second behind «📖 Ещё».
    assert "Оптимум" not in chat.text and line_count(chat.text) <= SCREEN_LINES
    assert chat.inline_buttons[0] == "📖 Ещё"
    await chat.tap("📖 Ещё")
    assert "<b>«Корпоративный ДМС „Оптимум“ (Москва)»</b> · DMS-K-2026-0001 (Анна)" in chat.text
    assert "доктор Орлов А. П." in chat.text and "8 800 100-00-00" in chat.text
    assert "📖 Ещё" not in chat.inline_buttons
    await chat.tap("⬅️ Назад")
    assert "<b>«Доктор Лайк (регионы)»</b>" in chat.text

    await chat.send("/policies")
    assert "<b>Доктор Лайк · ДМС</b>" in chat.text
    assert "(ДМС)" not in chat.text


async def test_policy_names_are_not_doubled(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "VZR-2026-000123")
    await chat.send("/policies")
    assert "<b>ВЗР «Путешествие»</b>" in chat.text and "(ВЗР)" not in chat.text


async def test_contacts_give_the_desk_of_a_program_with_its_own(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The franchise's messages send a person to the program's own 24/7 desk; a walker looked
    for that number in «☎️ Контакты» and found only the insurer's."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONFR-600001")
    await chat.send("☎️ Контакты")
    block = chat.text.split("\n\n")[-1].splitlines()
    assert block[:3] == [  # the desk round the clock, not under the curators' weekday hours
        "<b>«ДМС с франшизой „Пульс“ (Москва)»</b> · ONFR-600001 (Анна)",
        "Круглосуточный пульт программы: 8 800 100-00-19",
        "Кураторы, пн–пт 9:00–18:00:",
    ]
