"""Registration driven as a person would: every step, every refusal, both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account, Consent, User
from core.accounts.registration import KEPT_WITH_THE_TELEGRAM_USER, MOVED_WITH_THE_ACCOUNT
from core.clock import FrozenClock
from core.db import Base
from core.policies.models import PolicyLink
from tests.dialog import BOT_ID, ChatClient, RecordingMailer
from tests.test_dialog_clinics import with_policies

PHONE = "+79161234567"
EMAIL = "anna.ivanova@example.org"


async def confirm_email(chat: ChatClient, mailbox: RecordingMailer) -> None:
    """Steps 1 and 2: the phone by contact and the e-mail with its code."""
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    await chat.send(mailbox.last_code(EMAIL))


async def register_until_consents(chat: ChatClient, mailbox: RecordingMailer) -> None:
    await chat.send("/start")
    await chat.tap("📝 Регистрация")
    assert "Шаг 1 из 8" in chat.text
    await chat.share_contact(PHONE)
    assert "Шаг 2 из 8" in chat.text
    await chat.send("Anna.Ivanova@Example.org")
    assert "a***@example.org" in chat.text
    await chat.send(mailbox.last_code(EMAIL))
    assert "Почта подтверждена" in chat.text and "Шаг 3 из 8" in chat.text
    await chat.send("иванова")
    await chat.send("анна")
    await chat.tap("Нет отчества")
    assert "Шаг 4 из 8" in chat.text
    await chat.send("15 января 1985")
    await chat.tap("Женский")
    await chat.tap("Паспорт РФ")
    await chat.send("45 06 98765")  # a digit short: refused, and not left in the chat either
    assert chat.sent("deleteMessage") and "Сохранено" not in chat.text
    await chat.send("45 06 987654")
    assert "Сохранено: 45 ** ****54" in chat.text
    assert "Шаг 7 из 8" in chat.text


async def consent_and_confirm(chat: ChatClient) -> None:
    """From the consents step: all three ticked, «Продолжить ➡️», the summary confirmed."""
    await consent_to_summary(chat)
    await chat.tap("✅ Подтвердить")


async def consent_to_summary(chat: ChatClient) -> None:
    """From the consents step: all three ticked, «Продолжить ➡️»: the summary."""
    for title in (
        "☐ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
    ):
        await chat.tap(title)
    await chat.tap("Продолжить ➡️")


async def test_full_registration(
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
    dp: Dispatcher,
) -> None:
    await register_until_consents(chat, mailbox)
    assert chat.sent("deleteMessage"), "the passport number does not stay in the chat"

    await chat.tap("Продолжить ➡️")
    assert "все три согласия" in chat.text, "no summary without the consents"
    await chat.tap("📄 Полные тексты")
    assert len(chat.sent("sendDocument")) == 3
    for title in (
        "☐ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
    ):
        await chat.tap(title)
    assert chat.inline_buttons[:3] == [
        "✅ Обработка персональных данных",
        "✅ Обработка сведений о здоровье",
        "✅ Пользовательское соглашение",
    ]
    await chat.tap("Продолжить ➡️")
    assert "Проверьте, пожалуйста, данные" in chat.text
    assert (
        "Иванова Анна" in chat.text
        and "15.01.1985" in chat.text
        and "+7 916 123-45-67" in chat.text
    )
    assert "45 ** ****54" in chat.text and "987654" not in chat.text

    await chat.tap("✅ Подтвердить")
    assert "Регистрация завершена" in chat.text
    assert "📝 Регистрация" not in chat.reply_keyboard

    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        assert (account.full_name, account.email, account.phone) == ("Иванова Анна", EMAIL, PHONE)
        assert account.patronymic is None and account.sex == "female"
        consents = (await session.scalars(select(Consent))).all()
        assert {(c.kind, c.version) for c in consents} == {
            ("personal_data", "2026-11"),
            ("health_data", "2026-11"),
            ("user_agreement", "2026-11"),
        }
        raw = " ".join(
            str(v) for v in (await session.execute(text("SELECT * FROM accounts"))).one()
        )
        assert "987654" not in raw
    key = StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)
    assert await dp.storage.get_data(key) == {}, "the draft is gone after registration"


async def test_back_edit_and_the_summary(
    chat: ChatClient, mailbox: RecordingMailer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await register_until_consents(chat, mailbox)
    await chat.send("⬅️ Назад")
    assert "Серия и номер паспорта" in chat.text
    await chat.send("⬅️ Назад")
    assert "Документ, удостоверяющий личность" in chat.text
    await chat.tap("Заграничный паспорт")
    await chat.send("75 1234567")
    for title in (
        "☐ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
    ):
        await chat.tap(title)
    await chat.tap("Продолжить ➡️")
    assert "Заграничный паспорт 75 *****67" in chat.text
    [first_summary] = [c for c in chat.calls if "Иванова Анна" in (getattr(c, "text", None) or "")]
    old_confirm = first_summary.reply_markup.inline_keyboard[0][0]  # type: ignore[attr-defined]

    await chat.tap("✏️ Изменить поле")
    await chat.tap("ФИО")
    await chat.send("Петрова")
    await chat.send("Анна")
    await chat.send("Сергеевна")
    assert "Петрова Анна Сергеевна" in chat.text, "after an edit the summary comes back"
    # The first summary's «Подтвердить» showed «Иванова»: it confirms nothing now.
    await chat.callback(old_confirm.callback_data, first_summary)
    assert "больше не действует" in chat.text
    async with sessions() as session:
        assert await session.scalar(select(Account)) is None
    await chat.tap("✅ Подтвердить")
    assert "Регистрация завершена" in chat.text
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None and account.surname == "Петрова"


async def test_the_choice_of_a_field_replaces_the_summary_and_goes_back_to_it(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    await register_until_consents(chat, mailbox)
    await consent_to_summary(chat)
    [summary] = [c for c in chat.calls if "Иванова Анна" in (getattr(c, "text", None) or "")]
    summary_id = chat.session.message_ids[id(summary)]

    await chat.tap("✏️ Изменить поле")
    [choice] = [c for c in chat.calls if c.__api_method__ != "answerCallbackQuery"]
    assert choice.__api_method__ == "editMessageText", "the summary itself turns into the choice"
    assert choice.message_id == summary_id  # type: ignore[attr-defined]
    assert chat.text == "Что вы хотите изменить?"
    assert chat.inline_buttons[-1] == "⬅️ Назад"

    await chat.tap("⬅️ Назад")
    [back] = [c for c in chat.calls if c.__api_method__ != "answerCallbackQuery"]
    assert back.__api_method__ == "editMessageText"
    assert back.message_id == summary_id  # type: ignore[attr-defined]
    assert chat.text.startswith("<b>Телефон:</b> +7 916 123-45-67")
    assert "<b>ФИО:</b> Иванова Анна" in chat.text
    assert chat.inline_buttons == ["✅ Подтвердить", "✏️ Изменить поле"]
    await chat.tap("✅ Подтвердить")
    assert "Регистрация завершена" in chat.text


async def test_back_while_changing_one_field_returns_to_the_summary(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    await register_until_consents(chat, mailbox)
    await consent_to_summary(chat)
    await chat.tap("✏️ Изменить поле")
    await chat.tap("Пол")
    assert "Ваш пол" in chat.text
    await chat.send("⬅️ Назад")
    assert "Проверьте, пожалуйста, данные" in chat.text, chat.text
    assert chat.inline_buttons == ["✅ Подтвердить", "✏️ Изменить поле"]
    await chat.tap("✏️ Изменить поле")  # a field changed after that still comes back to it
    await chat.tap("Дата рождения")
    await chat.send("16.01.1985")
    assert "16.01.1985" in chat.text and "Проверьте, пожалуйста, данные" in chat.text
    await chat.send("⬅️ Назад")  # at the summary itself: Back is the step before it
    assert "Согласия" in chat.text
    await chat.send("⬅️ Назад")  # and from there the one before, as without an edit
    assert "Серия и номер паспорта" in chat.text


async def test_someone_elses_contact_is_refused(chat: ChatClient) -> None:
    await chat.send("/register")
    await chat.share_contact(PHONE, own=False)
    assert "чужой контакт" in chat.text


async def test_typed_phone_is_checked_then_confirmed_by_the_contact(chat: ChatClient) -> None:
    await chat.send("/register")
    await chat.send("12345")
    assert "не похоже на номер телефона" in chat.text
    await chat.send("+7 495 123-45-67")
    assert "не мобильный" in chat.text
    await chat.send("8 (916) 123-45-67")
    assert "+7 916 123-45-67" in chat.text and "Поделиться номером" in chat.text
    await chat.share_contact("79161234567")
    assert "Шаг 2 из 8" in chat.text


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("anna@", "не похоже на адрес"), ("🙂", "не похоже на адрес")],
)
async def test_bad_email(chat: ChatClient, typed: str, answer: str) -> None:
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(typed)
    assert answer in chat.text


CODE_BUTTONS = ["Отправить код ещё раз", "Изменить адрес почты"]


def buttons_of_the_last_message(chat: ChatClient) -> list[str]:
    """The inline buttons under the bot's latest message (none: an empty list)."""
    last = next(c for c in reversed(chat.calls) if isinstance(c, SendMessage | EditMessageText))
    markup = getattr(last, "reply_markup", None)
    return [b.text for row in getattr(markup, "inline_keyboard", []) for b in row]


