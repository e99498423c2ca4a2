"""Services with the diagnosis shown only on a tap and appeals started from a service, a clinic
card and a policy card; overdue appeals flagged for the desk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account
from core.appeals.models import Appeal, AppealKind, AppealOutcome
from core.clock import FrozenClock
from core.jobs import scheduled_ticks
from core.notifications.outbox import OutboxMessage
from tests.billing import bills
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_clinics import with_policies
from tests.test_dialog_desk import operator_of
from tests.test_dialog_policies import add_by_number


async def test_a_service_shows_its_diagnosis_on_a_tap_and_starts_a_not_provided_appeal(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await bills(sessions, clock, "136.00")
    await bills(sessions, clock, "136.00")  # the same file again: still one message a day
    async with sessions() as session:
        news = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "new_services"))
        ).all()
    assert len(news) == 1 and news[0].args["number"] == "ONDL-500001"
    await chat.tap("🧾 Услуги")
    assert "от 10 дней после приёма" in chat.text
    assert "Ушиб" not in chat.text, "health data only on a tap"
    await chat.tap("3 месяца")
    assert "• 3 месяца" in chat.inline_buttons
    await chat.tap("🔎 21.11.2026 · Повторная консультация")
    assert "ваша доля 136 ₽" in chat.text and "Ушиб" not in chat.text
    await chat.tap("🔒 Показать диагноз")
    assert "Диагноз: Ушиб грудной клетки" in chat.text
    await chat.tap("🚫 Услуга не оказывалась")
    assert "Расскажите, что не было оказано" in chat.text
    await chat.send("Консультации не было, я не приходила в этот день.")
    assert "Услуга: 21.11.2026 · Повторная консультация · ВОККДЦ" in chat.text
    await chat.tap("✅ Отправить")
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.kind == AppealKind.NOT_PROVIDED and appeal.bill_id

    # A dispute is closed with an explicit outcome, which billing acts on.
    operator = operator_of(chat)
    await operator.tap("🙋 Взять")
    [markup] = operator.sent("editMessageReplyMarkup")
    shown = [b.text for row in markup.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert "✅ Подтверждено, закрыть" in shown and "❌ Отклонено, закрыть" in shown
    assert "✅ Закрыть" not in shown
    await operator.callback(f"dk:{appeal.id}:close")  # a plain Close cannot end a dispute
    assert "подтверждено или отклонено" in operator.text
    await operator.tap("✅ Подтверждено, закрыть")
    assert "закрыл(а) обращение: подтверждено" in operator.text
    async with sessions() as session:
        closed = await session.get(Appeal, appeal.id)
        told = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "appeal_closed")
        )
    assert closed is not None and closed.outcome == AppealOutcome.CONFIRMED
    assert told is not None and told.args["outcome"] == "confirmed"


async def test_an_appointment_request_from_a_clinic_without_online_booking(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Белая улыбка")
    await chat.tap("Стоматология «Белая улыбка»")
    assert "🗓 Записаться онлайн" not in chat.inline_buttons
    await chat.tap("📝 Заявка на запись")
    assert "Какой врач или услуга нужны?" in chat.text, "the clinic and the policy are known"
    await chat.send("Стоматолог-терапевт")
    await chat.send("будни после 18:00")
    await chat.tap("+7 916 123-45-67")
    assert "Клиника: Стоматология «Белая улыбка», Москва" in chat.text
    assert "Полис: DMS-K-2026-0001" in chat.text
    await chat.tap("✅ Отправить")
    card = next(t for t in chat.texts if "Запись на приём О-26-000001" in t)
    assert card.count("Запись на приём") == 1, "the card does not repeat itself in the body"
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.kind == AppealKind.APPOINTMENT and appeal.clinic_id


async def test_an_appeal_without_an_answer_for_a_day_is_flagged_once(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Другое")
    await chat.send("Как получить справку для бассейна?")
    await chat.tap("Готово")
    await chat.tap("✅ Отправить")
    posted: list[tuple[int | None, str]] = []

    async def desk(thread: int | None, text: str) -> None:
        posted.append((thread, text))

    tick = scheduled_ticks(sessions, clock, desk=desk)["overdue_appeals"][0]
    clock.advance(timedelta(hours=23))
    await tick()
    assert posted == []
    clock.advance(timedelta(hours=2))
    await tick()
    await tick()
    [(thread, text)] = posted
    assert thread is not None and text == "⏰ На обращение О-26-000001 нет ответа больше 24 ч."


async def test_services_come_in_pages(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await bills(sessions, clock, *["100.00"] * 10)
    await chat.tap("🧾 Услуги")
    assert "Услуг: 10" in chat.text and "Страница 1 из 2" in chat.text
    assert chat.text.count("Повторная консультация") == 8
    await chat.tap("▶️")
    assert "Страница 2 из 2" in chat.text and chat.text.count("Повторная консультация") == 2
