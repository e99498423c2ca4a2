"""The profile: what it shows, notifications, consents, editing until locked, deletion."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account, Consent, User
from core.accounts.registration import lock_personal_data
from core.clock import FrozenClock
from core.notifications.delivery import CAN_WAIT, REMINDERS
from tests.dialog import ChatClient, RecordingMailer


async def test_profile_shows_masked_data_language_and_notifications(
    chat: ChatClient, registered: Account
) -> None:
    await chat.send("/start")
    assert "👤 Профиль" in chat.reply_keyboard and "📝 Регистрация" not in chat.reply_keyboard
    await chat.tap("👤 Профиль")
    assert "Иванова Анна Сергеевна" in chat.text
    assert "45 ** ****54" in chat.text and "987654" not in chat.text
    assert "🇷🇺 Русский" in chat.text and "Напоминания:</b> вкл." in chat.text
    assert chat.inline_buttons == [
        "✏️ Изменить данные",
        "🔔 Уведомления",
        "🪪 Подтвердить личность",
        "📜 Согласия",
        "🗑 Удалить учётную запись",
        "🏠 Меню",
    ]


async def test_notifications_toggle_but_money_messages_stay(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/profile")
    await chat.tap("🔔 Уведомления")
    assert "о долгах, картах, списаниях и платежах приходят всегда" in chat.text
    # What the quiet hours hold, as the courier holds it: the clinics' opening waits.
    assert "окончание полиса и начало его действия, открытие клиник, новости), ждут утра" in (
        chat.text
    )
    assert "о новых долгах, приостановке, оплатах, напоминания о приёмах и ответы" in chat.text
    assert {  # the text above names these: change the two together
        "new_services",
        "share_charged",
        "debt_reminder",
        "regions_available",
        "franchise_active",
        "appeal_taken",
        "news",
        "policy_expiring",
        "coverage_started",
    } == CAN_WAIT
    assert {"booking_reminder", "policy_expiring", "coverage_started"} == REMINDERS
    await chat.tap("✅ Напоминания")
    assert chat.inline_buttons == [
        "❌ Напоминания",
        "✅ Новости",
        "🕰 Часовой пояс: Москва (UTC+3)",
        "⬅️ Назад",
        "🏠 Меню",
    ]
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None and account.notify_reminders is False and account.notify_news is True


async def test_the_time_zone_is_chosen_in_the_notifications_and_kept(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/profile")
    await chat.tap("🔔 Уведомления")
    assert "С 22:00 до 09:00 по вашему времени" in chat.text
    await chat.tap("🕰 Часовой пояс: Москва (UTC+3)")
    assert "✅ Москва (UTC+3)" in chat.inline_buttons
    assert "Владивосток (UTC+10)" in chat.inline_buttons and len(chat.inline_buttons) == 11 + 2, (
        "11 zones, Back, Menu"
    )
    await chat.tap("Владивосток (UTC+10)")
    assert "🕰 Часовой пояс: Владивосток (UTC+10)" in chat.inline_buttons
    async with sessions() as session:
        user = await session.get(User, registered.user_id)
    assert user is not None and user.time_zone == "Asia/Vladivostok"


async def test_consents_are_listed_with_version_and_date(
    chat: ChatClient, registered: Account
) -> None:
    await chat.send("/profile")
    await chat.tap("📜 Согласия")
    assert "Обработка персональных данных: версия 2026-11, дано 21.11.2026" in chat.text


async def test_edit_goes_through_the_summary_and_saves(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/profile")
    await chat.tap("✏️ Изменить данные")
    assert "Проверьте, пожалуйста, данные" in chat.text
    await chat.tap("✏️ Изменить поле")
    await chat.tap("Дата рождения")
    await chat.send("16.01.1985")
    assert "16.01.1985" in chat.text
    await chat.tap("✅ Подтвердить")
    assert "Данные сохранены" in chat.text
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None and account.birth_date == date(1985, 1, 16)


async def test_after_the_first_policy_the_profile_is_read_only(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        lock_personal_data(account, clock.now())
        await session.commit()
    await chat.send("/profile")
    assert "✏️ Изменить данные" not in chat.inline_buttons
    assert "заблокированы" in chat.text
    await chat.callback("prf:edit")  # an old button or a crafted one
    assert "нельзя изменить в боте" in chat.text


async def test_delete_account_erases_personal_data(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/profile")
    await chat.tap("🗑 Удалить учётную запись")
    assert "Удалить учётную запись?" in chat.text
    await chat.tap("Да, удалить учётную запись")
    assert "удалена" in chat.text
    assert "📝 Регистрация" in chat.reply_keyboard
    async with sessions() as session:
        assert await session.scalar(select(Account)) is None
        consents = (await session.scalars(select(Consent))).all()
    assert consents and all(c.withdrawn_at is not None for c in consents)


async def test_profile_before_registration_says_what_is_missing(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    await chat.send("/register")
    await chat.share_contact("+79161234567")
    await chat.send("/menu")
    await chat.send("/profile")
    assert "Ещё не хватает: подтверждённая почта, ФИО, дата рождения, пол, документ" in chat.text
    await chat.tap("Продолжить регистрацию")
    assert "Шаг 2 из 8" in chat.text
