"""Registration keeps its promises (issue 15 item 8): what a step says is what it does."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from babel.messages.pofile import read_po
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm.registration import Registration, load_draft
from core.accounts.models import Account
from tests.dialog import BOT_ID, ChatClient, RecordingMailer
from tests.test_dialog_registration import EMAIL, PHONE, confirm_email

LOCALES = Path(__file__).resolve().parent.parent / "locales"


def key_of(chat: ChatClient) -> StorageKey:
    return StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)


def state_of(dp: Dispatcher, chat: ChatClient) -> FSMContext:
    return FSMContext(storage=dp.storage, key=key_of(chat))


async def test_step_one_asks_to_share_the_phone_and_does_what_it_says(
    chat: ChatClient, dp: Dispatcher
) -> None:
    await chat.send("/register")
    assert "Шаг 1 из 8" in chat.text and "Поделиться номером" in chat.text
    assert "введите" not in chat.text.lower(), "typing is not offered: sharing proves the number"
    await chat.send("+7 916 123-45-67")
    assert "нажмите «Поделиться номером»" in chat.text
    assert await dp.storage.get_state(key_of(chat)) == Registration.phone.state
    await chat.send("не номер")
    assert "Поделитесь, пожалуйста, своим номером" in chat.text
    await chat.share_contact(PHONE)
    assert "Шаг 2 из 8" in chat.text


async def test_back_over_a_confirmed_email_asks_no_new_code(
    chat: ChatClient, mailbox: RecordingMailer, dp: Dispatcher
) -> None:
    await confirm_email(chat, mailbox)
    letters = len(mailbox.letters)
    assert "Шаг 3 из 8" in chat.text
    await chat.tap("⬅️ Назад")
    assert "подтверждена" in chat.text and EMAIL in chat.reply_keyboard
    await chat.tap(EMAIL)
    assert "Шаг 3 из 8" in chat.text, "straight on to the name"
    assert len(mailbox.letters) == letters, "no new code for the confirmed address"
    draft = await load_draft(state_of(dp, chat))
    assert draft.email == EMAIL and draft.email_confirmed


async def test_the_summary_is_step_8_of_8_and_editing_from_the_profile_has_no_step(
    chat: ChatClient, mailbox: RecordingMailer, registered: Account
) -> None:
    await chat.send("/profile")
    await chat.tap("✏️ Изменить данные")
    assert "Проверьте, пожалуйста, данные" in chat.text and "Шаг" not in chat.text
    await chat.tap("✏️ Изменить поле")
    await chat.tap("ФИО")
    assert "Ваша фамилия" in chat.text and "Шаг" not in chat.text


async def test_a_latin_surname_for_a_russian_passport_is_questioned(
    chat: ChatClient, mailbox: RecordingMailer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await confirm_email(chat, mailbox)
    await chat.send("Ivanova")
    await chat.send("Anna")
    await chat.tap("Нет отчества")
    await chat.send("15.01.1985")
    await chat.tap("Женский")
    await chat.tap("Паспорт РФ")
    assert "кириллицей" in chat.text and "Ваша фамилия" in chat.text
    await chat.send("Ivanova")  # Latin again, now that the passport is known to be Russian
    assert "В паспорте РФ имя записано кириллицей" in chat.text
    await chat.send("Иванова")
    await chat.send("Анна")
    await chat.tap("Нет отчества")
    assert "Серия и номер паспорта" in chat.text, "on to the number: nothing else asked again"
    await chat.send("45 06 987654")
    assert "Шаг 7 из 8" in chat.text
    for consent in (
        "☐ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
    ):
        await chat.tap(consent)
    await chat.tap("Продолжить ➡️")
    assert "Шаг 8 из 8" in chat.text and "Иванова Анна" in chat.text
    await chat.tap("✅ Подтвердить")
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None and (account.surname, account.first_name) == ("Иванова", "Анна")


async def test_english_dates_are_read_and_english_examples_have_no_russian(
    dp: Dispatcher, bot: Bot, mailbox: RecordingMailer
) -> None:
    chat = ChatClient(dp, bot, user_id=4100, first_name="John", language_code="en")
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    await chat.send(mailbox.last_code(EMAIL))
    await chat.send("Petrov")
    await chat.send("Ivan")
    await chat.tap("No patronymic")
    await chat.send("the second of July")
    assert "15 January 1985" in chat.text
    assert not re.search("[а-яё]", chat.text, re.IGNORECASE), chat.text
    await chat.send("Petrov-Иванов")
    await chat.send("July 2, 1979")
    assert "Step 5 of 8" in chat.text
    draft = await load_draft(state_of(dp, chat))
    assert draft.birth_date == date(1979, 7, 2)


def test_no_gendered_words_to_the_person_in_russian() -> None:
    with (LOCALES / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    gendered = re.compile(r"\b(Согласен|Согласна|согласен|уверен|готов|рад)\b")
    found = [m.string for m in catalog if m.id and gendered.search(str(m.string))]
    assert not found, found


async def test_a_first_name_in_another_alphabet_than_the_surname_is_refused(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    """«Petrova Мария Ивановна» went through (a walker's find): one passport writes the whole
    name in one alphabet. The surname's leads; «⬅️ Back» changes it."""
    await confirm_email(chat, mailbox)
    await chat.send("Petrova")
    await chat.send("Мария")
    assert chat.text == (
        "Пожалуйста, напишите тем же алфавитом, что и фамилию «Petrova», как в паспорте. "
        "Чтобы изменить фамилию, нажмите «⬅️ Назад»."
    )
    await chat.send("Maria")
    await chat.send("Ивановна")
    assert "тем же алфавитом" in chat.text
    await chat.send("Ivanovna")
    await chat.send("15.01.1985")
    await chat.tap("Женский")
    await chat.tap("Паспорт РФ")  # a Russian passport: the Latin name is asked again
    assert "кириллицей" in chat.text and "Ваша фамилия" in chat.text
