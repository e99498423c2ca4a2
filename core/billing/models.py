"""Money rows. Amounts are integer kopecks; a card is only ever its provider token and mask."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, EncryptedString, UtcDateTime


class FranchiseStatus(StrEnum):
    AWAITING_CARD = "awaiting_card"  # consent given, the card page not finished yet
    SCHEDULED = "scheduled"  # card linked, active from `active_from`
    ACTIVE = "active"


class Franchise(Base):
    """The co-payment program of one insured person (seed 000 2.3.2)."""

    __tablename__ = "franchises"
    __table_args__ = (Index("ix_franchises_due", "status", "active_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    consent_version: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UtcDateTime)
    active_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Until then the clinics are still registering the person: call the desk first (seed 001).
    desk_first_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CardStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"  # the bank or the person withdrew the saved method
    REMOVED = "removed"  # removed by the person; kept for the payment history


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_expiry", "status", "expiry_year", "expiry_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method_id: Mapped[str] = mapped_column(String(64), unique=True)  # the provider's token
    first6: Mapped[str] = mapped_column(String(6))
    last4: Mapped[str] = mapped_column(String(4))
    expiry_month: Mapped[int] = mapped_column()
    expiry_year: Mapped[int] = mapped_column()
    card_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=CardStatus.ACTIVE)
    primary: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PaymentPurpose(StrEnum):
    BINDING = "binding"  # 10 RUB, held and returned, saves the card
    CHARGE = "charge"  # a bill share from a saved card, without the person
    DEBT = "debt"  # the person pays their debt on the provider's page


class PaymentStatus(StrEnum):
    NEW = "new"  # our row exists, the provider has not answered yet
    UNKNOWN = "unknown"  # the request failed in a way that leaves the outcome open
    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


FINAL_PAYMENT_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED})


class Payment(Base):
    """One request to the provider. Its `key` is the Idempotence-Key of every retry."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_open", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column()  # kopecks
    status: Mapped[str] = mapped_column(String(24), default=PaymentStatus.NEW)
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmation_url: Mapped[str | None] = mapped_column(String(512))
    reason: Mapped[str | None] = mapped_column(String(64))  # cancellation_details.reason
    franchise_id: Mapped[int | None] = mapped_column(ForeignKey("franchises.id"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"), index=True)
    charge_ids: Mapped[list[int] | None] = mapped_column(JSON)  # the debts a DEBT payment covers
    settled: Mapped[bool] = mapped_column(default=False)  # its final outcome was applied
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Bill(Base):
    """A rendered service billed by a clinic, as the insurer sends it (seed 001)."""

    __tablename__ = "bills"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE"), index=True
    )
    clinic_name: Mapped[str] = mapped_column(String(512))
    service: Mapped[str] = mapped_column(String(512))
    service_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(default=1)
    amount: Mapped[int] = mapped_column()  # kopecks, the full cost
    share: Mapped[int] = mapped_column()  # kopecks, the person's co-payment
    # The ICD-10 code is health data too (152-FZ special category): encrypted like the diagnosis.
    diagnosis_code: Mapped[str | None] = mapped_column(EncryptedString(1024))  # Vault.encrypt
    diagnosis: Mapped[str | None] = mapped_column(EncryptedString(1024))  # Vault.encrypt
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChargeStatus(StrEnum):
    DUE = "due"  # waits for `charge_after`
    CHARGING = "charging"  # claimed; a payment is in flight
    PAID = "paid"
    DEBT = "debt"  # every card failed; the person owes it
    DISPUTED = "disputed"  # a "service not provided" appeal is open: neither charged nor owed
    CANCELLED = "cancelled"  # the appeal confirmed the service was not provided


class Charge(Base):
    """The one charge of one bill share: unique per bill, so a share is never charged twice."""

    __tablename__ = "charges"
    __table_args__ = (Index("ix_charges_due", "status", "charge_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), unique=True)
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column()  # kopecks
    status: Mapped[str] = mapped_column(String(16), default=ChargeStatus.DUE)
    charge_after: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    round_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # cards tried since
    debt_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disputed_from: Mapped[str | None] = mapped_column(String(16))  # the status before the dispute
    debt_told: Mapped[bool] = mapped_column(default=False)  # the debt message is in the outbox


class ServiceRegion(Base):
    """A region chosen for a regional policy (seed 002): never removed once confirmed."""

    __tablename__ = "service_regions"
    __table_args__ = (
        UniqueConstraint("insured_person_id", "region_code"),
        Index("ix_service_regions_due", "announced", "available_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE")
    )
    region_code: Mapped[str] = mapped_column(String(8))
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    available_from: Mapped[datetime] = mapped_column(UtcDateTime)
    announced: Mapped[bool] = mapped_column(default=False)
