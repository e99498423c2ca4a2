"""Every kind in «New appeal» walks its own steps to a stored appeal, answered as a person
would: the first offered button where there are buttons, a valid line or text otherwise."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.appeal_forms import FORMS, MENU_KINDS, Ask
from core.accounts.models import Account
from core.appeals.models import Appeal, AppealKind
from tests.conftest import seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_policies import add_by_number

TITLES = {
    AppealKind.CALLBACK: "Перезвоните мне",
    AppealKind.CURATOR: "Вопрос врачу-куратору",
    AppealKind.APPOINTMENT: "Запись на приём",
    AppealKind.ASSISTANCE: "Медицинская помощь",
    AppealKind.COMPLAINT: "Жалоба",
    AppealKind.THANKS: "Благодарность",
    AppealKind.DATA_CHANGE: "Изменение личных данных или данных договора",
    AppealKind.ADD_CLINIC: "Добавить клинику в программу",
    AppealKind.OTHER: "Другое",
}
ANSWERS = {
    Ask.TEXT: "Прошу помочь разобраться с ситуацией.",
    Ask.SHORT: "Москва, ул. Тверская, 12",
    Ask.PLACE: "Москва, ул. Тверская, 12",
    Ask.PHONE: "+7 916 765-43-21",
    Ask.DATE: "20.11.2026",
}


@pytest.mark.parametrize("kind", MENU_KINDS)
async def test_each_kind_asks_its_steps_and_is_stored(
    kind: AppealKind,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap(TITLES[kind])
    for step in FORMS[kind]:
        if step.ask in ANSWERS:
            await chat.send(ANSWERS[step.ask])
        elif step.ask is Ask.FILES:
            await chat.tap("Готово")
        else:
            await chat.tap(chat.inline_buttons[0])
    assert "проверьте и отправьте" in chat.text
    await chat.tap("✅ Отправить")
    assert "получено" in chat.text
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.kind == kind and appeal.number == "О-26-000001"
    expected = {s.field for s in FORMS[kind] if s.ask is not Ask.FILES}
    assert expected <= set(appeal.fields)


async def test_an_appointment_request_shows_what_was_asked_for_to_the_person_too(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    mailbox: RecordingMailer,
) -> None:
    """The clinic, the doctor, the days and the phone of an appointment request were kept for
    the desk only: the appeal's screen and the e-mail receipt said «Запись на приём» and no
    more (a walker's find)."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap(TITLES[AppealKind.APPOINTMENT])
    await chat.tap(chat.inline_buttons[0])  # the policy
    await chat.send("Клиника «Здоровье на Тверской»")
    await chat.send("Терапевт")
    await chat.send("В будни после 18")
    await chat.send("+7 916 765-43-21")
    await chat.tap("✅ Отправить")
    asked = [
        "Клиника: Клиника «Здоровье на Тверской»",
        "Специальность: Терапевт",
        "Желаемые даты: В будни после 18",
        "Телефон: +7 916 765-43-21",
    ]
    [(_to, subject, letter)] = [m for m in mailbox.letters if "О-26-000001" in m[1]]
    assert subject == "Обращение О-26-000001 получено"
    for line in asked:
        assert line in letter, letter
    assert "Полис: ONDL-500001" in letter
    await chat.tap("💬 Мои обращения")
    await chat.tap(chat.inline_buttons[0])  # the appeal just filed
    assert "Запись на приём О-26-000001" in chat.text
    for line in asked:
        assert line in chat.text, chat.text
    assert "Полис: ONDL-500001" in chat.text
    assert chat.text.count("Запись на приём") == 2, "the title, and the first message as sent"
