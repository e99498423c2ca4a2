"""Online booking in the chat (seed 000 3.3, seed 002): the clinic's published slots, held
atomically (two people can never get one slot), the person's bookings, cancellation, and a
reminder before the visit written to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.clinics.availability import Access, entitlement_of
from core.clinics.index import ClinicIndex, Entry, unit_vector
from core.clinics.models import Booking, BookingStatus, Clinic, ClinicSlot
from core.errors import DomainError, NotFoundError
from core.formatting import MOSCOW
from core.notifications.outbox import enqueue, withdraw
from core.policies.cabinet import PolicyView
from core.policies.models import InsuredPerson, Policy, PolicyLink, ProgramClinic

REMINDERS = {"day": timedelta(hours=24), "2h": timedelta(hours=2)}  # before the visit
MIN_NOTICE = timedelta(hours=1)  # a slot starting sooner is not offered


MAX_FUTURE_BOOKINGS = 3  # per insured person: a few visits ahead, never a clinic's whole day


class SlotTaken(DomainError):
    """Someone else booked it a moment earlier."""


class AlreadyBooked(SlotTaken):
    """Taken by the person themself: an old «Book» tapped again."""


class NotEntitled(DomainError):
    """The person's policy does not let them into this clinic now (the clinic card's rule)."""

    def __init__(self, access: Access) -> None:
        super().__init__(str(access.reason))
        self.access = access


class VisitsOverlap(DomainError):
    """The person has another visit booked at that time (another doctor, another clinic)."""

    def __init__(self, starts_at: datetime) -> None:
        super().__init__(f"another visit at {starts_at.isoformat()}")
        self.starts_at = starts_at


class TooLate(DomainError):
    """The time has passed, or starts in less than `MIN_NOTICE`: an old list's button."""


class VisitBegan(DomainError):
    """A visit that has begun (or taken place) is not cancelled: an old list's button."""


class TooManyBookings(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} future bookings")
        self.limit = limit


async def access_to(
    session: AsyncSession, view: PolicyView, clinic_id: int, now: datetime
) -> Access:
    """The clinic card's availability rule for this one clinic and policy, read from the
    database (the same `Entitlement.check` every clinic list asks)."""
    clinic = await session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFoundError("clinic")
    entry = Entry(
        clinic.id,
        clinic.name,
        clinic.latitude,
        clinic.longitude,
        clinic.region_code,
        bool(clinic.franchise_only),
        unit_vector(clinic.latitude, clinic.longitude),
    )
    kinds = (
        await session.scalars(
            select(ProgramClinic.care_type).where(
                ProgramClinic.clinic_id == clinic.id,
                ProgramClinic.program_id == (view.program.id if view.program else 0),
            )
        )
    ).all()
    members = {view.program.id: {clinic.id: frozenset(kinds)}} if view.program and kinds else {}
    right = await entitlement_of(session, view, now)
    return right.check(ClinicIndex([entry], members), entry)


def _open(clinic_id: int, now: datetime) -> list[ColumnElement[bool]]:
    return [
        ClinicSlot.clinic_id == clinic_id,
        ClinicSlot.taken.is_(False),
        ClinicSlot.starts_at >= now + MIN_NOTICE,
    ]


async def same_patient(session: AsyncSession, user_id: int, person: InsuredPerson) -> list[int]:
    """The insured-person rows of one human in this cabinet: each policy has its own row, so
    Anna under three policies is three rows, and her visits are counted across all of them (a
    walker booked two visits at one hour under two policies, and four "at most three")."""
    rows = await session.scalars(
        select(InsuredPerson.id)
        .join(PolicyLink, PolicyLink.insured_person_id == InsuredPerson.id)
        .where(
            PolicyLink.user_id == user_id,
            InsuredPerson.surname == person.surname,
            InsuredPerson.first_name == person.first_name,
            InsuredPerson.birth_date == person.birth_date,
        )
    )
    return sorted({person.id, *rows})


