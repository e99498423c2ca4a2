"""Booking entitlement is checked where a booking is made (issue 16, item 8): edited callback
data cannot book a clinic outside the person's program or closed to them, and one person holds
at most three visits ahead."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import BookingCallback
from core.accounts.models import Account
from core.clinics.models import Booking, Clinic, ClinicSlot
from core.clock import FrozenClock
from core.policies.models import Policy
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_policies import add_by_number


async def slots_of(sessions: async_sessionmaker[AsyncSession], code: str) -> tuple[int, list[int]]:
    async with sessions() as session:
        clinic = await session.scalar(select(Clinic.id).where(Clinic.code == code))
        assert clinic is not None
        slots = (
            await session.execute(
                select(ClinicSlot.id, ClinicSlot.starts_at)
                .where(ClinicSlot.clinic_id == clinic)
                .order_by(ClinicSlot.starts_at, ClinicSlot.id)
            )
        ).all()
    # One slot per time: a person's two visits at one time are refused on their own.
    firsts = {starts_at: slot_id for slot_id, starts_at in reversed(slots)}
    return clinic, [firsts[starts_at] for starts_at in sorted(firsts)]


async def policy_id(sessions: async_sessionmaker[AsyncSession], number: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Policy.id).where(Policy.number == number))
    assert found is not None
    return found


async def booked(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Booking)) or 0)


async def test_edited_buttons_cannot_book_a_closed_clinic_and_three_visits_ahead_at_most(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")  # franchise not activated, in its waiting period
    await add_by_number(chat, "DMS-K-2026-0001")  # Moscow corporate: not Kazan
    kazan, kazan_slots = await slots_of(sessions, "KZN-001")  # a franchise-only clinic
    own = await policy_id(sessions, "ONDL-500001")
    corporate = await policy_id(sessions, "DMS-K-2026-0001")
    for policy in (own, corporate):  # closed to her / outside the program: edited data
        forged = BookingCallback(clinic=kazan, policy=policy, slot=kazan_slots[0], confirm=True)
        await chat.callback(forged.pack())
        assert "не пускает в эту клинику сейчас, поэтому записаться нельзя" in chat.text
        assert "🏥 Клиника" in chat.inline_buttons
    assert await booked(sessions) == 0
    async with sessions() as session:
        slot = await session.get(ClinicSlot, kazan_slots[0])
        assert slot is not None and not slot.taken

    tverskaya, slots = await slots_of(sessions, "MSK-001")  # in her corporate program
    for slot_id in slots[:3]:
        await chat.callback(
            BookingCallback(clinic=tverskaya, policy=corporate, slot=slot_id, confirm=True).pack()
        )
        assert "✅ Вы записаны" in chat.text
    await chat.callback(
        BookingCallback(clinic=tverskaya, policy=corporate, slot=slots[3], confirm=True).pack()
    )
    assert "У вас уже 3 записи на приём" in chat.text and "📅 Мои записи" in chat.inline_buttons
    await chat.callback(  # a slot is booked once, even by its own holder
        BookingCallback(clinic=tverskaya, policy=corporate, slot=slots[0], confirm=True).pack()
    )
    assert await booked(sessions) == 3
