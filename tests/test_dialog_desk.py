"""The desk and the person after the answer (issue 17): the topic follows its appeal (name,
closed/reopened, buttons), the desk speaks its own language, long texts go both ways in parts,
the operator learns whether the answer was delivered, a stale "taken" notice held by quiet hours
is withdrawn, rating and reopening, and the daily limit on new appeals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time, timedelta

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notify import telegram_send
from bot.texts import utf16_len
from core.accounts.models import Account, User
from core.appeals.models import Appeal, AppealKind, AppealMessage, AppealStatus
from core.appeals.service import file_appeal
from core.clock import FrozenClock
from core.config import Settings
from core.jobs import scheduled_ticks
from core.notifications.delivery import Blocked, Courier, Rejected, Send
from core.notifications.messages import Action
from core.notifications.outbox import OutboxMessage, OutboxStatus
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT
from tests.dialog import ChatClient


def operator_of(chat: ChatClient, language: str = "ru") -> ChatClient:
    return ChatClient(
        chat.dp,
        chat.bot,
        user_id=OPERATOR_ID,
        first_name="Ольга",
        language_code=language,
        group_id=OPERATORS_CHAT,
    )


async def file_thanks(chat: ChatClient, text: str = "Спасибо врачу Орловой за внимание!") -> int:
    """Files a "thanks" appeal; returns its topic."""
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение" if chat.user.language_code == "ru" else "➕ New appeal")
    await chat.tap("Благодарность" if chat.user.language_code == "ru" else "Thanks")
    await chat.send(text)
    await chat.tap("✅ Отправить" if chat.user.language_code == "ru" else "✅ Send")
    card = next(
        c
        for c in chat.sent("sendMessage")
        if c.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    )
    return int(card.message_thread_id)  # type: ignore[attr-defined]


class Desk:
    """What the scheduler's courier posts in the desk's topics (as main.py wires it)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.posts: list[tuple[int | None, str]] = []

    async def __call__(self, thread: int | None, text: str) -> None:
        self.posts.append((thread, text))
        await self.bot.send_message(OPERATORS_CHAT, text, message_thread_id=thread)


async def run_courier(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    desk: Desk,
    send: Send,
    courier: Courier | None = None,
) -> None:
    ticks = scheduled_ticks(
        sessions,
        clock,
        send=send,
        desk=desk,
        courier=courier or Courier(quiet=None, per_chat_interval=0),
    )
    await ticks["deliver_outbox"][0]()


def recording(bot: Bot, into: list[str]) -> Send:
    telegram = telegram_send(bot)

    async def send(chat_id: int, text: str, actions: Sequence[Action] = ()) -> None:
        into.append(text)
        await telegram(chat_id, text, actions)

    return send


def at_most_4096(text: str) -> str:
    """The longest message a person or an operator can send (Telegram's limit)."""
    while utf16_len(text) > 4096:
        text = text[:-1]
    return text


async def stored(sessions: async_sessionmaker[AsyncSession]) -> Appeal:
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None
    return appeal