async def visits_ahead(
    session: AsyncSession, user_id: int, person: InsuredPerson, now: datetime
) -> list[tuple[int, datetime, int]]:
    """The slots (id, start, minutes) of the patient's active bookings still ahead, under any
    of their policies."""
    rows = await session.execute(
        select(ClinicSlot.id, ClinicSlot.starts_at, ClinicSlot.minutes)
        .join(Booking, ClinicSlot.id == Booking.slot_id)
        .where(
            Booking.insured_person_id.in_(await same_patient(session, user_id, person)),
            Booking.status == BookingStatus.ACTIVE,
            ClinicSlot.starts_at >= now,
        )
    )
    return [(slot_id, starts_at, minutes) for slot_id, starts_at, minutes in rows.all()]


async def has_free_slots(session: AsyncSession, clinic_id: int, now: datetime) -> bool:
    found = await session.scalar(select(ClinicSlot.id).where(*_open(clinic_id, now)).limit(1))
    return found is not None


async def specialties(session: AsyncSession, clinic_id: int, now: datetime) -> list[str]:
    rows = await session.scalars(
        select(ClinicSlot.specialty).where(*_open(clinic_id, now)).distinct()
    )
    return sorted(rows)


async def doctors(
    session: AsyncSession, clinic_id: int, specialty: str, now: datetime
) -> list[str]:
    rows = await session.scalars(
        select(ClinicSlot.doctor)
        .where(*_open(clinic_id, now), ClinicSlot.specialty == specialty)
        .distinct()
    )
    return sorted(rows)


async def free_slots(
    session: AsyncSession, clinic_id: int, specialty: str, doctor: str, now: datetime
) -> list[ClinicSlot]:
    rows = await session.scalars(
        select(ClinicSlot)
        .where(
            *_open(clinic_id, now),
            ClinicSlot.specialty == specialty,
            ClinicSlot.doctor == doctor,
        )
        .order_by(ClinicSlot.starts_at)
    )
    return list(rows)


def local_day(moment: datetime) -> date:
    return moment.astimezone(MOSCOW).date()