async def test_code_refusals_each_have_their_message(
    chat: ChatClient, mailbox: RecordingMailer, clock: FrozenClock
) -> None:
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    code = mailbox.last_code(EMAIL)
    wrong = "000000" if code != "000000" else "111111"

    await chat.send("12")
    assert "6 цифр" in chat.text
    assert buttons_of_the_last_message(chat) == CODE_BUTTONS
    await chat.tap("Отправить код ещё раз")
    assert "через 60 с" in chat.text
    assert buttons_of_the_last_message(chat) == CODE_BUTTONS, "to tap again when it is time"
    await chat.send(wrong)
    assert "Осталось попыток: 4" in chat.text
    assert buttons_of_the_last_message(chat) == CODE_BUTTONS, "a walker had to scroll up"

    clock.advance(timedelta(minutes=11))
    await chat.send(code)
    assert "Срок действия кода истёк" in chat.text
    assert buttons_of_the_last_message(chat) == CODE_BUTTONS, "the button it names, right there"
    await chat.tap("Отправить код ещё раз")
    fresh = mailbox.last_code(EMAIL)
    for left in (3, 2, 1):
        await chat.send("000000" if fresh != "000000" else "111111")
        assert f"Осталось попыток: {left}" in chat.text, "the tries count across codes"
    await chat.send("000000" if fresh != "000000" else "111111")
    assert "Неверный код. Попыток больше нет" in chat.text and "13:00 (по Москве)" in chat.text
    assert buttons_of_the_last_message(chat) == CODE_BUTTONS, "the way on once the time comes"
    await chat.send(fresh)
    assert "Слишком много неверных кодов" in chat.text, (
        "even the right code waits for the cool-down"
    )
    clock.advance(timedelta(minutes=30))
    await chat.tap("Отправить код ещё раз")
    assert "Слишком много неверных кодов" in chat.text, "an hour after the first wrong code"
    clock.advance(timedelta(minutes=20))
    await chat.tap("Отправить код ещё раз")
    await chat.send(mailbox.last_code(EMAIL))
    assert "Почта подтверждена" in chat.text


