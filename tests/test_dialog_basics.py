"""The foundation's dialogs, driven as a person would, through the real dispatcher."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import User
from tests.conftest import seed_demo
from tests.dialog import BOT_ID, ChatClient
from tests.pdf_layout import pdf_text

MENU_RU = [
    "📝 Регистрация",
    "📍 Ближайшие клиники",
    "🏥 Клиники",
    "☎️ Контакты",
    "📄 Документы",
    "🌐 Язык",
    "❓ Помощь",
]


class Sample(StatesGroup):
    step = State()


async def enter_dialog(dp: Dispatcher, chat: ChatClient, data: dict[str, str]) -> StorageKey:
    key = StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)
    await dp.storage.set_state(key, Sample.step)
    await dp.storage.set_data(key, data)
    return key


async def test_start_greets_in_russian_and_shows_the_menu(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/start")

    assert "личный кабинет застрахованного" in chat.text
    assert "Демо Страхование" in chat.text
    assert chat.reply_keyboard == MENU_RU
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_id == chat.user.id))
    assert user is not None and user.language == "ru" and user.first_name == "Анна"


async def test_english_telegram_client_gets_english(dp: Dispatcher, bot: Bot) -> None:
    chat = ChatClient(dp, bot, user_id=2002, first_name="John", language_code="en-GB")
    await chat.send("/start")
    assert "personal cabinet of the insured" in chat.text
    assert "☎️ Contacts" in chat.reply_keyboard


async def test_unknown_language_falls_back_to_russian(dp: Dispatcher, bot: Bot) -> None:
    chat = ChatClient(dp, bot, user_id=2003, language_code="de")
    await chat.send("/start")
    assert "Здравствуйте" in chat.text


async def test_language_switch_is_stored_and_survives_telegram_language(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/language")
    assert chat.inline_buttons == ["✓ 🇷🇺 Русский", "🇬🇧 English", "🏠 Меню"]

    await chat.tap("🇬🇧 English")
    assert "Language changed." in chat.text
    assert "The cabinet now speaks English." in chat.text
    assert chat.reply_keyboard[3] == "☎️ Contacts"
    [edit] = chat.sent("editMessageText")  # ticked in place, its text in the new language
    assert edit.text == "Choose the language of the cabinet:"  # type: ignore[attr-defined]
    labels = [b.text for row in edit.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert labels == ["🇷🇺 Русский", "✓ 🇬🇧 English", "🏠 Menu"]

    await chat.send("/help")  # the Telegram client still says "ru"; the choice wins
    assert "<b>Help</b>" in chat.text and "my appeals" in chat.text
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_id == chat.user.id))
    assert user is not None and user.language == "en" and user.language_chosen


async def test_menu_buttons_open_their_sections(chat: ChatClient) -> None:
    await chat.send("/start")
    await chat.tap("☎️ Контакты")
    assert "медицинский пульт" in chat.text and "8 800 100-00-00" in chat.text

    await chat.tap("❓ Помощь")
    assert "/cancel" in chat.text

    await chat.tap("📄 Документы")
    assert chat.inline_buttons == [
        "Пользовательское соглашение",
        "Политика обработки персональных данных",
        "Обработка сведений о здоровье",
        "🏠 Меню",
    ]
    await chat.tap("Пользовательское соглашение")
    [document] = chat.sent("sendDocument")
    assert document.document.filename == "user_agreement_ru.pdf"  # type: ignore[attr-defined]
    assert "ПОЛЬЗОВАТЕЛЬСКОЕ СОГЛАШЕНИЕ" in pdf_text(document.document.data)  # type: ignore[attr-defined]
    assert document.caption == "📄 Пользовательское соглашение"  # type: ignore[attr-defined]


async def test_location_lists_nearest_clinics_and_opens_a_venue(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/start")

    await chat.share_location(59.9343, 30.3351)  # Saint Petersburg, Nevsky prospect
    assert "Ближайшие к вам клиники" in chat.text
    first = chat.inline_buttons[0]
    assert first.startswith("Клиника «Невский»") and "м" in first
    assert len(chat.inline_buttons) == 5 + 3, "five clinics, Add a policy, Back and Menu"
    assert chat.inline_buttons[5] == "➕ Добавить полис", "no policy yet: the way to add one"

    await chat.tap(first)
    [venue] = chat.sent("sendVenue")
    assert venue.title == "Клиника «Невский»"  # type: ignore[attr-defined]
    assert "Невский пр-т, д. 88" in chat.text


async def test_location_far_from_everything_says_the_distance(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.share_location(64.7337, 177.5089)  # Anadyr, Chukotka
    assert "км" in chat.text
    assert "Клиника «Сибирь-Здоровье»" in chat.inline_buttons[0]


async def test_cancel_in_a_dialog_clears_it_and_outside_says_nothing_to_cancel(
    dp: Dispatcher, chat: ChatClient
) -> None:
    await chat.send("/cancel")
    assert "Отменять нечего" in chat.text

    key = await enter_dialog(dp, chat, {"surname": "Иванова"})
    await chat.send("/cancel")
    assert "Действие отменено" in chat.text
    assert chat.reply_keyboard == MENU_RU
    assert await dp.storage.get_state(key) is None
    assert await dp.storage.get_data(key) == {}


async def test_commands_work_in_any_state_and_menu_keeps_the_draft(
    dp: Dispatcher, chat: ChatClient
) -> None:
    key = await enter_dialog(dp, chat, {"surname": "Иванова"})

    await chat.send("/help")
    assert "/menu" in chat.text
    assert await dp.storage.get_state(key) == Sample.step.state, "help does not leave the dialog"

    await chat.send("просто текст")
    assert "ответьте на вопрос выше" in chat.text

    await chat.send("/menu")
    assert chat.reply_keyboard == MENU_RU
    assert await dp.storage.get_state(key) is None
    assert await dp.storage.get_data(key) == {"surname": "Иванова"}


async def test_unknown_text_stickers_and_files_get_the_menu(chat: ChatClient) -> None:
    await chat.send("что-то непонятное")
    assert "Не удалось понять" in chat.text
    assert chat.reply_keyboard == MENU_RU
    await chat.send_sticker()
    assert "Не удалось понять" in chat.text
    await chat.upload("scan.pdf")
    assert "Не удалось понять" in chat.text
    await chat.upload("selfie.jpg", photo=True)
    assert chat.reply_keyboard == MENU_RU


async def test_stale_or_forged_buttons_get_an_alert(chat: ChatClient) -> None:
    await chat.callback("no-such:button")
    [answer] = chat.sent("answerCallbackQuery")
    assert answer.show_alert is True  # type: ignore[attr-defined]
    assert "кнопка больше не действует" in chat.text


async def test_a_crafted_clinic_id_no_longer_works(chat: ChatClient) -> None:
    await chat.callback("cl:999999:0")
    [answer] = chat.sent("answerCallbackQuery")
    assert "кнопка больше не действует" in str(answer.text)  # type: ignore[attr-defined]
    assert answer.show_alert is True  # type: ignore[attr-defined]
