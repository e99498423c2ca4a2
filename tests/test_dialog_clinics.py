"""Finding clinics and booking, driven as a person would: by name (with a typo), nearest to a
shared point with the switch to see the others, the card, booking in the chat, my bookings."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account, User
from core.clinics.booking import SlotTaken, book
from core.clinics.models import Booking, BookingStatus, ClinicSlot
from core.clock import FrozenClock
from core.i18n import translator
from core.notifications.delivery import deliver
from core.notifications.messages import render
from core.notifications.outbox import OutboxMessage, OutboxStatus
from core.policies.cabinet import PolicyView, my_policies
from core.policies.linking import ChildData, link_child
from tests.conftest import START, seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_appeals import tap_in
from tests.test_dialog_policies import add_by_number


async def with_policies(chat: ChatClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Anna's own regional franchise policy (still in its waiting period) and her Moscow
    corporate policy (no waiting period, Moscow fixed)."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По номеру полиса")
    await chat.send("DMS-K-2026-0001")
    assert "Добавлено" in chat.text or "DMS-K-2026-0001" in chat.text


async def test_by_name_with_a_typo_and_the_switch_for_unavailable_ones(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    assert "Отправьте название клиники" in chat.text
    await chat.send("тверскй")
    assert "Найдено по запросу «тверскй»: 1" in chat.text
    await chat.tap("Клиника «Здоровье на Тверской»")
    [venue] = chat.sent("sendVenue")
    assert venue.address == "Москва, ул. Тверская, д. 12, стр. 1"  # type: ignore[attr-defined]
    assert "✅ Вы можете обратиться в эту клинику." in chat.text
    assert "🩺 По полису DMS-K-2026-0001: " in chat.text
    assert "☎️ Пульт 24/7: +7 495 100-00-00" in chat.text, "that policy's desk, not the insurer's"
    assert {"🗓 Записаться в чате", "🗓 Записаться онлайн"} <= set(chat.inline_buttons)

    await chat.send("Казань")  # still searching: another name
    assert "есть, но сейчас вам в них обращаться нельзя" in chat.text
    await chat.tap("👁 Показать и недоступные")
    assert "⛔ Клиника «Казань-Мед»" in chat.inline_buttons
    assert "временная франшиза: обращения страхуются с 24.11.2026" in chat.text
    await chat.send_sticker()
    assert "Отправьте название клиники текстом" in chat.text
    await chat.send("💬 Обращения")  # nothing was typed: nothing is said to be kept
    assert chat.texts == ["У вас пока нет обращений."], chat.texts


async def test_the_pages_of_a_list_with_the_unavailable_ones_shown_keep_showing_them(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("клин")
    await chat.tap("👁 Показать и недоступные")
    assert "▶️" in chat.inline_buttons and "✅ Только доступные мне" in chat.inline_buttons
    first_page = [b for b in chat.inline_buttons if b.startswith(("Клин", "⛔", "Мед"))]
    await chat.tap("▶️")
    # the next page of the same list (the unavailable ones still shown), not of another one
    second_page = [b for b in chat.inline_buttons if b not in ("◀️", "▶️")]
    assert "✅ Только доступные мне" in second_page and "◀️" in chat.inline_buttons
    clinics = [b for b in second_page if not b.startswith(("✅", "⬅️", "🏠"))]
    assert clinics and not set(clinics) & set(first_page), (first_page, second_page)
    await chat.tap("◀️")
    assert "✅ Только доступные мне" in chat.inline_buttons


async def test_nearest_lists_what_the_person_may_visit_and_the_rest_on_request(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.share_location(55.7558, 37.6173)  # Red Square
    assert "Ближайшие к вам клиники, в которые можно обратиться" in chat.text
    names = chat.inline_buttons[:-1]
    assert names[0].startswith("Клиника «Здоровье на Тверской» · ")
    assert not any(n.startswith("⛔") for n in names)
    assert not any("Сокол" in n for n in names), "not in the Moscow corporate program"
    await chat.tap("👁 Показать и недоступные")
    assert any(n.startswith("⛔ Медицинский центр «Сокол»") for n in chat.inline_buttons)
    assert "⛔ Медицинский центр «Сокол»: временная франшиза" in chat.text
    # Adding the unavailable ones drops none of hers (a walker lost «Медлайн Восток» so).
    hers = [n for n in names if " · " in n]
    assert len(hers) == 5 and set(hers) <= set(chat.inline_buttons), chat.inline_buttons
    await chat.tap("✅ Только доступные мне")
    assert not any(n.startswith("⛔") for n in chat.inline_buttons)
    await chat.send("📍 Ближайшие клиники")  # the button's text, from a client without location
    assert "отправьте геопозицию через меню вложений" in chat.text


async def test_a_clinic_both_policies_cover_is_offered_under_the_one_without_a_co_payment(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """ONFR-600001 (a franchise program, added first) and DMS-K-2026-0001 (corporate, no
    co-payment) both cover the clinic: the visit is offered under the one that costs nothing."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONFR-600001")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По номеру полиса")
    await chat.send("DMS-K-2026-0001")
    await chat.share_location(55.7558, 37.6173)
    [tverskaya] = [b for b in chat.inline_buttons if b.startswith("Клиника «Здоровье на Тверской»")]
    await chat.tap(tverskaya)
    assert "✅ Вы можете обратиться в эту клинику." in chat.text
    assert "🩺 По полису DMS-K-2026-0001: " in chat.text, chat.text
    assert "☎️ Пульт 24/7: +7 495 100-00-00" in chat.text
    await chat.tap("🗓 Записаться в чате")
    await chat.tap("Терапевт")
    await chat.tap("Орлова Мария Петровна")
    await chat.tap(chat.inline_buttons[0])  # the first day offered
    await chat.tap(chat.inline_buttons[0])  # its first time
    assert "полис DMS-K-2026-0001" in chat.text, chat.text