async def test_the_code_of_an_earlier_letter_is_told_apart(
    chat: ChatClient, mailbox: RecordingMailer, clock: FrozenClock
) -> None:
    """A walker typed the code of the first of three letters and read only «Неверный код»: with
    several letters out, the answer says which one counts and when it went."""
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    first = mailbox.last_code(EMAIL)
    clock.advance(timedelta(seconds=61))
    await chat.tap("Отправить код ещё раз")
    latest = mailbox.last_code(EMAIL)
    if first == latest:  # one chance in a million
        return
    await chat.send(first)
    assert chat.text == (
        "Неверный код. Отправлено несколько писем: действует только код из последнего, "
        "отправленного в 12:01 (по Москве). Осталось попыток: 4."
    )
    assert buttons_of_the_last_message(chat) == CODE_BUTTONS
    await chat.send(latest)
    assert "Почта подтверждена" in chat.text


async def test_the_same_e_mail_again_at_once_asks_for_the_code_already_sent(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    """Typed twice, or sent again by Telegram after a worker died: no refusal, no second code."""
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    await chat.tap("Изменить адрес почты")
    await chat.send(EMAIL)
    assert "Мы только что отправили 6-значный код" in chat.text
    assert len([letter for letter in mailbox.letters if letter[0] == EMAIL]) == 1
    await chat.send(mailbox.last_code(EMAIL))
    assert "Почта подтверждена" in chat.text


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("Ivan Иван", "одним алфавитом"),
        ("Ива1н", "Примеры: Иванова-Петрова, Анна-Мария, Сергеевна"),  # one for each name
    ],
)
async def test_bad_names(
    chat: ChatClient, mailbox: RecordingMailer, typed: str, answer: str
) -> None:
    await confirm_email(chat, mailbox)
    await chat.send(typed)
    assert answer in chat.text
    await chat.send_sticker()
    assert "ответьте текстом" in chat.text and "фамилия" in chat.text


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("31.02.1990", "Такого дня нет в календаре"),
        ("22.11.2026", "ещё не наступила"),
        ("01.01.1900", "больше 120 лет"),
        ("22.11.2008", "только совершеннолетние"),
    ],
)
async def test_bad_birth_dates(
    chat: ChatClient, mailbox: RecordingMailer, typed: str, answer: str
) -> None:
    await confirm_email(chat, mailbox)
    await chat.send("Иванова")
    await chat.send("Анна")
    await chat.send("Сергеевна")
    await chat.send(typed)
    assert answer in chat.text


