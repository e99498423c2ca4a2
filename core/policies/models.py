from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UtcDateTime


class PolicyKind(StrEnum):
    DMS = "dms"
    TRAVEL = "travel"  # ВЗР / ВПМЖ
    OSAGO = "osago"
    KASKO = "kasko"
    PROPERTY = "property"
    ACCIDENT = "accident"


class ContractKind(StrEnum):
    CORPORATE = "corporate"
    RETAIL = "retail"


class Territory(StrEnum):
    """Where a DMS policy serves (seed 002)."""

    MOSCOW = "moscow"  # region fixed automatically
    SPB = "spb"  # region fixed automatically
    REGIONAL = "regional"  # regions to choose, all of Russia
    REGIONAL_EXCLUDING_CAPITALS = "regional_excl"  # without Moscow/MO and SPb/LO
    NONE = "none"  # not a DMS policy


class Program(Base):
    """A DMS program: what is covered, the co-payment, waiting period and clinics."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    care_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusions: Mapped[list[str]] = mapped_column(JSON, default=list)
    franchise_percent: Mapped[int | None] = mapped_column()
    waiting_days: Mapped[int] = mapped_column(default=0)
    child_age_limit: Mapped[int] = mapped_column(default=17)
    # When the franchise starts after the card is linked: None = 00:00 Moscow time of the next
    # day (seed 000 2.3); a number = that many minutes later (seed 001: 30).
    activation_minutes: Mapped[int | None] = mapped_column()
    # Working days the clinics need to register the person; meanwhile the desk goes first.
    registration_working_days: Mapped[int] = mapped_column(default=0)
    desk_phone: Mapped[str | None] = mapped_column(String(64))
    # Seed 004: a medical and an administrative curator for each contract; names and phones
    # only, the labels are the bot's.
    curator: Mapped[str | None] = mapped_column(String(256))
    admin_curator: Mapped[str | None] = mapped_column(String(256))
    telemedicine_phone: Mapped[str | None] = mapped_column(String(64))


class ProgramClinic(Base):
    """A clinic of a program, for one type of care."""

    __tablename__ = "program_clinics"
    __table_args__ = (UniqueConstraint("program_id", "clinic_id", "care_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    care_type: Mapped[str] = mapped_column(String(32))


class Policy(Base):
    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    product: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    contract: Mapped[str] = mapped_column(String(16))
    policyholder: Mapped[str | None] = mapped_column(String(256))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    territory: Mapped[str] = mapped_column(String(16))
    paid: Mapped[bool] = mapped_column(default=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    parent_policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the version documents follow


class InsuredPerson(Base):
    """A person insured under a policy, as the insurer knows them."""

    __tablename__ = "insured_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    surname: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(64))
    patronymic: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    document_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    # A child's legal representative (retail child policies name the parent here).
    representative_surname: Mapped[str | None] = mapped_column(String(64))
    representative_first_name: Mapped[str | None] = mapped_column(String(64))
    representative_patronymic: Mapped[str | None] = mapped_column(String(64))
    representative_birth_date: Mapped[date | None] = mapped_column(Date)

    policy: Mapped[Policy] = relationship()


class PolicyLink(Base):
    """An insured person linked to a cabinet: one cabinet per insured person."""

    __tablename__ = "policy_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE"), unique=True
    )
    as_child: Mapped[bool] = mapped_column(default=False)
    # The name "as in the foreign passport" for travel documents, confirmed by the person.
    latin_name: Mapped[str | None] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LookupAttempt(Base):
    """A failed policy lookup, counted for guess protection."""

    __tablename__ = "policy_lookup_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
