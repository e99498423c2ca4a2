"""The desk, what issue 17 left: a reopened or followed-up appeal waits for the desk again
(overdue, /open, /stats), a case's history in the desk names its stages and amounts, an
operator's sticker reaches the person or the operator learns it did not, cases need a policy,
name it, the operator's name reaches the person, appeal numbers in Latin letters are found,
and a person with no policies is refused a case with a way on."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account
from core.appeals.models import Appeal
from core.clock import FrozenClock
from core.jobs import scheduled_ticks
from core.notifications.outbox import OutboxMessage
from tests.conftest import seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_cases import anna_has, case_of
from tests.test_dialog_desk import Desk, file_thanks, operator_of, recording, run_courier, stored
from tests.test_dialog_policies import add_by_number


async def test_a_reopened_or_followed_up_appeal_waits_for_the_desk_again(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    thread = await file_thanks(chat)
    operator, desk, person = operator_of(chat), Desk(bot), []  # type: ignore[var-annotated]
    flagged: list[tuple[int | None, str]] = []

    async def desk_notes(thread: int | None, text: str) -> None:
        flagged.append((thread, text))

    overdue = scheduled_ticks(sessions, clock, desk=desk_notes)["overdue_appeals"][0]
    await operator.send("/stats")
    assert "Без ответа: 1" in operator.text
    await operator.send_in_topic("Передадим благодарность врачу.", thread)
    await operator.send("/stats")
    assert "Без ответа: 0" in operator.text
    await operator.send("/open")
    assert "есть ответ, очередь человека" in operator.text

    # A follow-up after the answer waits for the desk again, and is flagged when it waits long.
    clock.advance(timedelta(hours=2))
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · есть ответ")
    await chat.tap("✍️ Добавить сообщение")
    await chat.send("А можно передать и медсестре?")
    assert (await stored(sessions)).waiting_since == clock.now()
    await operator.send("/stats")
    assert "Без ответа: 1" in operator.text
    clock.advance(timedelta(hours=3))
    await operator.send("/open")
    assert "3 часа в очереди" in operator.text, "the wait counts from the follow-up"
    clock.advance(timedelta(hours=22))
    await overdue()
    [(flagged_thread, text)] = flagged
    assert flagged_thread == thread and "О-26-000001 нет ответа больше 24 ч" in text
    await overdue()
    assert len(flagged) == 1, "each wait is flagged once"

    await operator.send_in_topic("Передали и медсестре.", thread)
    await operator.tap("✅ Закрыть")
    await run_courier(sessions, clock, desk, recording(bot, person))
    await operator.send("/stats")
    assert "Открыто: 0" in operator.text and "Без ответа: 0" in operator.text

    # Reopened: waiting again, counted and flagged again past the limit.
    clock.advance(timedelta(days=1))
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · закрыто")
    await chat.tap("↩️ Открыть снова с сообщением")
    await chat.send("И регистратуре спасибо.")
    await operator.send("/stats")
    assert "Открыто: 1" in operator.text and "Без ответа: 1" in operator.text
    await operator.send("/open")
    assert "О-26-000001" in operator.text and "в очереди" in operator.text
    clock.advance(timedelta(hours=25))
    await overdue()
    assert len(flagged) == 2 and "О-26-000001 нет ответа больше 24 ч" in flagged[-1][1]


async def test_the_person_hears_the_operators_first_name_and_a_sticker_is_not_lost_silently(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    thread = await file_thanks(chat)
    operator, desk, person = operator_of(chat), Desk(bot), []  # type: ignore[var-annotated]
    operator.user = operator.user.model_copy(update={"last_name": "Петрова"})
    await operator.tap("🙋 Взять")
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "взято в работу. Оператор Ольга ответит здесь" in person[-1]
    assert "Петрова" not in person[-1], "the surname stays in the desk"

    await operator.send_sticker("👍", thread=thread)
    assert "Не отправлено" in operator.text and "текст, фото и файлы" in operator.text
    async with sessions() as session:
        answers = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "appeal_answer")
        )
    assert answers == 0

    await operator.send_in_topic("Передадим благодарность врачу.", thread)
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert person[-1].startswith("💬 Оператор Ольга отвечает на обращение О-26-000001:")
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Благодарность · есть ответ")
    assert "<i>Оператор Ольга, 21.11.2026" in chat.text and "Петрова" not in chat.text


async def test_a_case_in_the_desk_shows_its_stages_in_words_and_is_found_by_a_latin_number(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    await seed_demo(sessions)
    await anna_has(
        sessions,
        clock,
        policy_number="PRP-0003",
        product="Имущество",
        kind="property",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
    )
    await add_by_number(chat, "PRP-0003")
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("PRP-0003 · Анна")
    await chat.send("19.11.2026")
    await chat.send("Москва, Ленинский 10, кв. 5")
    await chat.send("Соседи сверху затопили кухню.")
    await chat.tap("Готово")
    await chat.tap("✅ Отправить")
    thread = (await case_of(sessions, "С-26-000001")).operators_thread_id
    assert thread is not None
    operator, desk, person = operator_of(chat), Desk(bot), []  # type: ignore[var-annotated]
    await operator.tap("📄 Запросить документы")
    prompt = int((await case_of(sessions, "С-26-000001")).desk_prompt.split(":")[0])  # type: ignore[union-attr]
    await operator.send_in_topic("Акт управляющей компании", thread, reply_to=prompt)
    await operator.tap("💰 Выплата")
    prompt = int((await case_of(sessions, "С-26-000001")).desk_prompt.split(":")[0])  # type: ignore[union-attr]
    await operator.send_in_topic("42 500 на карту до 05.12", thread, reply_to=prompt)
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "выплата 42\xa0500 ₽" in person[-1] and "Оператор Ольга" in person[-1]

    for typed in ("c-26-000001", "C-26-000001", "С-26-000001", "с–26–000001"):
        await operator.send(f"/appeal {typed}")
        shown = operator.text
        assert "С-26-000001" in shown, typed
        assert "Этап: решение: выплата" in shown and "Выплата: 42\xa0500 ₽" in shown
        assert "запрошены документы: Акт управляющей компании" in shown
        assert "решение: выплата: на карту до 05.12" in shown
        assert "[paid]" not in shown and "[documents]" not in shown
    await operator.send("/appeal o-26-000001")
    assert "Обращения с таким номером нет" in operator.text


async def test_a_person_without_policies_is_refused_a_case_with_the_ways_on(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    assert "в вашем кабинете пока нет полисов" in chat.text
    assert "Какой полис" not in chat.text
    assert chat.inline_buttons[:3] == ["➕ Добавить полис", "🛒 Купить полис", "☎️ Контакты"]
    await chat.tap("➕ Добавить полис")
    assert "Как добавить полис?" in chat.text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 0


async def test_a_case_and_a_thanks_name_the_policy_and_the_insured_person(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: RecordingMailer,
) -> None:
    await seed_demo(sessions)
    await anna_has(
        sessions,
        clock,
        policy_number="PRP-0003",
        product="Имущество",
        kind="property",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
    )
    await add_by_number(chat, "PRP-0003")
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("PRP-0003 · Анна")
    for answer in ("19.11.2026", "Москва, Ленинский 10, кв. 5", "Соседи сверху затопили кухню."):
        assert chat.text.startswith("🚨 Случай по полису PRP-0003 (Анна Иванова)\n"), chat.text
        await chat.send(answer)
    assert chat.text.startswith("🚨 Случай по полису PRP-0003 (Анна Иванова)\nПриложите фото")
    await chat.tap("Готово")
    assert "Полис: PRP-0003 (Анна Иванова)" in chat.text
    await chat.tap("✅ Отправить")
    card = next(t for t in chat.texts if "Страховой случай С-26-000001" in t)
    assert "Полис: PRP-0003 (Анна Иванова)" in card
    [(_to, subject, letter)] = mailbox.letters[-1:]
    assert "С-26-000001" in subject and "Полис: PRP-0003 (Анна Иванова)" in letter

    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Благодарность")
    assert "К какому полису" in chat.text
    await chat.tap("ONDL-500001 · Анна")
    await chat.send("Спасибо врачу Орловой за внимание!")
    assert "Полис: ONDL-500001 (Анна Иванова)" in chat.text
    await chat.tap("✅ Отправить")
    card = next(t for t in chat.texts if "Благодарность О-26-000002" in t)
    assert "Полис: ONDL-500001 (Анна Иванова)" in card
    [(_to, subject, letter)] = mailbox.letters[-1:]
    assert "О-26-000002" in subject and "Полис: ONDL-500001 (Анна Иванова)" in letter