async def test_the_topic_follows_the_appeal_and_the_person_rates_and_reopens_it(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    thread = await file_thanks(chat)
    [topic] = chat.sent("createForumTopic")
    assert topic.name == "🆕 О-26-000001 · Благодарность"  # type: ignore[attr-defined]
    operator, desk, person = operator_of(chat), Desk(bot), []  # type: ignore[var-annotated]
    await operator.tap("🙋 Взять")
    [renamed] = operator.sent("editForumTopic")
    assert renamed.name == "🙋 О-26-000001 · Благодарность"  # type: ignore[attr-defined]
    [buttons] = operator.sent("editMessageReplyMarkup")
    shown = [b.text for row in buttons.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert "🙋 Взять" not in shown and "✅ Закрыть" in shown
    await operator.send_in_topic("Передадим благодарность врачу.", thread)
    assert "Ответ поставлен в очередь" in operator.text
    assert operator.sent("editForumTopic")[0].name.startswith("💬 ")  # type: ignore[attr-defined]
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert any("Передадим благодарность врачу." in text for text in person)
    assert (thread, "✉️ Ответ доставлен человеку.") in desk.posts

    await operator.tap("✅ Закрыть")
    assert "закрыл(а) обращение" in operator.text
    [renamed] = operator.sent("editForumTopic")
    assert renamed.name == "✅ О-26-000001 · Благодарность"  # type: ignore[attr-defined]
    [closed] = operator.sent("closeForumTopic")
    assert closed.message_thread_id == thread  # type: ignore[attr-defined]
    [buttons] = operator.sent("editMessageReplyMarkup")
    assert buttons.reply_markup is None, "no Take or Close on a closed appeal"  # type: ignore[attr-defined]
    await operator.callback(f"dk:{1}:close")  # an old button of the card
    assert "уже закрыто" in operator.text and not operator.sent("closeForumTopic")

    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "Пожалуйста, оцените ответ" in person[-1] and "до 28.11.2026" in person[-1]
    await chat.tap("⭐ Оценить ответ")
    rating_screen = next(c for c in reversed(chat.calls) if "Как вы оцениваете" in str(c))
    await chat.tap("⭐⭐⭐⭐")
    assert "Спасибо за оценку" in chat.text
    assert any("Человек оценил ответ: 4/5" in t for t in chat.texts)
    assert (await stored(sessions)).rating == 4
    # The old buttons rate nothing again (a walker's second rating reached the desk).
    [one_star] = [
        b.callback_data
        for row in rating_screen.reply_markup.inline_keyboard  # type: ignore[attr-defined]
        for b in row
        if b.text == "⭐"
    ]
    await chat.callback(str(one_star), rating_screen)
    assert "больше не действует" in chat.text and not chat.sent("sendMessage")
    await chat.tap("⭐ Оценить ответ")
    assert "больше не действует" in chat.text
    assert (await stored(sessions)).rating == 4
    await operator.send("/stats")
    assert "Оценка ответов: 4 из 5 (1)" in operator.text and "Закрыто сегодня: 1" in operator.text

    clock.advance(timedelta(days=3))
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · закрыто")
    await chat.tap("↩️ Открыть снова с сообщением")
    await chat.send("И ещё: медсестре Ивановой тоже спасибо.")
    assert "открыто снова" in chat.text
    assert chat.sent("reopenForumTopic")[0].message_thread_id == thread  # type: ignore[attr-defined]
    assert chat.sent("editForumTopic")[0].name == "🙋 О-26-000001 · Благодарность"  # type: ignore[attr-defined]
    assert any("медсестре Ивановой" in t for t in chat.texts if "Человек пишет" in t)
    appeal = await stored(sessions)
    assert appeal.status == AppealStatus.IN_PROGRESS and appeal.rating is None

    told = len(person)
    await operator.tap("✅ Закрыть")  # closed again: told again; the reopening took the rating
    await run_courier(sessions, clock, desk, recording(bot, person))
    [closed_again] = person[told:]
    assert "О-26-000001 закрыто" in closed_again and "оцените ответ" in closed_again
    clock.advance(timedelta(days=8))
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · закрыто")
    assert "↩️ Открыть снова с сообщением" not in chat.inline_buttons
    await chat.callback(f"al:reopen:{appeal.id}:0:0")
    assert "уже нельзя открыть снова" in chat.text
    assert (await stored(sessions)).status == AppealStatus.CLOSED


async def test_an_appeal_the_desk_closes_unanswered_asks_for_no_rating(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    await file_thanks(chat)
    operator, desk, person = operator_of(chat), Desk(bot), []  # type: ignore[var-annotated]
    await operator.tap("🙋 Взять")
    await operator.tap("✅ Закрыть")  # no answer written
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "закрыто" in person[-1] and "до 28.11.2026" in person[-1]
    assert "оцените" not in person[-1]
    [notice] = [
        c
        for c in chat.session.calls
        if c.__api_method__ == "sendMessage" and c.chat_id == chat.user.id  # type: ignore[attr-defined]
    ][-1:]
    buttons = [b.text for row in notice.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert buttons == ["💬 Открыть обращение"]
    await chat.tap("💬 Открыть обращение")
    assert "⭐ Оценить ответ" not in chat.inline_buttons


async def test_the_desk_speaks_russian_to_an_english_speaking_person(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.id == registered.user_id))
        assert user is not None
        user.language = "en"
        await session.commit()
    chat.user = chat.user.model_copy(update={"language_code": "en"})
    thread = await file_thanks(chat, "Thank you, doctor Orlova!")
    assert "Appeal <b>О-26-000001</b> was received" in chat.text
    [topic] = chat.sent("createForumTopic")
    assert topic.name == "🆕 О-26-000001 · Благодарность"  # type: ignore[attr-defined]
    card = next(t for t in chat.texts if "Thank you, doctor Orlova!" in t)
    assert "Благодарность О-26-000001" in card and "От: Анна И." in card
    assert "Отвечайте в этой теме" in card
    operator = operator_of(chat, language="en")
    await operator.tap("🙋 Взять")
    assert "Ольга взял(а) обращение" in operator.text
    await operator.send_in_topic("Мы передадим благодарность. / We will pass it on.", thread)
    assert "Ответ поставлен в очередь" in operator.text
    person: list[str] = []
    await run_courier(sessions, clock, Desk(bot), recording(bot, person))
    assert any(t.startswith("💬 Operator Ольга answers your appeal О-26-000001") for t in person)


async def test_long_texts_go_both_ways_in_parts_and_the_operator_learns_what_was_delivered(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    thread = await file_thanks(chat)
    operator, desk = operator_of(chat), Desk(bot)
    paragraph = "Подробный ответ по программе 😊 " * 40  # astral emoji: two UTF-16 units each
    long_answer = at_most_4096("\n\n".join([paragraph] * 4))
    await operator.send_in_topic(long_answer, thread)
    person: list[str] = []
    before = len(chat.session.calls)
    await run_courier(sessions, clock, desk, recording(bot, person))
    parts = [
        str(c.text)  # type: ignore[attr-defined]
        for c in chat.session.calls[before:]
        if c.__api_method__ == "sendMessage" and c.chat_id == chat.user.id  # type: ignore[attr-defined]
    ]
    assert len(parts) >= 2 and all(utf16_len(part) <= 4096 for part in parts)
    assert "".join(parts).count("Подробный ответ") == long_answer.count("Подробный ответ")
    assert (thread, "✉️ Ответ доставлен человеку.") in desk.posts

    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · есть ответ")
    await chat.tap("✍️ Добавить сообщение")
    follow_up = at_most_4096("\n".join(["Уточняю детали визита 🏥 в клинику."] * 120))
    await chat.send(follow_up)
    posted = [
        str(c.text)  # type: ignore[attr-defined]
        for c in chat.sent("sendMessage")
        if c.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    ]
    assert len(posted) >= 2 and all(utf16_len(p) <= 4096 for p in posted)
    assert "".join(posted).count("Уточняю детали") == follow_up.count("Уточняю детали")

    async def refused(chat_id: int, text: str, actions: Sequence[Action] = ()) -> None:
        raise Rejected("Bad Request: chat not found")

    await operator.send_in_topic("Второй ответ.", thread)
    await run_courier(sessions, clock, desk, refused)
    assert (thread, "❌ Ответ не доставлен: Bad Request: chat not found.") in desk.posts

    async def blocked(chat_id: int, text: str, actions: Sequence[Action] = ()) -> None:
        raise Blocked("Forbidden: bot was blocked by the user")

    await operator.send_in_topic("Третий ответ.", thread)
    await run_courier(sessions, clock, desk, blocked)
    assert any("человек заблокировал бота" in text for _, text in desk.posts)
    async with sessions() as session:
        statuses = list(
            await session.scalars(
                select(OutboxMessage.status)
                .where(OutboxMessage.kind == "appeal_answer")
                .order_by(OutboxMessage.id)
            )
        )
    assert statuses == [OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.PENDING]


async def test_a_taken_notice_held_for_the_morning_is_withdrawn_once_the_appeal_moved_on(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    clock.advance(timedelta(hours=10))  # 22:00 in Moscow
    thread = await file_thanks(chat)
    operator, desk = operator_of(chat), Desk(bot)
    quiet = Courier(quiet=(time(22), time(9)), per_chat_interval=0)
    person: list[str] = []
    await operator.tap("🙋 Взять")
    await run_courier(sessions, clock, desk, recording(bot, person), quiet)
    assert person == [], "«taken» waits for the morning"
    await operator.send_in_topic("Передадим благодарность.", thread)
    await operator.tap("✅ Закрыть")
    await run_courier(sessions, clock, desk, recording(bot, person), quiet)
    assert any("Передадим благодарность." in t for t in person)
    clock.advance(timedelta(hours=11))  # 09:00
    await run_courier(sessions, clock, desk, recording(bot, person), quiet)
    assert not any("взято в работу" in t for t in person)
    assert any("закрыто" in t for t in person)
    async with sessions() as session:
        taken = await session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.kind == "appeal_taken")
        )
    assert taken == OutboxStatus.WITHDRAWN


async def test_a_person_cannot_open_more_appeals_a_day_than_allowed(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    settings.appeals_per_day = 2
    await file_thanks(chat, "Спасибо врачу Орловой!")
    clock.advance(timedelta(hours=1))
    await file_thanks(chat, "Спасибо медсестре Ивановой!")
    clock.advance(timedelta(hours=1))
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    assert "За последние 24 часа вы отправили обращений: 2" in chat.text
    assert "Новое можно отправить с 12:00 22.11.2026 (по Москве)" in chat.text
    assert "8 800 100-00-00" in chat.text
    clock.advance(timedelta(hours=22))  # 24 h after the first one
    await file_thanks(chat, "Спасибо регистратуре!")
    async with sessions() as session:
        texts = list(await session.scalars(select(AppealMessage.text)))
    assert len(texts) == 3


async def test_a_form_refused_by_the_daily_limit_at_send_is_kept_for_later(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    """The limit is checked when the form starts and again when it is sent: an appeal filed
    meanwhile (another device, a case opened for the person) may reach it. The form written
    so far is kept and its «Отправить» works once the limit allows."""
    settings.appeals_per_day = 1
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Благодарность")
    await chat.send("Спасибо врачу Орловой!")
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_id == chat.user.id))
        assert user is not None
        await file_appeal(session, user.id, AppealKind.THANKS, text="Спасибо!", now=clock.now())
    await chat.tap("✅ Отправить")
    assert "Новое можно отправить с 12:00 22.11.2026 (по Москве)" in chat.text
    assert "Форма сохранена" in chat.text
    clock.advance(timedelta(hours=24))
    await chat.tap("✅ Отправить")  # the form's own button, higher up
    assert "получено" in chat.text, chat.text
    async with sessions() as session:
        texts = list(await session.scalars(select(AppealMessage.text)))
    assert sorted(texts) == ["Спасибо врачу Орловой!", "Спасибо!"]


async def test_every_appeal_prompt_can_be_cancelled_and_an_old_cancel_is_stale(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Благодарность")
    assert "✖️ Отмена" in chat.inline_buttons, "the text prompt has a way out"
    await chat.tap("✖️ Отмена")
    assert "Обращение не отправлено." in chat.text
    await chat.send("Спасибо!")  # no longer taken as the appeal's text
    async with sessions() as session:
        assert list(await session.scalars(select(Appeal.id))) == []

    await file_thanks(chat, "Спасибо врачу Орловой!")
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · получено")
    await chat.tap("✍️ Добавить сообщение")
    assert "Напишите сообщение к обращению О-26-000001" in chat.text
    await chat.tap("✖️ Отмена")
    assert "О-26-000001" in chat.text and "✍️ Добавить сообщение" in chat.inline_buttons
    await chat.send("Это не сообщение к обращению.")
    await chat.tap("✖️ Отмена")  # the prompt's Cancel again, higher up
    assert "Эта кнопка больше не действует" in chat.text
    async with sessions() as session:
        texts = list(await session.scalars(select(AppealMessage.text)))
    assert texts == ["Спасибо врачу Орловой!"]


async def test_a_description_at_telegrams_limit_is_kept_whole_and_shown_in_parts(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = at_most_4096("\n".join(["Благодарю весь персонал клиники 🏥 за заботу."] * 100))
    await file_thanks(chat, text)
    async with sessions() as session:
        assert await session.scalar(select(AppealMessage.text)) == text
    posted = [
        str(c.text)  # type: ignore[attr-defined]
        for c in chat.sent("sendMessage")
        if c.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    ]
    assert len(posted) >= 2 and "".join(posted).count("Благодарю") == text.count("Благодарю")
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · получено")
    shown = chat.texts
    assert len(shown) >= 2 and all(utf16_len(t) <= 4096 for t in shown)
    assert "✍️ Добавить сообщение" in chat.inline_buttons
    every = [str(c.text) for c in chat.session.calls if getattr(c, "text", None)]  # type: ignore[attr-defined]
    assert all(utf16_len(t) <= 4096 for t in every), "the summary and the receipt fit too"
