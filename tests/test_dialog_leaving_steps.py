"""Leaving a step and coming back (issue 15 item 1): a menu tap or a command keeps the draft,
brings the main menu keyboard back, and the return (or the old buttons) goes on where the
person stopped. Also: «Start over» asks, a sticker at a choice step points at the buttons, the
language picker speaks the language chosen."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from aiogram import Dispatcher
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import PolicyCallback, PolicyDocumentCallback
from bot.fsm.policies import AddPolicy
from bot.fsm.registration import Registration, load_draft
from core.accounts.models import Account
from core.clinics.models import Booking, ClinicSlot
from core.clock import FrozenClock
from core.documents.compose import DocumentKind
from core.policies.models import Policy, PolicyLink
from tests.conftest import seed_demo
from tests.dialog import BOT_ID, ChatClient, RecordingMailer
from tests.test_dialog_clinics import ask_to_book, with_policies
from tests.test_dialog_policies import child_policy_left_halfway
from tests.test_dialog_registration import EMAIL, PHONE, confirm_email, register_until_consents

CONSENTS = (
    "☐ Обработка персональных данных",
    "☐ Обработка сведений о здоровье",
    "☐ Пользовательское соглашение",
)
STEP_KEYS = {"⬅️ Назад", "✖️ Отмена", "📱 Поделиться номером"}


def key_of(chat: ChatClient) -> StorageKey:
    return StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)


def state_of(dp: Dispatcher, chat: ChatClient) -> FSMContext:
    return FSMContext(storage=dp.storage, key=key_of(chat))


async def accounts(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


async def test_a_menu_tap_mid_step_brings_the_main_menu_keyboard_back(
    chat: ChatClient, dp: Dispatcher
) -> None:
    await chat.send("/register")
    assert "📱 Поделиться номером" in chat.reply_keyboard
    await chat.send("☎️ Контакты")
    assert "8 800 100-00-00" in chat.text
    assert "Регистрация приостановлена, введённое сохранено" in chat.text
    assert "📝 Регистрация" in chat.reply_keyboard and not STEP_KEYS & set(chat.reply_keyboard)

    await chat.send("/register")
    await chat.share_contact(PHONE)
    assert "✖️ Отмена" in chat.reply_keyboard
    await chat.send("/documents")
    assert "Какой документ" in chat.text
    assert "📝 Регистрация" in chat.reply_keyboard and not STEP_KEYS & set(chat.reply_keyboard)
    await chat.send("✖️ Отмена")  # a Cancel key higher up: the draft is discarded, as it says
    assert "Незаконченные черновики удалены" in chat.text
    assert await dp.storage.get_data(key_of(chat)) == {}


async def test_menu_and_start_mid_step_say_the_draft_is_kept(chat: ChatClient) -> None:
    """/menu and /start answer with the main menu themselves; mid-step they said only «Main
    menu.» (or the greeting), unlike a menu tap, and the person could not tell the draft was
    kept (found walking the web chat)."""
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send("/menu")
    assert chat.texts == [
        "Главное меню.\n\nРегистрация приостановлена, введённое сохранено. «📝 Регистрация» "
        "продолжит её."
    ]
    assert "📝 Регистрация" in chat.reply_keyboard and not STEP_KEYS & set(chat.reply_keyboard)
    await chat.send("/menu")  # no step left now: the menu alone
    assert chat.texts == ["Главное меню."]
    await chat.send("/register")
    assert "Шаг 2 из 8" in chat.text
    await chat.send("/start")
    assert len(chat.texts) == 1 and "Здравствуйте" in chat.text
    assert chat.text.endswith(
        "Регистрация приостановлена, введённое сохранено. «📝 Регистрация» продолжит её."
    )
    await chat.send("📝 Регистрация")
    assert "Шаг 2 из 8" in chat.text


async def test_text_typed_after_leaving_registration_says_where_it_waits(
    chat: ChatClient,
) -> None:
    """A code or a name typed after a menu tap mid-registration was met with «choose a section
    in the menu» alone; it now says the registration waits and how to go on (a walker's find)."""
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send("/menu")
    await chat.send("066057")
    assert chat.texts == [
        "Не удалось понять сообщение.\n"
        "Регистрация приостановлена, введённое сохранено. «📝 Регистрация» продолжит её."
    ]
    assert "📝 Регистрация" in chat.reply_keyboard
    await chat.send("📝 Регистрация")
    assert "Шаг 2 из 8" in chat.text
    await chat.send("✖️ Отмена")
    await chat.send("066057")  # no draft now: the usual answer
    assert chat.texts == ["Не удалось понять сообщение. Пожалуйста, выберите раздел в меню."]


async def test_registration_left_at_the_code_step_asks_for_the_code_again(
    chat: ChatClient, dp: Dispatcher, mailbox: RecordingMailer
) -> None:
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    code = mailbox.last_code(EMAIL)
    letters = len(mailbox.letters)
    assert await dp.storage.get_state(key_of(chat)) == Registration.email_code.state

    await chat.send("🏥 Клиники")
    assert await dp.storage.get_state(key_of(chat)) is None
    await chat.send("📝 Регистрация")
    assert "Продолжим с того места" in chat.text
    assert "Мы отправили 6-значный код на a***@example.org" in chat.text
    assert "Ваша электронная почта" not in chat.text, "not back at the e-mail step"
    assert chat.inline_buttons == ["Отправить код ещё раз", "Изменить адрес почты", "Начать заново"]
    assert chat.reply_keyboard == ["⬅️ Назад", "✖️ Отмена"], "the step's keyboard, not the menu's"
    assert await dp.storage.get_state(key_of(chat)) == Registration.email_code.state
    assert len(mailbox.letters) == letters, "the code sent is still valid: no new letter"

    await chat.send(code)
    assert "Почта подтверждена" in chat.text and "Шаг 3 из 8" in chat.text


async def test_an_expired_code_resumes_at_the_e_mail_step(
    chat: ChatClient, dp: Dispatcher, mailbox: RecordingMailer, clock: FrozenClock
) -> None:
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    await chat.send("/contacts")
    clock.advance(timedelta(minutes=11))
    await chat.send("/register")
    assert "Шаг 2 из 8" in chat.text and "Ваша электронная почта" in chat.text
    assert await dp.storage.get_state(key_of(chat)) == Registration.email.state


async def test_the_summarys_confirm_still_works_after_a_menu_tap(
    chat: ChatClient,
    dp: Dispatcher,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await register_until_consents(chat, mailbox)
    for title in CONSENTS:
        await chat.tap(title)
    await chat.tap("Продолжить ➡️")
    assert "Проверьте, пожалуйста, данные" in chat.text

    await chat.send("📄 Документы")
    assert "Какой документ" in chat.text and "📝 Регистрация" in chat.reply_keyboard
    await chat.send("📝 Регистрация")  # the return shows the summary again
    assert "Шаг 8 из 8" in chat.text and "Иванова Анна" in chat.text
    assert "✅ Подтвердить" in chat.inline_buttons

    await chat.send("☎️ Контакты")
    await chat.tap("✅ Подтвердить")  # the summary's button, after the menu tap
    assert "больше не действует" not in chat.text
    assert "Регистрация завершена" in chat.text
    assert await accounts(sessions) == 1
    assert await dp.storage.get_data(key_of(chat)) == {}

    await chat.tap("✅ Подтвердить")  # once more: the draft is gone, nothing to confirm
    assert "больше не действует" in chat.text
    assert "Шаг 1 из 8" not in chat.text
    assert await accounts(sessions) == 1


async def test_an_old_start_over_asks_and_never_drops_a_confirmed_e_mail_silently(
    chat: ChatClient, dp: Dispatcher, mailbox: RecordingMailer
) -> None:
    await confirm_email(chat, mailbox)
    await chat.send("Иванова")
    await chat.send("/contacts")
    await chat.send("/register")
    assert "Продолжим с того места" in chat.text and "Ваше имя" in chat.text
    await chat.send("🏥 Клиники")

    await chat.tap("Начать заново")  # the button of the resumed registration, higher up
    assert "Начать регистрацию заново? Введённое будет удалено" in chat.text
    assert f"почта {EMAIL} (подтверждена)" in chat.text and "Иванова" in chat.text
    draft = await load_draft(state_of(dp, chat))
    assert draft.email_confirmed and draft.surname == "Иванова", "nothing dropped yet"

    await chat.tap("Нет, продолжить")
    assert "Продолжаем" in chat.text and "Ваше имя" in chat.text
    assert await dp.storage.get_state(key_of(chat)) == Registration.first_name.state
    draft = await load_draft(state_of(dp, chat))
    assert draft.email_confirmed and draft.surname == "Иванова"

    await chat.tap("Начать заново")
    await chat.tap("Да, начать заново")
    assert "Регистрация начата заново: введённое удалено" in chat.text
    assert "Шаг 1 из 8" in chat.text
    draft = await load_draft(state_of(dp, chat))
    assert draft.email is None and draft.surname is None
    assert await dp.storage.get_state(key_of(chat)) == Registration.phone.state


async def test_a_sticker_at_a_choice_step_points_at_the_buttons(
    chat: ChatClient, mailbox: RecordingMailer, dp: Dispatcher
) -> None:
    await confirm_email(chat, mailbox)
    await chat.send("Иванова")
    await chat.send("Анна")
    await chat.tap("Нет отчества")
    await chat.send("15.01.1985")
    assert await dp.storage.get_state(key_of(chat)) == Registration.sex.state
    for send in (chat.send_sticker, lambda: chat.upload("photo.jpg", photo=True)):
        await send()
        assert "выберите кнопкой ниже" in chat.text
        assert "ответьте текстом" not in chat.text
        assert {"Женский", "Мужской"} <= set(chat.reply_keyboard), "the buttons shown again"
    await chat.tap("Женский")
    assert await dp.storage.get_state(key_of(chat)) == Registration.document_type.state
    await chat.send_sticker()
    assert "выберите кнопкой ниже" in chat.text and "Паспорт РФ" in chat.reply_keyboard


async def test_the_language_picker_speaks_the_language_chosen(chat: ChatClient) -> None:
    await chat.send("/language")
    assert "Выберите язык кабинета" in chat.text
    await chat.tap("🇬🇧 English")
    [edit] = chat.sent("editMessageText")
    assert edit.text == "Choose the language of the cabinet:"  # type: ignore[attr-defined]
    assert "✓ 🇬🇧 English" in chat.inline_buttons
    await chat.tap("🇷🇺 Русский")
    [edit] = chat.sent("editMessageText")
    assert edit.text == "Выберите язык кабинета:"  # type: ignore[attr-defined]


async def book_until_the_confirmation(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await ask_to_book(chat, "Зайцев Игорь Олегович", "пн 23.11", "09:30")
    assert "Записаться на приём?" in chat.text


async def booked(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Booking)) or 0)


async def test_a_booking_draft_is_offered_on_return(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await book_until_the_confirmation(chat, sessions)
    await chat.send("☎️ Контакты")
    await chat.send("/bookings")
    assert "Не завершена запись: Терапевт, Зайцев Игорь Олегович, 23.11.2026 в 09:30" in chat.text
    assert "✍️ Завершить запись: 23.11.2026 09:30" in chat.inline_buttons
    await chat.send("🏥 Клиники")
    assert chat.inline_buttons[0] == "✍️ Завершить запись: 23.11.2026 09:30"
    await chat.tap("✍️ Завершить запись: 23.11.2026 09:30")
    assert "Записаться на приём?" in chat.text and "09:30" in chat.text
    assert await booked(sessions) == 0, "nothing booked before «Book»"
    await chat.tap("✅ Записаться")
    assert "✅ Вы записаны" in chat.text
    assert await booked(sessions) == 1
    await chat.send("🏥 Клиники")
    assert not any(b.startswith("✍️") for b in chat.inline_buttons), "the draft is done"
    await chat.send("/bookings")
    assert "Не завершена" not in chat.text


async def test_a_booking_draft_whose_time_was_taken_is_not_offered(
    chat: ChatClient,
    dp: Dispatcher,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await book_until_the_confirmation(chat, sessions)
    await chat.send("/menu")
    async with sessions() as session:
        packed = (await dp.storage.get_data(key_of(chat)))["booking_draft"]
        taken = await session.get(ClinicSlot, int(packed.split(":")[6]))
        assert taken is not None
        taken.taken = True
        await session.commit()
    await chat.send("/bookings")
    assert "Не завершена" not in chat.text
    assert "booking_draft" not in await dp.storage.get_data(key_of(chat))


async def test_another_persons_id_in_a_button_no_longer_works_and_changes_nothing(
    chat: ChatClient,
    dp: Dispatcher,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """CONVERSATION.md §4: another person's id is answered like any stale or forged button."""
    await seed_demo(sessions)
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap(chat.inline_buttons[0])
    before = (await dp.storage.get_state(key_of(chat)), await dp.storage.get_data(key_of(chat)))
    async with sessions() as session:
        foreign = await session.scalar(select(Policy.id).where(Policy.number == "DMS-K-2026-0002"))
    assert foreign is not None
    caplog.set_level(logging.INFO)
    for data in (
        PolicyCallback(id=foreign).pack(),
        PolicyDocumentCallback(id=foreign, kind=DocumentKind.POLICY).pack(),
    ):
        await chat.callback(data)
        [answer] = chat.sent("answerCallbackQuery")
        assert answer.text == (  # type: ignore[attr-defined]
            "Эта кнопка больше не действует. Выберите раздел в меню внизу или отправьте /menu."
        )
        assert answer.show_alert is True  # type: ignore[attr-defined]
        assert "Не найдено" not in chat.text and "Петров" not in chat.text
        assert not chat.sent("sendDocument") and not chat.sent("sendMessage")
    after = (await dp.storage.get_state(key_of(chat)), await dp.storage.get_data(key_of(chat)))
    assert after == before, "nothing changed"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("not found" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


async def test_a_childs_policy_left_halfway_is_offered_on_return(
    chat: ChatClient,
    dp: Dispatcher,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await child_policy_left_halfway(chat, sessions)
    assert await dp.storage.get_state(key_of(chat)) == AddPolicy.child_first_name.state

    await chat.send("🏥 Клиники")
    assert "Черновик полиса сохранён: его продолжит «➕ Добавить полис»" in chat.text
    assert "✖️ Отмена" not in chat.reply_keyboard
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    assert chat.inline_buttons[0] == "✍️ Продолжить: полис ребёнка ONDL-500002"
    await chat.tap("✍️ Продолжить: полис ребёнка ONDL-500002")
    assert "Продолжим с того места" in chat.text and "Имя ребёнка" in chat.text
    assert await dp.storage.get_state(key_of(chat)) == AddPolicy.child_first_name.state
    await chat.send("Михаил")
    await chat.send("/documents")  # once more, after the patronymic question
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("✍️ Продолжить: полис ребёнка ONDL-500002")
    assert "Отчество ребёнка" in chat.text and "Нет отчества" in chat.reply_keyboard
    await chat.send("Андреевич")
    await chat.send("/contacts")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("✍️ Продолжить: полис ребёнка ONDL-500002")
    assert "Дата рождения ребёнка" in chat.text
    await chat.send("10.03.2016")
    assert "Добавлено" in chat.text
    async with sessions() as session:
        link = await session.scalar(select(PolicyLink).where(PolicyLink.as_child.is_(True)))
    assert link is not None
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    assert not any(b.startswith("✍️") for b in chat.inline_buttons), "the draft is done"


async def test_a_new_childs_policy_asks_before_the_one_waiting_is_discarded(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """«A child's policy» tapped while one waited began an empty form and the waiting number
    and surname were gone; leaving the empty form then said «the draft is kept» (a walker's
    finds)."""
    await child_policy_left_halfway(chat, sessions)
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    await chat.tap("Полис ребёнка")
    assert chat.text.startswith("Полис ребёнка ONDL-500002 ещё не добавлен: введённое сохранено.")
    assert chat.inline_buttons[:2] == [
        "✍️ Продолжить: полис ребёнка ONDL-500002",
        "🗑 Удалить его и начать заново",
    ]
    await chat.tap("✍️ Продолжить: полис ребёнка ONDL-500002")
    assert "Имя ребёнка" in chat.text
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    await chat.tap("Полис ребёнка")
    await chat.tap("🗑 Удалить его и начать заново")
    assert "Номер полиса ребёнка" in chat.text
    await chat.send("🏥 Клиники")  # nothing typed in the new form: nothing is said to be kept
    assert "Вы вышли из добавления полиса" in chat.text and "сохранён" not in chat.text
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    assert not any(b.startswith("✍️") for b in chat.inline_buttons)
