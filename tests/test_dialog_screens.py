"""Screens replace screens, every screen has a way back, and a button acts on its own context
(CONVERSATION.md 2-4), driven as a person would."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ClinicPageCallback, ListKind
from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.clinics.models import SavedSearch
from core.clock import FrozenClock
from core.demo import register_demo_person
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, TEST_KEY, seed_demo
from tests.dialog import BOT_ID, ChatClient
from tests.test_dialog_clinics import with_policies
from tests.test_dialog_identity import upload_all
from tests.test_dialog_policies import add_by_number

RED_SQUARE = (55.7558, 37.6173)
KAZAN = (55.7963, 49.1088)


def last_with(chat: ChatClient, button: str) -> tuple[object, str]:
    """The latest message (sent or edited) that shows `button`, and that button's data."""
    for call in reversed(chat.session.calls):
        markup = getattr(call, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for candidate in row:
                    if candidate.text == button and candidate.callback_data:
                        return call, candidate.callback_data
    raise AssertionError(f"no button {button!r}")


async def test_an_older_lists_switch_shows_its_own_search_not_the_newest(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.share_location(*RED_SQUARE)
    moscow_list, moscow_switch = last_with(chat, "👁 Показать и недоступные")
    await chat.share_location(*KAZAN)
    assert chat.inline_buttons[0].endswith("706 км"), "from Kazan, Moscow clinics are far"

    await chat.callback(moscow_switch, moscow_list)  # the switch under the older, Moscow list
    assert chat.sent("sendMessage") == [], "the list changes in place"
    [edited] = chat.sent("editMessageText")
    names = [b.text for row in edited.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert names[0].startswith("Клиника «Здоровье на Тверской»"), names
    assert not names[0].endswith(" км") or "719" not in names[0], "distances from Red Square"
    assert any(n.startswith("⛔ Медицинский центр «Сокол»") for n in names)
    assert not any("Казань" in n for n in names)
    assert names[-2:] == ["⬅️ Назад", "🏠 Меню"]

    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Казань")
    kazan_names, kazan_switch = last_with(chat, "👁 Показать и недоступные")
    await chat.send("Тверск")
    await chat.callback(kazan_switch, kazan_names)
    assert "⛔ Клиника «Казань-Мед»" in chat.inline_buttons
    assert "Тверской" not in " ".join(chat.inline_buttons)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SavedSearch)) == 4


async def test_a_gone_or_someone_elses_search_no_longer_works_and_leads_on(
    chat: ChatClient,
    dp: Dispatcher,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    await chat.share_location(*RED_SQUARE)
    async with sessions() as session:
        search = await session.scalar(select(SavedSearch.id))
    assert search is not None

    other = ChatClient(dp, bot, user_id=1002, first_name="Пётр")
    await register_demo_person(
        sessions,
        Vault(TEST_KEY.encode()),
        other.user.id,
        now=clock.now(),
        phone="+79161112233",
        email="other@example.org",
        document="4500 111222",
    )
    await other.callback(ClinicPageCallback(kind=ListKind.NEAR, search=search).pack())
    assert "Этот список больше не работает" in other.text and "Тверской" not in other.text
    assert "🔎 По названию" in other.inline_buttons and "🏠 Меню" in other.inline_buttons

    await chat.callback(ClinicPageCallback(kind=ListKind.NAME, search=search + 100).pack())
    assert "Этот список больше не работает" in chat.text
    await chat.tap("🔎 По названию")
    assert "Отправьте название клиники" in chat.text


async def test_browsing_edits_the_screen_in_place(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("/policies")
    sent_before = len([c for c in chat.session.calls if c.__api_method__ == "sendMessage"])
    for tap in (
        "DMS-K-2026-0001 · Анна",
        "✅ Что покрыто",
        "⬅️ К полису",
        "🏥 Клиники программы",
        "Амбулаторно-поликлиническая помощь",
        "⬅️ Виды помощи",
        "⬅️ К полису",
        "⬅️ Мои полисы",
    ):
        await chat.tap(tap)
        assert chat.sent("editMessageText"), f"{tap!r} edits the screen"
    await chat.send("/help")
    for tap in ("❓ Вопросы и ответы", "Как вызвать врача на дом?", "⬅️ К вопросам", "⬅️ Помощь"):
        await chat.tap(tap)
        assert chat.sent("editMessageText"), f"{tap!r} edits the screen"
    sent = [c for c in chat.session.calls if c.__api_method__ == "sendMessage"]
    assert len(sent) == sent_before + 1, "only /help itself was a new message"


async def test_a_screen_far_up_comes_again_as_a_new_message(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("/policies")
    source, data = last_with(chat, "DMS-K-2026-0001 · Анна")
    old = Message(
        message_id=77,
        date=datetime.now() - timedelta(hours=2),  # noqa: DTZ005 - as ChatClient dates them
        chat=chat.chat,
        from_user=User(id=BOT_ID, is_bot=True, first_name="Test bot"),
        text=str(getattr(source, "text", "")),
    )
    query = CallbackQuery(
        id="far-up", from_user=chat.user, chat_instance="1", data=data, message=old
    )
    await chat._feed(callback_query=query)
    assert chat.sent("editMessageText") == []
    [card] = chat.sent("sendMessage")
    assert "Полис № DMS-K-2026-0001" in str(card.text)  # type: ignore[attr-defined]


async def test_refusals_offer_the_next_action(
    chat: ChatClient, dp: Dispatcher, bot: Bot, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/help")
    await chat.tap("❓ Вопросы и ответы")
    await chat.tap("Как добавить клинику в программу?")
    await chat.tap("➕ Добавить клинику")
    assert "Обращения доступны зарегистрированным пользователям" in chat.text
    assert chat.inline_buttons == ["📝 Зарегистрироваться", "🏠 Меню"]
    await chat.tap("📝 Зарегистрироваться")
    assert "Регистрация займёт около трёх минут" in chat.text


async def test_a_registered_persons_refusals_offer_the_next_action(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    # Sidorov's expired policy: a mismatch like anyone else's (one's own expired policies are
    # linked as archived, issue 16), with the way on.
    await add_by_number(chat, "ONDL-400001")
    assert "не совпадают с полисом" in chat.text and "истёк" not in chat.text
    assert "🪪 Подтвердить личность" in chat.inline_buttons

    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По паспортным данным")
    assert "Добавлено" in chat.text  # ONDL-500001 as well
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По паспортным данным")
    assert "других полисов не найдено" in chat.text
    assert chat.inline_buttons == ["⬅️ Назад", "🏠 Меню"]
    await chat.tap("⬅️ Назад")
    assert "Как добавить полис?" in chat.text

    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    assert "⬅️ Назад" in chat.inline_buttons
    await chat.tap("🚨 Заявить о страховом случае")
    # Anna's travel policy is not in her cabinet yet: no policy for a case.
    assert "нет полисов ОСАГО, КАСКО, ВЗР" in chat.text
    assert chat.inline_buttons == ["🛒 Купить полис", "☎️ Контакты", "⬅️ Назад", "🏠 Меню"]


async def test_a_mistaken_reject_is_undone_by_the_operator(
    dp: Dispatcher, bot: Bot, chat: ChatClient, registered: Account
) -> None:
    await upload_all(chat)
    await chat.tap("📨 Отправить на проверку")
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    await operator.tap("❌ Отклонить")
    assert "⬅️ Назад" in operator.inline_buttons
    await operator.tap("⬅️ Назад")
    assert operator.inline_buttons == ["✅ Подтвердить", "❌ Отклонить"]
    await operator.tap("✅ Подтвердить")
    assert "Подтверждено" in operator.text