async def test_bad_document_and_type(chat: ChatClient, mailbox: RecordingMailer) -> None:
    await confirm_email(chat, mailbox)
    for answer in ("Иванова", "Анна", "Сергеевна", "15.01.1985"):
        await chat.send(answer)
    await chat.send("не знаю")
    assert "выберите кнопкой" in chat.text
    await chat.tap("Женский")
    await chat.send("Свидетельство о рождении")
    assert "Свидетельство о рождении не подходит" in chat.text
    await chat.tap("Паспорт РФ")
    await chat.send("4506 12345")
    assert "серия из 4 цифр и номер из 6 цифр" in chat.text


async def test_cancel_asks_after_two_steps_and_discards(
    chat: ChatClient, mailbox: RecordingMailer, dp: Dispatcher
) -> None:
    await chat.send("/register")
    await chat.share_contact(PHONE)
    await chat.send("✖️ Отмена")
    assert "Действие отменено" in chat.text, "one step done: no question asked"

    await confirm_email(chat, mailbox)
    await chat.send("Иванова")
    await chat.send("/cancel")
    assert "Прервать и удалить" in chat.text
    await chat.tap("Нет, продолжить")
    assert chat.texts[0] == "Продолжаем."
    assert "Ваше имя — как в паспорте" in chat.texts[1], "the step's question, below"
    assert "✖️ Отмена" in chat.reply_keyboard
    await chat.send("Анна")
    assert "отчество" in chat.text, "the dialog goes on where it was"
    await chat.send("/cancel")
    await chat.tap("Да, удалить")
    assert "Действие отменено" in chat.text
    key = StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)
    assert await dp.storage.get_data(key) == {}


