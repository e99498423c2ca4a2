"""Screens, dead ends and texts found in the last walk (issue 15 items 2, 3, 7, 8), driven as a
person would: a notification stays history, each screen names what it is about, every step says
where it is, every screen has a way on and none points to itself, a long screen has «Ещё»."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Dispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notify import telegram_send
from core.accounts.models import Account
from core.appeals.models import Appeal, AppealStatus
from core.clock import FrozenClock
from core.notifications.delivery import deliver
from core.notifications.outbox import enqueue
from core.policies.models import Policy
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_appeals import callback_request_to_its_summary
from tests.test_dialog_franchise import bank, dp, provider
from tests.test_dialog_policies import add_by_number
from tests.test_dialog_registration import consent_and_confirm, register_until_consents
from tests.test_dialog_screens import last_with

__all__ = ["bank", "dp", "provider"]

LINES_PER_SCREEN = 12


def lines(text: str) -> int:
    return len([line for line in text.split("\n") if line.strip()])


async def answered_appeal(
    dp: Dispatcher, bot: Bot, chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> ChatClient:
    """Anna's callback request O-26-000001, answered by the operator; the answer delivered
    through the bot's real outbox sender (its buttons included)."""
    await callback_request_to_its_summary(chat)
    await chat.tap("✅ Отправить")
    card = next(
        c
        for c in chat.calls
        if getattr(c, "chat_id", None) == OPERATORS_CHAT and c.__api_method__ == "sendMessage"
    )
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    await operator.tap("🙋 Взять")
    await operator.send_in_topic("Перезвоним сегодня в 13:00.", card.message_thread_id)  # type: ignore[attr-defined]
    return operator


async def deliver_for_real(
    sessions: async_sessionmaker[AsyncSession], bot: Bot, clock: FrozenClock
) -> None:
    await deliver(sessions, telegram_send(bot), clock.now())


