from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime


class Clinic(Base):
    """A clinic of the insurer's network, as loaded from the insurer's files."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    legal_name: Mapped[str | None] = mapped_column(String(512))
    region: Mapped[str] = mapped_column(String(128))  # the federal subject's official name
    region_code: Mapped[str] = mapped_column(String(8), index=True, server_default="")
    city: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(512))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    working_hours: Mapped[str | None] = mapped_column(String(256))
    care_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    direct_access: Mapped[bool] = mapped_column(default=True)
    franchise_only: Mapped[bool] = mapped_column(default=False)
    booking_url: Mapped[str | None] = mapped_column(String(512))
    notes: Mapped[str | None] = mapped_column(Text)


class DirectoryVersion(Base):
    """One row, bumped by every import that changes clinics or programs: processes holding the
    in-memory clinic index reload it when the number moves."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


class ClinicSlot(Base):
    """A free appointment a clinic publishes for online booking; `taken` flips atomically."""

    __tablename__ = "clinic_slots"
    __table_args__ = (
        UniqueConstraint("clinic_id", "doctor", "starts_at"),
        Index("ix_clinic_slots_free", "clinic_id", "taken", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    specialty: Mapped[str] = mapped_column(String(128))
    doctor: Mapped[str] = mapped_column(String(256))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    minutes: Mapped[int] = mapped_column(default=30)
    taken: Mapped[bool] = mapped_column(default=False)


class BookingStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class Booking(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE")
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("clinic_slots.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SavedSearch(Base):
    """A clinic search a list was shown for: its buttons (pages, «show unavailable too») carry
    this id, so an older list goes on acting on its own query or point, not the latest one."""

    __tablename__ = "clinic_searches"
    # Ids are never reused (SQLite would reuse the highest after a prune): an old button must
    # not find a newer search under its id.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    query: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # the hourly purge