async def test_booking_steps_name_the_day_and_go_back_one_choice_at_a_time(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Тверской")
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.tap("🗓 Записаться в чате")
    assert chat.inline_buttons[-1] == "⬅️ К клинике"  # the first choice: nothing to go back to
    await chat.tap("Терапевт")
    assert chat.texts[0].endswith("Терапевт: выберите врача"), (
        chat.texts
    )  # no colon before the buttons
    await chat.tap("Зайцев Игорь Олегович")
    await chat.tap("пн 23.11")
    # the time screen says which day it is for, and leads back to the days
    assert "Терапевт, Зайцев Игорь Олегович, 23.11.2026: выберите время" in chat.text
    assert chat.inline_buttons[-2:] == ["⬅️ Другой день", "⬅️ К клинике"]
    await chat.tap("⬅️ Другой день")
    assert "выберите день" in chat.text and "пн 23.11" in chat.inline_buttons
    await chat.tap("⬅️ Другой врач")
    assert "Терапевт: выберите врача" in chat.text
    await chat.tap("⬅️ Другая специальность")
    assert "Выберите специальность" in chat.text and "Терапевт" in chat.inline_buttons
    await chat.tap("⬅️ К клинике")  # the screen turns back into the card; the venue is above
    assert chat.sent("sendVenue") == [] and [c.__api_method__ for c in chat.calls] == [
        "editMessageText",
        "answerCallbackQuery",
    ]
    assert "🗓 Записаться в чате" in chat.inline_buttons
    await chat.tap("🗓 Записаться в чате")
    await chat.tap("Терапевт")
    await chat.tap("Орлова Мария Петровна")
    await chat.tap("пн 23.11")
    await chat.tap("09:00")
    assert "Записаться на приём?" in chat.text and "Орлова" in chat.text


async def test_booking_in_the_chat_then_cancelling_frees_the_slot_and_the_reminder(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Тверской")
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.tap("🗓 Записаться в чате")
    assert "Выберите специальность" in chat.text
    await chat.tap("Терапевт")
    await chat.tap("Зайцев Игорь Олегович")
    assert "выберите день" in chat.text and chat.inline_buttons[0] == "пн 23.11"
    await chat.tap("пн 23.11")
    assert chat.inline_buttons[:2] == ["09:00", "09:30"]
    await chat.tap("09:30")
    assert "Записаться на приём?" in chat.text and "Пациент: Иванова Анна" in chat.text
    await chat.tap("✅ Записаться")
    assert "✅ Вы записаны: Терапевт, Зайцев Игорь Олегович, 23.11.2026 в 09:30" in chat.text
    [given_up] = chat.sent("editMessageReplyMarkup")  # the question is answered: no buttons
    assert given_up.reply_markup is None  # type: ignore[attr-defined]
    await chat.tap("✅ Записаться")  # the old button, from a client that still shows it
    assert chat.text.startswith("Вы уже записаны на это время: Терапевт, Зайцев Игорь Олегович")
    assert "кто-то" not in chat.text
    async with sessions() as session:
        booking = await session.scalar(select(Booking))
        assert booking is not None and booking.status == BookingStatus.ACTIVE
        reminder = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "booking_reminder")
        )
        assert reminder is not None
        slot = await session.get(ClinicSlot, booking.slot_id)
        assert slot is not None and slot.taken
        assert reminder.send_after == slot.starts_at - timedelta(hours=24)
    text = render(reminder.kind, reminder.args, translator("ru"), "ru")
    assert text.startswith("⏰ Напоминание: Терапевт, Зайцев Игорь Олегович, 23.11.2026 в 09:30")

    await chat.tap("📅 Мои записи")
    assert "Терапевт, Зайцев Игорь Олегович, 23.11.2026 в 09:30" in chat.text
    await chat.tap("❌ Отменить: 23.11.2026 09:30")
    assert "Пациент: Иванова Анна, полис DMS-K-2026-0001" in chat.text, "whose visit it is"
    await chat.tap("❌ Да, отменить запись")
    assert "Запись отменена" in chat.text and "У вас нет записей на приём" in chat.text
    async with sessions() as session:
        slot = await session.get(ClinicSlot, booking.slot_id)
        reminder = await session.get(OutboxMessage, reminder.id)
    assert slot is not None and not slot.taken
    assert reminder is not None and reminder.status == OutboxStatus.WITHDRAWN
    # The old question's buttons, tapped again: the visit is cancelled already, and said so.
    for old_button in ("❌ Да, отменить запись", "❌ Отменить: 23.11.2026 09:30"):
        await chat.tap(old_button)
        assert "Эта запись уже отменена" in chat.text, old_button
        assert "У вас нет записей на приём" in chat.text


