"""Booking a visit in the chat: specialty -> doctor -> day -> time -> confirm; the person's
bookings and cancelling one. The slot is taken atomically in core; a reminder is scheduled."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    BookingCallback,
    BookingsAction,
    BookingsCallback,
    ClinicBackCallback,
    ClinicCallback,
    ClinicsAction,
    ClinicsCallback,
    code_day,
    day_code,
)
from bot.fsm.clinics import ClinicSearch
from bot.screens import show, with_nav
from core.accounts.models import Account, User
from core.clinics.availability import entitlement_of
from core.clinics.booking import (
    MAX_FUTURE_BOOKINGS,
    AlreadyBooked,
    BookingView,
    NotEntitled,
    SlotTaken,
    TooLate,
    TooManyBookings,
    VisitBegan,
    VisitsOverlap,
    book,
    booking_of,
    cancel,
    doctors,
    free_slots,
    local_day,
    my_bookings,
    patient_name,
    reminders_for,
    specialties,
    visits_ahead,
)
from core.clinics.directory import get_clinic
from core.clinics.index import ClinicDirectory
from core.clinics.models import BookingStatus, ClinicSlot
from core.clock import Clock
from core.formatting import format_clock, format_date, format_day, format_weekday
from core.policies.cabinet import PolicyView, my_policy

# An unconfirmed booking (a time chosen, «Book» not tapped) waits here, packed as its button,
# so that «📅 My bookings» and the clinics hub offer to finish it after the person left.
DRAFT_KEY = "booking_draft"


async def remember_draft(state: FSMContext, data: BookingCallback | None) -> None:
    if data is None:
        stored = await state.get_data()
        if DRAFT_KEY in stored:
            stored.pop(DRAFT_KEY)
            await state.set_data(stored)
        return
    await state.update_data({DRAFT_KEY: data.model_copy(update={"confirm": False}).pack()})


async def pending_draft(
    state: FSMContext, session: AsyncSession, clock: Clock
) -> tuple[BookingCallback, ClinicSlot] | None:
    """The booking left unconfirmed, while its time is still free and ahead; else forgotten."""
    packed = (await state.get_data()).get(DRAFT_KEY)
    if not packed:
        return None
    try:
        data = BookingCallback.unpack(packed)
    except (TypeError, ValueError):
        data = None
    slot = await session.get(ClinicSlot, data.slot) if data is not None else None
    if (
        data is None
        or slot is None
        or slot.clinic_id != data.clinic
        or slot.taken
        or slot.starts_at <= clock.now()
    ):
        await remember_draft(state, None)
        return None
    return data, slot


def resume_button(draft: tuple[BookingCallback, ClinicSlot], locale: str) -> InlineKeyboardButton:
    data, slot = draft
    when = f"{format_day(slot.starts_at, locale)} {format_clock(slot.starts_at, locale)}"
    return InlineKeyboardButton(
        text=_("✍️ Finish booking: {when}").format(when=when), callback_data=data.pack()
    )


def slot_line(slot: ClinicSlot, locale: str) -> str:
    return _("{specialty}, {doctor}, {date} at {time}").format(
        specialty=escape(slot.specialty),
        doctor=escape(slot.doctor),
        date=format_day(slot.starts_at, locale),
        time=format_clock(slot.starts_at, locale),
    )


def patient_line(view: PolicyView | BookingView) -> str:
    """Whose visit it is: a child's visits are booked in the parent's chat."""
    return _("Patient: {person}, policy {number}").format(
        person=escape(patient_name(view.person)), number=escape(view.policy.number)
    )


def too_many_text() -> str:
    return _(
        "You already have {limit} visits booked ahead. Cancel one of them to book another."
    ).format(limit=MAX_FUTURE_BOOKINGS)


async def step(
    query: CallbackQuery,
    callback_data: BookingCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
) -> None:
    if not isinstance(query.message, Message):
        return
    if await state.get_state() == ClinicSearch.name.state:
        # Booking is a new context: a time typed here is not a clinic's name (a walker's
        # «10:00» was searched for).
        await state.set_state(None)
    data, now = callback_data, clock.now()
    clinic = await get_clinic(session, data.clinic)
    view = await my_policy(session, user, data.policy, today=now.date())
    index = await directory.index(session)
    entry = index.entries.get(clinic.id)
    right = await entitlement_of(session, view, now)
    if entry is None or not right.check(index, entry).available:
        await show(
            query,
            _("This clinic is not available under the policy now."),
            back=ClinicBackCallback(id=data.clinic, policy=data.policy),
            back_text=_("⬅️ The clinic"),
            menu=True,
        )
        return
    builder = InlineKeyboardBuilder()
    kinds = await specialties(session, clinic.id, now)
    text, width = f"<b>{escape(clinic.name)}</b>\n", 1
    chose = 0 <= data.specialty < len(kinds)
    ahead = [] if chose else await visits_ahead(session, user.id, view.person, now)
    if len(ahead) >= MAX_FUTURE_BOOKINGS:
        # Said before the five choices, not after them.
        builder.button(text=_("📅 My bookings"), callback_data=BookingsCallback())
        builder.button(
            text=_("⬅️ The clinic"),
            callback_data=ClinicBackCallback(id=data.clinic, policy=data.policy),
        )
        builder.adjust(1)
        await show(query, text + patient_line(view) + "\n" + too_many_text(), builder.as_markup())
        return
    names = await doctors(session, clinic.id, kinds[data.specialty], now) if chose else []
    back: InlineKeyboardButton | None = None  # one choice back, beside «The clinic»
    if not chose:
        for n, kind in enumerate(kinds):
            builder.button(text=kind, callback_data=data.model_copy(update={"specialty": n}))
        text += _("Choose the specialty") if kinds else _("No free time is left.")
    elif not 0 <= data.doctor < len(names):
        for n, name in enumerate(names):
            builder.button(text=name, callback_data=data.model_copy(update={"doctor": n}))
        text += _("{specialty}: choose the doctor").format(specialty=escape(kinds[data.specialty]))
        back = _back(_("⬅️ Another specialty"), data, specialty=-1, doctor=-1)
    else:
        specialty, doctor = kinds[data.specialty], names[data.doctor]
        slots = await free_slots(session, clinic.id, specialty, doctor, now)
        who = {"specialty": escape(specialty), "doctor": escape(doctor)}
        if data.day == 0:
            for day in dict.fromkeys(local_day(s.starts_at) for s in slots):
                builder.button(  # «пн 23.11»: which day of the week it is matters most
                    text=format_weekday(day, user.language),
                    callback_data=data.model_copy(update={"day": day_code(day)}),
                )
            text, width = text + _("{specialty}, {doctor}: choose the day").format(**who), 3
            back = _back(_("⬅️ Another doctor"), data, doctor=-1)
        else:
            day = code_day(data.day)
            times = [slot for slot in slots if local_day(slot.starts_at) == day]
            for slot in times:
                builder.button(
                    text=format_clock(slot.starts_at, user.language),
                    callback_data=data.model_copy(update={"slot": slot.id}),
                )
            when = format_date(day, user.language)
            if times:
                text += _("{specialty}, {doctor}, {date}: choose the time").format(**who, date=when)
            else:  # an old button, or the day's last time taken meanwhile
                text += _(
                    "{specialty}, {doctor}: no free time is left on {date}. Choose another day."
                ).format(**who, date=when)
            width = 4
            back = _back(_("⬅️ Another day"), data, day=0)
    builder.adjust(width)
    builder.row(
        *([back] if back is not None else []),
        InlineKeyboardButton(
            text=_("⬅️ The clinic"),
            callback_data=ClinicBackCallback(id=data.clinic, policy=data.policy).pack(),
        ),
    )
    await show(query, text, builder.as_markup())


def _back(text: str, data: BookingCallback, **earlier: int) -> InlineKeyboardButton:
    """A button to the previous choice: the later ones are forgotten with it."""
    return InlineKeyboardButton(
        text=text, callback_data=data.model_copy(update={"day": 0, **earlier}).pack()
    )


async def chosen(
    query: CallbackQuery,
    callback_data: BookingCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    """A time is tapped: ask to confirm, or (confirmed) take it."""
    if not isinstance(query.message, Message):
        return
    data, now = callback_data, clock.now()
    slot = await session.get(ClinicSlot, data.slot)
    clinic = await get_clinic(session, data.clinic)
    view = await my_policy(session, user, data.policy, today=now.date())
    if slot is None or slot.clinic_id != clinic.id:
        await show(
            query,
            _("This time is no longer offered. Choose another one."),
            back=data.model_copy(update={"slot": 0, "confirm": False}),
            back_text=_("⬅️ Another time"),
        )
        return
    if not data.confirm:
        await remember_draft(state, data)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("✅ Book"), callback_data=data.model_copy(update={"confirm": True}))
        builder.button(text=_("⬅️ Another time"), callback_data=data.model_copy(update={"slot": 0}))
        builder.adjust(1)
        await show(
            query,
            _("<b>Book the visit?</b>\n{slot}\n{clinic}, {address}").format(
                slot=slot_line(slot, user.language),
                clinic=escape(clinic.name),
                address=escape(f"{clinic.city}, {clinic.address}"),
            )
            + "\n"
            + patient_line(view),
            builder.as_markup(),
        )
        return
    # Read before booking: a refused booking rolls back, which expires the rows read so far.
    visit, where = slot_line(slot, user.language), escape(clinic.name)
    reminded = account is None or account.notify_reminders
    try:
        await book(session, user.id, view, slot.id, now)
        if not reminded:  # the profile turned reminders off: no promise of one
            done = _("✅ Booked: {slot}, {clinic}.")
        elif "day" in reminders_for(slot.starts_at, now):
            done = _("✅ Booked: {slot}, {clinic}. I will remind you a day before the visit.")
        else:  # too late for the day-before reminder: the two-hour one comes
            done = _("✅ Booked: {slot}, {clinic}. I will remind you two hours before the visit.")
    except AlreadyBooked:  # an old «Book» tapped again: the same answer, not "someone else"
        done = _("You are already booked for this time: {slot}, {clinic}.")
    except TooLate:  # an old «Book»: the time has passed, or is less than an hour away
        await remember_draft(state, None)
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("Choose another time"),
            callback_data=data.model_copy(update={"slot": 0, "day": 0, "confirm": False}),
        )
        await query.message.answer(
            _(
                "{slot}: this time has passed or is less than an hour away, so it can no longer "
                "be booked. Please choose another one."
            ).format(slot=visit)
            + "\n"
            + patient_line(view),
            reply_markup=builder.as_markup(),
        )
        return
    except SlotTaken:
        await remember_draft(state, None)
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("Choose another time"),
            callback_data=data.model_copy(update={"slot": 0, "confirm": False}),
        )
        await query.message.answer(
            _("Sorry, someone has just booked this time. Please choose another one."),
            reply_markup=builder.as_markup(),
        )
        return
    except NotEntitled:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("🏥 The clinic"),
            callback_data=ClinicCallback(id=clinic.id, policy=view.id),
        )
        await query.message.answer(
            _(
                "Policy {number} does not let you into this clinic now, so it cannot be booked. "
                "The clinic card says why and what fixes it."
            ).format(number=view.policy.number),
            reply_markup=builder.as_markup(),
        )
        return
    except VisitsOverlap as overlap:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("📅 My bookings"), callback_data=BookingsCallback())
        builder.button(
            text=_("⬅️ Another time"),
            callback_data=data.model_copy(update={"slot": 0, "confirm": False}),
        )
        builder.adjust(1)
        await query.message.answer(
            _(
                "You already have a visit booked at {time} on that day. Choose another time, or "
                "cancel that visit in «My bookings» first."
            ).format(time=format_clock(overlap.starts_at, user.language)),
            reply_markup=builder.as_markup(),
        )
        return
    except TooManyBookings:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("📅 My bookings"), callback_data=BookingsCallback())
        await query.message.answer(
            patient_line(view) + "\n" + too_many_text(), reply_markup=with_nav(builder.as_markup())
        )
        return
    await remember_draft(state, None)
    await query.message.edit_reply_markup(reply_markup=None)  # booked: the question is answered
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📅 My bookings"), callback_data=BookingsCallback())
    await query.message.answer(
        done.format(slot=visit, clinic=where) + "\n" + patient_line(view),
        reply_markup=with_nav(builder.as_markup()),  # CONVERSATION.md 3: and the menu
    )


# --- my bookings ---------------------------------------------------------------------------------
def bookings_keyboard(
    items: list[tuple[int, str]], resume: InlineKeyboardButton | None = None
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if resume is not None:
        builder.add(resume)
    for booking_id, label in items:
        builder.button(
            text=_("❌ Cancel: {visit}").format(visit=label),
            callback_data=BookingsCallback(action=BookingsAction.ASK, booking=booking_id),
        )
    builder.button(
        text=_("🏥 Find clinics"), callback_data=ClinicsCallback(action=ClinicsAction.HUB)
    )
    builder.adjust(1)
    return with_nav(builder.as_markup())


async def list_bookings(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    note: str = "",
) -> None:
    found = await my_bookings(session, user.id, clock.now())
    head = f"{note}\n\n" if note else ""
    draft = await pending_draft(state, session, clock)
    resume = resume_button(draft, user.language) if draft is not None else None
    tail = ""
    if draft is not None:  # last: the action it offers is the first button
        tail = "\n\n" + _("Not finished: {slot}. Tap «Finish booking» to book it.").format(
            slot=slot_line(draft[1], user.language)
        )
    if not found:
        text = head + _("You have no booked visits.") + tail
        await show(event, text, bookings_keyboard([], resume))
        return
    lines = [head + _("<b>My bookings</b>")]
    items = []
    patients = {item.person.id for item in found}
    for item in found:
        lines.append(
            f"• {slot_line(item.slot, user.language)}\n  {escape(item.clinic.name)}, "
            f"{escape(item.clinic.city)}, {escape(item.clinic.address)}\n  " + patient_line(item)
        )
        short = f"{format_day(item.slot.starts_at, user.language)} {format_clock(item.slot.starts_at, user.language)}"
        if len(patients) > 1:  # whose visit each button cancels
            short += f" · {item.person.first_name}"
        items.append((item.booking.id, short))
    await show(event, "\n".join(lines) + tail, bookings_keyboard(items, resume))


async def on_bookings(
    query: CallbackQuery,
    callback_data: BookingsCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    if not isinstance(query.message, Message):
        return
    if callback_data.action is BookingsAction.LIST:
        await list_bookings(query, state, session, user, clock)
        return
    item = await booking_of(session, user.id, callback_data.booking)
    if item.booking.status != BookingStatus.ACTIVE:  # an older list's button
        await list_bookings(
            query, state, session, user, clock, _("This visit is cancelled already.")
        )
        return
    if item.slot.starts_at <= clock.now():  # an older list's button, after the visit's time
        await list_bookings(query, state, session, user, clock, _began(item, user.language))
        return
    if callback_data.action is BookingsAction.ASK:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("❌ Yes, cancel the visit"),
            callback_data=BookingsCallback(action=BookingsAction.CANCEL, booking=item.booking.id),
        )
        builder.button(text=_("⬅️ Keep it"), callback_data=BookingsCallback())
        builder.adjust(1)
        await show(
            query,
            _("Cancel the visit: {slot}, {clinic}?").format(
                slot=slot_line(item.slot, user.language), clinic=escape(item.clinic.name)
            )
            + "\n"
            + patient_line(item),
            builder.as_markup(),
        )
        return
    try:
        cancelled = await cancel(session, user.id, item.booking.id, clock.now())
    except VisitBegan:
        cancelled, note = False, _began(item, user.language)
    else:
        note = _("This visit is cancelled already.")
    if cancelled:
        note = _("The visit is cancelled, and the time is free for others.")
    await list_bookings(query, state, session, user, clock, note)


def _began(item: BookingView, locale: str) -> str:
    return _("{slot}: the time of this visit has come, so it can no longer be cancelled.").format(
        slot=slot_line(item.slot, locale)
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(chosen, BookingCallback.filter(F.slot > 0))
    router.callback_query.register(step, BookingCallback.filter())
    router.callback_query.register(on_bookings, BookingsCallback.filter())
    return router