async def test_opening_an_appeal_from_its_notification_keeps_the_notification(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await answered_appeal(dp, bot, chat, sessions)
    before = len(chat.session.calls)
    await deliver_for_real(sessions, bot, clock)
    notices = [c for c in chat.session.calls[before:] if c.__api_method__ == "sendMessage"]
    assert any("отвечает на обращение О-26-000001" in str(n.text) for n in notices)  # type: ignore[attr-defined]

    await chat.tap("💬 Открыть обращение")
    assert chat.sent("editMessageText") == [], "the notification is history: not edited away"
    [opened] = chat.sent("sendMessage")
    assert "Перезвоните мне О-26-000001" in str(opened.text)  # type: ignore[attr-defined]
    assert "Перезвоним сегодня в 13:00." in str(opened.text)  # type: ignore[attr-defined]
    # From the appeal's own screen on, the screens replace each other as usual.
    await chat.tap("✅ Закрыть обращение")
    [rating] = chat.sent("editMessageText")
    assert "О-26-000001" in str(rating.text), "the rating screen names the appeal"  # type: ignore[attr-defined]
    await chat.tap("⭐⭐⭐⭐")
    assert "Обращение О-26-000001 закрыто" in chat.text
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.status == AppealStatus.CLOSED and appeal.rating == 4


async def test_rating_from_the_closing_notification_names_the_appeal_in_a_new_message(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    operator = await answered_appeal(dp, bot, chat, sessions)
    await deliver_for_real(sessions, bot, clock)
    await operator.tap("✅ Закрыть")
    await deliver_for_real(sessions, bot, clock)
    await chat.tap("⭐ Оценить ответ")
    assert chat.sent("editMessageText") == []
    [rating] = chat.sent("sendMessage")
    assert "О-26-000001" in str(rating.text) and "оцениваете" in str(rating.text)  # type: ignore[attr-defined]
    await chat.tap("⭐⭐⭐⭐⭐")
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.rating == 5


async def test_every_registration_step_says_where_it_is_and_the_end_leads_on(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    await chat.send("/register")
    await chat.share_contact("+79161234567")
    await chat.send("anna.ivanova@example.org")
    await chat.send(mailbox.last_code("anna.ivanova@example.org"))
    assert "Шаг 3 из 8" in chat.text and "фамилия" in chat.text
    await chat.send("Иванова")
    assert "Шаг 3 из 8" in chat.text and "имя" in chat.text
    await chat.send("Анна")
    assert "Шаг 3 из 8" in chat.text and "отчество" in chat.text.lower()
    await chat.tap("Нет отчества")
    await chat.send("15.01.1985")
    await chat.tap("Женский")
    await chat.tap("Паспорт РФ")
    assert "Шаг 6 из 8" in chat.text and "Серия и номер" in chat.text


async def test_registration_finished_offers_to_add_a_policy(
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions)
    await register_until_consents(chat, mailbox)
    await consent_and_confirm(chat)
    assert "Регистрация завершена" in chat.text
    assert "📋 Мои полисы" in chat.reply_keyboard, "the registered menu comes with it"
    assert "➕ Добавить полис" in chat.inline_buttons
    await chat.tap("➕ Добавить полис")
    assert "Как добавить полис?" in chat.text and "По номеру полиса" in chat.inline_buttons


async def test_a_policy_already_in_the_cabinet_ends_the_step_on_its_card(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await add_by_number(chat, "ONDL-500001")
    # The card itself, not a button to it: tapping that left the number step running, with
    # only «Cancel» under it (found walking the web chat).
    assert chat.texts[0] == "Этот полис уже есть в вашем кабинете."
    assert "📋 Мои полисы" in chat.reply_keyboard  # the menu again, not the step's «Cancel»
    assert "Полис № ONDL-500001" in chat.texts[-1] and "📄 Полис (PDF)" in chat.inline_buttons
    await chat.send("привет")  # no longer taken for a policy number
    assert "Не удалось понять сообщение" in chat.text


async def test_contacts_and_help_screens_never_point_to_themselves(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("☎️ Контакты")
    assert "медицинский пульт, круглосуточно" in chat.text
    assert "☎️ Контакты" not in chat.inline_buttons
    assert "🏠 Меню" in chat.inline_buttons
    await chat.send("/contacts")
    assert "☎️ Контакты" not in chat.inline_buttons
    await chat.send("/help")
    await chat.tap("☎️ Контакты")
    assert "☎️ Контакты" not in chat.inline_buttons and "⬅️ Помощь" in chat.inline_buttons
    await chat.tap("⬅️ Помощь")
    await chat.tap("🛒 Купить полис")
    assert "🛒 Купить полис" not in chat.inline_buttons


async def test_the_profile_and_the_documents_choice_have_a_way_back(
    chat: ChatClient, registered: Account
) -> None:
    await chat.send("👤 Профиль")
    assert "<b>Профиль</b>" in chat.text and chat.inline_buttons[-1] == "🏠 Меню"
    await chat.tap("🔔 Уведомления")
    await chat.tap("⬅️ Назад")
    assert chat.inline_buttons[-1] == "🏠 Меню"
    await chat.send("📄 Документы")
    assert "Какой документ вам нужен?" in chat.text and chat.inline_buttons[-1] == "🏠 Меню"
    await chat.tap("🏠 Меню")
    assert "Главное меню" in chat.text


async def test_an_expired_policy_added_by_number_offers_to_renew(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    clock.advance(datetime(2028, 1, 10, 9, 0, tzinfo=UTC) - clock.now())
    await add_by_number(chat, "ONDL-500001")
    assert "🗄 Добавлен в архив" in chat.text
    assert "🔄 Продлить" in chat.inline_buttons and "☎️ Контакты" in chat.inline_buttons
    await chat.tap("☎️ Контакты")
    assert "медицинский пульт, круглосуточно" in chat.text


async def test_a_long_policy_card_and_what_is_covered_show_more_on_request(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    [card] = chat.sent("editMessageText")
    assert lines(str(card.text)) <= LINES_PER_SCREEN, card.text  # type: ignore[attr-defined]
    assert "Полис № ONDL-500001" in str(card.text) and "Врач-куратор" not in str(card.text)  # type: ignore[attr-defined]
    assert "📖 Подробнее" in chat.inline_buttons and "⬅️ Мои полисы" in chat.inline_buttons
    await chat.tap("📖 Подробнее")
    [more] = chat.sent("editMessageText")
    assert "Врач-куратор" in str(more.text) and "Полис № ONDL-500001" in str(more.text)  # type: ignore[attr-defined]
    assert "⬅️ К полису" in chat.inline_buttons and "🏠 Меню" in chat.inline_buttons

    await chat.tap("⬅️ К полису")
    await chat.tap("✅ Что покрыто")
    [covered] = chat.sent("editMessageText")
    assert lines(str(covered.text)) <= LINES_PER_SCREEN, covered.text  # type: ignore[attr-defined]
    assert "📖 Ещё" in chat.inline_buttons and "⬅️ К полису" in chat.inline_buttons
    first = str(covered.text)  # type: ignore[attr-defined]
    await chat.tap("📖 Ещё")
    [rest] = chat.sent("editMessageText")
    assert str(rest.text) != first and lines(str(rest.text)) <= LINES_PER_SCREEN  # type: ignore[attr-defined]
    assert "⬅️ К полису" in chat.inline_buttons
    _call, data = last_with(chat, "⬅️ К полису")
    assert data.startswith("pc:")
    await chat.tap("⬅️ Предыдущая страница")  # back a page, in place
    [again] = chat.sent("editMessageText")
    assert str(again.text) == first and "⬅️ Предыдущая страница" not in chat.inline_buttons  # type: ignore[attr-defined]


async def test_the_consent_screen_gives_up_its_button_once_the_bank_link_is_sent(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.tap("💳 Франшиза и карты")
    await chat.tap("✅ Активировать программу с франшизой")
    [terms] = chat.sent("editMessageText")
    await chat.tap("Даю согласие на автоматические списания")
    [link] = chat.sent("sendMessage")
    assert "💳 Привязать карту" in [
        b.text for row in link.reply_markup.inline_keyboard for b in row
    ]  # type: ignore[attr-defined]
    [stripped] = chat.sent("editMessageReplyMarkup")
    assert stripped.message_id == terms.message_id  # type: ignore[attr-defined]
    buttons = [b.text for row in stripped.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert buttons == ["⬅️ Франшиза и карты"], "no second «I agree» on the consent screen"
    await chat.tap("⬅️ Франшиза и карты")
    assert "✅ Активировать программу с франшизой" in chat.inline_buttons


async def test_the_regions_notice_stays_when_its_clinics_button_opens_the_program(
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    async with sessions() as session:
        policy = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0001"))
        assert policy is not None
        await enqueue(
            session,
            user_id=registered.user_id,
            kind="regions_available",
            dedupe_key="regions:test",
            now=clock.now(),
            codes=["52"],
            policy_id=policy.id,
            number=policy.number,
            name="Оптимум",
        )
        await session.commit()
    await deliver_for_real(sessions, bot, clock)
    await chat.tap("🏥 Клиники программы")
    assert chat.sent("editMessageText") == [], "the notification is history: not edited away"
    [opened] = chat.sent("sendMessage")
    assert "Клиники программы" in str(opened.text)  # type: ignore[attr-defined]