async def test_two_people_racing_for_one_slot_one_wins(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    async with sessions() as session:
        user = await session.scalar(select(User))
        assert user is not None
        view = next(
            v
            for v in await my_policies(session, user, today=clock.now().date())
            if v.policy.number == "DMS-K-2026-0001"
        )
        slot_id = await session.scalar(select(ClinicSlot.id).order_by(ClinicSlot.id))
    assert slot_id is not None

    async def attempt() -> str:
        async with sessions() as session:
            try:
                await book(session, user.id, view, slot_id, clock.now())
            except SlotTaken:
                return "lost"
            return "won"

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sorted(results) == ["lost", "lost", "lost", "won"]
    async with sessions() as session:
        assert len((await session.scalars(select(Booking))).all()) == 1
    with pytest.raises(SlotTaken):
        async with sessions() as session:
            await book(session, user.id, view, slot_id, clock.now())


def booked_elsewhere(
    session: AsyncSession, user: User, view: PolicyView, slot: ClinicSlot, clock: FrozenClock
) -> None:
    """A booking made outside this chat's steps (a policy the steps could not book under yet,
    a child's): the slot taken and the booking written as `book` writes them."""
    slot.taken = True
    session.add(
        Booking(
            user_id=user.id,
            policy_id=view.id,
            insured_person_id=view.person.id,
            clinic_id=slot.clinic_id,
            slot_id=slot.id,
            status=BookingStatus.ACTIVE,
            created_at=clock.now(),
        )
    )


async def ask_to_book(chat: ChatClient, doctor: str, day: str, time: str) -> None:
    """From the menu to «Book the visit?» of a therapist's time at the Tverskaya clinic."""
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Тверской")
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.tap("🗓 Записаться в чате")
    await chat.tap("Терапевт")
    await chat.tap(doctor)
    await chat.tap(day)
    await chat.tap(time)


async def book_in_chat(chat: ChatClient, doctor: str, day: str, time: str) -> None:
    await ask_to_book(chat, doctor, day, time)
    await chat.tap("✅ Записаться")


async def test_two_visits_at_one_time_are_refused_and_the_reminder_promise_is_true(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    await book_in_chat(chat, "Зайцев Игорь Олегович", "пн 23.11", "09:30")
    # Booked on 21.11 at 09:00 for 23.11: the day-before reminder will come.
    assert "Вы записаны" in chat.text and "напомню за день до приёма" in chat.text
    await book_in_chat(chat, "Орлова Мария Петровна", "пн 23.11", "09:30")
    assert "У вас уже есть запись на 09:30 в этот день" in chat.text
    assert chat.inline_buttons == ["📅 Мои записи", "⬅️ Другое время"]
    async with sessions() as session:
        assert len((await session.scalars(select(Booking))).all()) == 1

    await chat.send("👤 Профиль")
    await chat.tap("🔔 Уведомления")
    await chat.tap("✅ Напоминания")  # turned off
    await book_in_chat(chat, "Орлова Мария Петровна", "пн 23.11", "10:30")
    assert "Вы записаны" in chat.text and "напомню" not in chat.text  # reminders are off


async def test_a_visits_reminder_found_after_the_visit_began_is_withdrawn_not_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        user = User(
            telegram_id=77, first_name="Анна", language="ru", created_at=START, last_seen_at=START
        )
        session.add(user)
        await session.flush()
        session.add(
            OutboxMessage(
                user_id=user.id,
                kind="booking_reminder",
                args={"starts_at": (START + timedelta(hours=2)).isoformat(), "clinic": "К"},
                dedupe_key="late",
                status=OutboxStatus.PENDING,
                send_after=START,
                created_at=START,
            )
        )
        await session.commit()
    sent: list[Any] = []

    async def send(*args: Any, **kwargs: Any) -> None:
        sent.append(args)

    await deliver(sessions, send, START + timedelta(hours=3))  # the bot was down past the visit
    async with sessions() as session:
        message = await session.scalar(select(OutboxMessage))
    assert sent == [] and message is not None and message.status == OutboxStatus.WITHDRAWN


async def test_every_booking_message_names_the_patient_and_the_policy(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """A child's visits are booked in the parent's chat: the result, the reminder, «My
    bookings» and its cancel buttons say whose visit each one is (CONVERSATION.md 6)."""
    await with_policies(chat, sessions)
    await book_in_chat(chat, "Зайцев Игорь Олегович", "пн 23.11", "09:30")
    assert "Вы записаны" in chat.text
    assert "Пациент: Иванова Анна, полис DMS-K-2026-0001" in chat.text
    async with sessions() as session:
        reminder = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "booking_reminder")
        )
        assert reminder is not None
        text = render(reminder.kind, reminder.args, translator("ru"), "ru")
        assert text.endswith("\nПациент: Иванова Анна, полис DMS-K-2026-0001")
        # Her son's visit, booked as she would under his policy.
        user = await session.scalar(select(User))
        assert user is not None
        account = await session.scalar(select(Account))
        assert account is not None
        son = ChildData("Иванов", "Михаил", "Андреевич", date(2016, 3, 10))
        await link_child(session, user, account, "ONDL-500002", son, now=clock.now())
        [view] = [
            v
            for v in await my_policies(session, user, today=clock.now().date())
            if v.policy.number == "ONDL-500002"
        ]
        slot = await session.scalar(
            select(ClinicSlot).where(ClinicSlot.taken.is_(False)).order_by(ClinicSlot.starts_at)
        )
        assert slot is not None
        booked_elsewhere(session, user, view, slot, clock)
        await session.commit()
    await chat.tap("📅 Мои записи")
    assert "Пациент: Иванова Анна, полис DMS-K-2026-0001" in chat.text
    assert "Пациент: Иванов Михаил, полис ONDL-500002" in chat.text
    cancels = [b for b in chat.inline_buttons if b.startswith("❌")]
    assert len(cancels) == 2 and "· Анна" in cancels[1] and "· Михаил" in cancels[0], cancels


async def test_old_buttons_of_a_visit_whose_time_has_come_say_so(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    await ask_to_book(chat, "Орлова Мария Петровна", "пн 23.11", "10:30")  # left unconfirmed
    await book_in_chat(chat, "Зайцев Игорь Олегович", "пн 23.11", "09:30")
    await chat.tap("📅 Мои записи")
    clock.advance(timedelta(days=2, minutes=40))  # 23.11 at 09:40: the 09:30 visit has begun
    await chat.tap("❌ Отменить: 23.11.2026 09:30")
    assert chat.text.startswith("Терапевт, Зайцев Игорь Олегович, 23.11.2026 в 09:30: время")
    assert "нельзя отменить" in chat.text and "Запись отменена" not in chat.text
    async with sessions() as session:
        booking = await session.scalar(select(Booking))
        assert booking is not None and booking.status == BookingStatus.ACTIVE
        slot = await session.get(ClinicSlot, booking.slot_id)
        assert slot is not None and slot.taken, "a visit that began does not free its time"

    # The «Book» of the 10:30 time, confirmed now, 50 minutes before it: too late.
    orlova = "Орлова Мария Петровна, 23.11.2026 в 10:30"  # her question, higher up
    await tap_in(chat, orlova, "✅ Записаться")
    assert "10:30: это время уже прошло или до него меньше часа" in chat.text
    assert "Пациент: Иванова Анна, полис DMS-K-2026-0001" in chat.text
    assert "кто-то" not in chat.text
    await chat.tap("Выбрать другое время")
    assert "Терапевт, Орлова Мария Петровна: выберите день" in chat.text
    # At 10:40 the day's last times (11:00, 11:30) are less than an hour away: the old
    # question's «Another time» finds none that day, says so and leads to another day.
    clock.advance(timedelta(hours=1))
    await tap_in(chat, orlova, "⬅️ Другое время")
    assert "свободного времени на 23.11.2026 не осталось. Выберите другой день" in chat.text
    assert chat.inline_buttons == ["⬅️ Другой день", "⬅️ К клинике"]
    await chat.tap("⬅️ Другой день")
    assert "выберите день" in chat.text and "пн 23.11" not in chat.inline_buttons


async def test_a_fourth_visit_ahead_is_refused_before_its_choices_not_after(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    for time in ("09:00", "10:00", "11:00"):
        await book_in_chat(chat, "Зайцев Игорь Олегович", "пн 23.11", time)
        assert "Вы записаны" in chat.text, time
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Тверской")
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.tap("🗓 Записаться в чате")
    assert "У вас уже 3 записи на приём" in chat.text
    assert "Пациент: Иванова Анна, полис DMS-K-2026-0001" in chat.text
    assert chat.inline_buttons == ["📅 Мои записи", "⬅️ К клинике"]
    assert "Терапевт" not in chat.inline_buttons


async def test_the_nearest_clinics_without_a_policy_offer_the_way_to_add_one(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A walker, not registered yet, was told to add a policy with nothing to tap."""
    await seed_demo(sessions)
    await chat.send("/start")
    await chat.share_location(55.7558, 37.6173)
    assert "Добавьте полис, чтобы видеть" in chat.text
    assert "➕ Добавить полис" in chat.inline_buttons
    await chat.tap("➕ Добавить полис")  # registration first, not a number to be refused
    assert "Раздел откроется после регистрации" in chat.text, chat.text
    assert chat.inline_buttons == ["Продолжить регистрацию"]


async def test_a_persons_visits_are_counted_across_all_her_policies(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Each policy has its own insured-person row: a walker booked two visits at one hour
    under two policies of hers, and four visits under the limit of three."""
    await with_policies(chat, sessions)
    async with sessions() as session:
        user = await session.scalar(select(User))
        assert user is not None
        [other] = [
            v
            for v in await my_policies(session, user, today=clock.now().date())
            if v.policy.number == "ONDL-500001"
        ]
        slots = (
            await session.scalars(
                select(ClinicSlot)
                .where(ClinicSlot.doctor == "Орлова Мария Петровна")
                .order_by(ClinicSlot.starts_at)
            )
        ).all()
        for slot in (slots[1], slots[3]):  # 23.11 at 09:30 and 10:30, under her other policy
            booked_elsewhere(session, user, other, slot, clock)
        await session.commit()
    await book_in_chat(chat, "Зайцев Игорь Олегович", "пн 23.11", "09:30")
    assert "У вас уже есть запись на 09:30 в этот день" in chat.text
    await book_in_chat(chat, "Зайцев Игорь Олегович", "пн 23.11", "11:00")
    assert "Вы записаны" in chat.text
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Тверской")
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.tap("🗓 Записаться в чате")
    assert "У вас уже 3 записи на приём" in chat.text


async def test_an_expired_policy_is_not_named_among_those_the_list_is_checked_against(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await with_policies(chat, sessions)
    clock.advance(timedelta(days=45))  # 05.01.2027: DMS-K-2026-0001 ended on 31.12.2026
    await chat.share_location(55.7558, 37.6173)
    assert chat.text.startswith("Полис ONDL-500001 (Анна).")
    assert "DMS-K-2026-0001" not in chat.text


async def test_by_name_without_a_policy_has_no_switch_and_leads_to_adding_one(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("клин")
    assert "Добавьте свой полис, чтобы увидеть, в какие из них можно обратиться." in chat.text
    buttons = chat.inline_buttons
    assert "👁 Показать и недоступные" not in buttons, "it would change nothing"
    assert "✅ Только доступные мне" not in buttons
    assert "▶️" in buttons
    assert buttons.index("➕ Добавить полис") == buttons.index("▶️") + 1, buttons
    await chat.tap("▶️")
    assert "◀️" in chat.inline_buttons and "➕ Добавить полис" in chat.inline_buttons
    await chat.tap("➕ Добавить полис")
    assert "По номеру полиса" in chat.inline_buttons


async def test_the_nearest_clinics_far_from_home_lead_to_the_desk(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.share_location(55.7558, 37.6173)  # Red Square: the clinics are near
    assert "Вне дома звоните" not in chat.text
    await chat.share_location(43.1155, 131.8855)  # Vladivostok: the nearest is thousands of km off
    assert "(до ближайшей 6" in chat.text, chat.text
    assert chat.text.endswith(
        "Рядом с вами ни одной из них нет. Вне дома звоните на пульт 24/7 +7 495 100-00-00: "
        "помощь организуют там, где вы находитесь."
    ), chat.text


async def test_the_nearest_with_the_unavailable_ones_is_one_screen_without_a_page_turn(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.share_location(43.1155, 131.8855)  # Vladivostok
    await chat.tap("👁 Показать и недоступные")
    clinics = [b for b in chat.inline_buttons if " км" in b]
    assert len(clinics) > 8, chat.inline_buttons  # more than a page of a search list
    assert "▶️" not in chat.inline_buttons and "◀️" not in chat.inline_buttons
    assert "✅ Только доступные мне" in chat.inline_buttons


async def test_a_time_typed_while_booking_is_not_searched_as_a_clinics_name(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await with_policies(chat, sessions)
    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("Тверской")
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.send("Казань")  # below the card the list's search still goes on
    assert "Казань" in chat.text
    await chat.tap("Клиника «Здоровье на Тверской»")
    await chat.tap("🗓 Записаться в чате")
    await chat.tap("Терапевт")
    await chat.send("10:00")
    assert "По запросу" not in chat.text and "ничего не найдено" not in chat.text, chat.text
    await chat.send_sticker()
    assert "название клиники" not in chat.text, chat.text