async def test_menu_keeps_the_draft_and_registration_resumes(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    await confirm_email(chat, mailbox)
    await chat.send("Иванова")
    await chat.send("/menu")
    await chat.tap("📝 Регистрация")
    assert "Ваше имя" in chat.text, "resumes at the first missing answer"


async def test_registration_resumed_at_the_consents_brings_its_keyboard_back(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    """The consents' buttons are inline: resumed there after a menu tap, the step kept the
    menu's keyboard under it, without Back and Cancel (found walking the web chat)."""
    await register_until_consents(chat, mailbox)
    await chat.tap("☐ Обработка персональных данных")
    await chat.send("☎️ Контакты")
    assert "📝 Регистрация" in chat.reply_keyboard
    await chat.tap("📝 Регистрация")
    assert chat.reply_keyboard == ["⬅️ Назад", "✖️ Отмена"]
    assert "Шаг 7 из 8" in chat.text
    assert chat.inline_buttons == [
        "✅ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
        "📄 Полные тексты",
        "Продолжить ➡️",
        "Начать заново",
    ]
    await chat.tap("☐ Обработка сведений о здоровье")  # the step goes on from there
    assert "✅ Обработка сведений о здоровье" in chat.inline_buttons
    assert chat.inline_buttons[-1] == "Начать заново", "kept on the tick"
    await chat.tap("Начать заново")
    assert "Начать регистрацию заново?" in chat.text


async def test_already_registered_phone_offers_recovery_by_email(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await register_until_consents(chat, mailbox)
    await consent_and_confirm(chat)

    new_phone = ChatClient(dp, bot, user_id=3003, first_name="Анна")
    await new_phone.send("/register")
    await new_phone.share_contact(PHONE)
    assert "уже зарегистрирован" in new_phone.text
    await new_phone.tap("Восстановить доступ")
    assert "a***@example.org" in new_phone.text
    await new_phone.send(mailbox.last_code(EMAIL))
    assert "Доступ восстановлен" in new_phone.text
    [notice] = [c for c in new_phone.sent("sendMessage") if c.chat_id == chat.user.id]  # type: ignore[attr-defined]
    assert "перенесён в другой аккаунт" in notice.text  # type: ignore[attr-defined]

    async with sessions() as session:
        account = await session.scalar(select(Account))
        owner = await session.get(User, account.user_id) if account else None
    assert owner is not None and owner.telegram_id == 3003


async def test_the_recovery_code_can_be_sent_again_the_same_way(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    mailbox: RecordingMailer,
    clock: FrozenClock,
) -> None:
    """«The code has expired. Tap «Send the code again»» had no such button at the recovery
    step: a person whose letter did not come, or came late, was stuck there."""
    await register_until_consents(chat, mailbox)
    await consent_and_confirm(chat)

    new_phone = ChatClient(dp, bot, user_id=3004, first_name="Анна")
    await new_phone.send("/register")
    await new_phone.share_contact(PHONE)
    await new_phone.tap("Восстановить доступ")
    first = mailbox.last_code(EMAIL)
    assert "Отправить код ещё раз" in new_phone.reply_keyboard
    await new_phone.tap("Отправить код ещё раз")
    assert "Новый код можно запросить через" in new_phone.text
    clock.advance(timedelta(minutes=11))
    await new_phone.send(first)
    assert "Срок действия кода истёк" in new_phone.text and "Отправить код ещё раз" in (
        new_phone.text
    )
    await new_phone.tap("Отправить код ещё раз")  # the same way as the first: by the phone
    assert "a***@example.org" in new_phone.text
    second = mailbox.last_code(EMAIL)
    assert second != first
    clock.advance(timedelta(hours=1))  # three codes an hour to one address: past that window
    await new_phone.tap("Восстановить доступ")  # the old button asks again too
    assert "a***@example.org" in new_phone.text
    await new_phone.send(mailbox.last_code(EMAIL))
    assert "Доступ восстановлен" in new_phone.text


async def test_registration_speaks_english(
    dp: Dispatcher, bot: Bot, mailbox: RecordingMailer
) -> None:
    chat = ChatClient(dp, bot, user_id=4004, first_name="John", language_code="en")
    await chat.send("/start")
    await chat.tap("📝 Registration")
    assert "Step 1 of 8" in chat.text
    await chat.share_contact(PHONE)
    await chat.send(EMAIL)
    assert "We sent a 6-digit code" in chat.text
    await chat.send(mailbox.last_code(EMAIL))
    await chat.send("Smith")
    await chat.send("John")
    await chat.tap("No patronymic")
    await chat.send("1985-01-15")
    await chat.tap("Male")
    await chat.tap("Russian international passport")
    await chat.send("75 1234567")
    assert "Step 7 of 8" in chat.text and "☐ Personal data processing" in chat.inline_buttons


async def test_recovery_moves_the_whole_cabinet_and_the_old_account_keeps_nothing(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await with_policies(chat, sessions)
    await chat.send("📋 Мои полисы")
    old_list = chat.session.calls[-1]
    [old_card] = [
        b.callback_data
        for row in old_list.reply_markup.inline_keyboard  # type: ignore[attr-defined]
        for b in row
        if b.text == "DMS-K-2026-0001 · Анна"
    ]

    new_phone = ChatClient(dp, bot, user_id=3003, first_name="Анна")
    await new_phone.send("/register")
    await new_phone.share_contact("+79161234567")
    await new_phone.tap("Восстановить доступ")
    await new_phone.send(mailbox.last_code("anna@example.org"))
    assert "Доступ восстановлен" in new_phone.text
    # The old chat is told, in its language, and gets a guest's menu: the cabinet is gone.
    [notice] = [c for c in new_phone.sent("sendMessage") if c.chat_id == chat.user.id]  # type: ignore[attr-defined]
    assert "перенесён в другой аккаунт" in notice.text  # type: ignore[attr-defined]
    guest_menu = [b.text for row in notice.reply_markup.keyboard for b in row]  # type: ignore[attr-defined]
    assert "📝 Регистрация" in guest_menu and "📋 Мои полисы" not in guest_menu

    # The policies came along (they were left with the old Telegram user).
    await new_phone.send("📋 Мои полисы")
    assert "DMS-K-2026-0001 · Анна" in new_phone.inline_buttons
    assert "ONDL-500001 · Анна" in new_phone.inline_buttons
    # The old chat's buttons open nothing any more.
    await chat.callback(old_card, old_list)
    assert "Эта кнопка больше не действует" in chat.text
    async with sessions() as session:
        new_user = await session.scalar(select(User).where(User.telegram_id == 3003))
        assert new_user is not None
        links = (await session.scalars(select(PolicyLink.user_id))).all()
    assert links and set(links) == {new_user.id}


def test_every_table_of_a_person_is_moved_or_kept_on_recovery() -> None:
    """A new table keyed by the Telegram user must say whether the cabinet takes it along."""
    by_user = {
        table.name
        for table in Base.metadata.sorted_tables
        for key in table.foreign_keys
        if key.column.table.name == "users"
    }
    assert by_user - {"accounts"} == set(MOVED_WITH_THE_ACCOUNT) | set(KEPT_WITH_THE_TELEGRAM_USER)


async def boris_until_consents(boris: ChatClient, mailbox: RecordingMailer) -> None:
    """Борис, another Telegram account, fills the same e-mail in (his own phone)."""
    await boris.send("/register")
    await boris.share_contact("+79167654321")
    await boris.send(EMAIL)
    await boris.send(mailbox.last_code(EMAIL))
    assert "Почта подтверждена" in boris.text
    await boris.send("петров")
    await boris.send("борис")
    await boris.tap("Нет отчества")
    await boris.send("02.02.1980")
    await boris.tap("Мужской")
    await boris.tap("Паспорт РФ")
    await boris.send("45 07 123456")
    assert "Шаг 7 из 8" in boris.text


async def test_an_e_mail_taken_while_the_form_was_filled_in_is_said_with_working_buttons(
    dp: Dispatcher, bot: Bot, chat: ChatClient, mailbox: RecordingMailer
) -> None:
    """A walker's «Восстановить доступ» and «Указать другие контакты» were dead at the summary
    («Эта кнопка больше не действует»): the address had been registered by someone else while
    he filled the form in. The dialog goes back to the e-mail step, where both work."""
    boris = ChatClient(dp, bot, user_id=3010, first_name="Борис")
    await boris_until_consents(boris, mailbox)
    await register_until_consents(chat, mailbox)
    await consent_and_confirm(chat)
    assert "Регистрация завершена" in chat.text
    await consent_and_confirm(boris)
    assert "уже зарегистрирован" in boris.text
    await boris.tap("Указать другие контакты")
    assert "Ваша электронная почта: мы отправим на неё" in boris.text
    await boris.send("boris.petrov@example.org")
    await boris.send(mailbox.last_code("boris.petrov@example.org"))
    assert "Почта подтверждена" in boris.text and "boris.petrov@example.org" in boris.text
    await boris.tap("✅ Подтвердить")  # the summary again, the rest as he had filled it in
    assert "Регистрация завершена" in boris.text


async def test_an_e_mail_taken_before_its_code_was_typed_is_said_at_the_code(
    dp: Dispatcher, bot: Bot, chat: ChatClient, mailbox: RecordingMailer
) -> None:
    """Борис's code for an address Анна registered meanwhile was accepted («Почта
    подтверждена ✅»), and he learnt it was taken only after five more steps."""
    boris = ChatClient(dp, bot, user_id=3012, first_name="Борис")
    await boris.send("/register")
    await boris.share_contact("+79167654321")
    await boris.send(EMAIL)
    code = mailbox.last_code(EMAIL)
    await register_until_consents(chat, mailbox)
    await consent_and_confirm(chat)
    await boris.send(code)
    assert "уже зарегистрирован" in boris.text and "Почта подтверждена" not in boris.text
    await boris.tap("Восстановить доступ")
    assert "a***@example.org" in boris.text  # the code goes to the account's own address
    await boris.send(mailbox.last_code(EMAIL))
    assert "Доступ восстановлен" in boris.text