async def book(
    session: AsyncSession, user_id: int, view: PolicyView, slot_id: int, now: datetime
) -> Booking:
    """Take the slot with one conditional UPDATE: exactly one of two racing people wins. The
    clinic must admit the person now (whatever the buttons offered), and a person has at most
    `MAX_FUTURE_BOOKINGS` visits ahead."""
    slot = await session.get(ClinicSlot, slot_id)
    if slot is None:
        raise SlotTaken(str(slot_id))
    access = await access_to(session, view, slot.clinic_id, now)
    if not access.available:
        raise NotEntitled(access)
    ahead = await visits_ahead(session, user_id, view.person, now)
    ends_at = slot.starts_at + timedelta(minutes=slot.minutes)
    for other_id, starts_at, minutes in ahead:
        if other_id == slot_id:
            raise AlreadyBooked(str(slot_id))
        if starts_at < ends_at and slot.starts_at < starts_at + timedelta(minutes=minutes):
            raise VisitsOverlap(starts_at)
    if slot.starts_at < now + MIN_NOTICE:
        raise TooLate(str(slot_id))
    if len(ahead) >= MAX_FUTURE_BOOKINGS:
        raise TooManyBookings(MAX_FUTURE_BOOKINGS)
    taken = await session.execute(
        update(ClinicSlot)
        .where(
            ClinicSlot.id == slot_id,
            ClinicSlot.taken.is_(False),
            ClinicSlot.starts_at >= now + MIN_NOTICE,
        )
        .values(taken=True)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        mine = await session.scalar(
            select(Booking.id).where(
                Booking.slot_id == slot_id,
                Booking.user_id == user_id,
                Booking.status == BookingStatus.ACTIVE,
            )
        )
        await session.rollback()
        if mine is not None:
            raise AlreadyBooked(str(slot_id))
        raise SlotTaken(str(slot_id))
    await session.refresh(slot)
    booking = Booking(
        user_id=user_id,
        policy_id=view.id,
        insured_person_id=view.person.id,
        clinic_id=slot.clinic_id,
        slot_id=slot.id,
        status=BookingStatus.ACTIVE,
        created_at=now,
    )
    session.add(booking)
    await session.flush()
    clinic = await session.get(Clinic, slot.clinic_id)
    assert clinic is not None
    for name in reminders_for(slot.starts_at, now):
        at = max(slot.starts_at - REMINDERS[name], now)
        await _remind(session, user_id, booking, slot, clinic, view, name, at, now)
    await session.commit()
    return booking


def reminders_for(starts_at: datetime, now: datetime) -> list[str]:
    """The reminders a visit booked now gets: the day-before one only while that moment is
    still ahead (booked for tomorrow morning, the two-hour reminder is enough)."""
    return [name for name, before in REMINDERS.items() if starts_at - before > now or name == "2h"]


async def _remind(
    session: AsyncSession,
    user_id: int,
    booking: Booking,
    slot: ClinicSlot,
    clinic: Clinic,
    view: PolicyView,
    name: str,
    at: datetime,
    now: datetime,
) -> None:
    await enqueue(
        session,
        user_id=user_id,
        kind="booking_reminder",
        dedupe_key=f"booking-reminder:{booking.id}:{name}",
        now=now,
        send_after=at,
        booking_id=booking.id,
        clinic=clinic.name,
        address=f"{clinic.city}, {clinic.address}",
        specialty=slot.specialty,
        doctor=slot.doctor,
        starts_at=slot.starts_at.isoformat(),
        patient=patient_name(view.person),
        number=view.policy.number,
    )


def patient_name(person: InsuredPerson) -> str:
    """Who the visit is for, as the booking's messages name them (a child's visit, too)."""
    return f"{person.surname} {person.first_name}"


@dataclass(frozen=True, slots=True)
class BookingView:
    booking: Booking
    slot: ClinicSlot
    clinic: Clinic
    person: InsuredPerson  # the patient: the person themself or their child
    policy: Policy


_BOOKING_VIEW = (
    select(Booking, ClinicSlot, Clinic, InsuredPerson, Policy)
    .join(ClinicSlot, ClinicSlot.id == Booking.slot_id)
    .join(Clinic, Clinic.id == Booking.clinic_id)
    .join(InsuredPerson, InsuredPerson.id == Booking.insured_person_id)
    .join(Policy, Policy.id == Booking.policy_id)
)


async def my_bookings(session: AsyncSession, user_id: int, now: datetime) -> list[BookingView]:
    """Active bookings of visits still ahead, soonest first."""
    rows = await session.execute(
        _BOOKING_VIEW.where(
            Booking.user_id == user_id,
            Booking.status == BookingStatus.ACTIVE,
            ClinicSlot.starts_at >= now,
        ).order_by(ClinicSlot.starts_at)
    )
    return [BookingView(*row) for row in rows.all()]


async def booking_of(session: AsyncSession, user_id: int, booking_id: int) -> BookingView:
    rows = await session.execute(
        _BOOKING_VIEW.where(Booking.id == booking_id, Booking.user_id == user_id)
    )
    row = rows.first()
    if row is None:
        raise NotFoundError("booking")
    return BookingView(*row)


async def cancel(session: AsyncSession, user_id: int, booking_id: int, now: datetime) -> bool:
    """Cancel and free the slot; False if it was not active (cancelled already). A visit that
    has begun is not cancelled (`VisitBegan`): its time is not given back to others."""
    started = await session.scalar(
        select(ClinicSlot.starts_at)
        .join(Booking, Booking.slot_id == ClinicSlot.id)
        .where(Booking.id == booking_id, Booking.user_id == user_id)
    )
    if started is not None and started <= now:
        raise VisitBegan(str(booking_id))
    done = await session.execute(
        update(Booking)
        .where(
            Booking.id == booking_id,
            Booking.user_id == user_id,
            Booking.status == BookingStatus.ACTIVE,
        )
        .values(status=BookingStatus.CANCELLED, cancelled_at=now)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False  # nothing was written: no rollback, which would expire what was read
    slot_id = await session.scalar(select(Booking.slot_id).where(Booking.id == booking_id))
    await session.execute(update(ClinicSlot).where(ClinicSlot.id == slot_id).values(taken=False))
    for name in REMINDERS:
        await withdraw(session, f"booking-reminder:{booking_id}:{name}")
    await session.commit()
    return True
