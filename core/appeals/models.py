"""Appeals to the insurer and insured-event cases: numbered, with a status and the messages of
both sides, so "we never received it" cannot happen (seed 000 3.5, seed 003, seed 004)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime


class AppealKind(StrEnum):
    COMPLAINT = "complaint"
    THANKS = "thanks"
    CALLBACK = "callback"  # "call me back"
    CURATOR = "curator"  # a question to the curator doctor
    APPOINTMENT = "appointment"  # an appointment request at a clinic without online booking
    ASSISTANCE = "assistance"  # medical assistance
    DATA_CHANGE = "data_change"  # personal or contract data
    ADD_CLINIC = "add_clinic"
    NOT_PROVIDED = "not_provided"  # a billed service was not provided
    FEEDBACK = "feedback"  # on a rendered service
    INSURED_EVENT = "insured_event"  # OSAGO, KASKO, travel, property: a case
    OTHER = "other"


class AppealStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


class AppealOutcome(StrEnum):
    """How a disputing appeal (a service not provided) ended: billing acts on it."""

    CONFIRMED = "confirmed"  # the person is right
    REJECTED = "rejected"


# Kinds whose closing needs an explicit outcome.
DISPUTES = frozenset({"not_provided"})

OPEN_STATUSES = (AppealStatus.RECEIVED, AppealStatus.IN_PROGRESS, AppealStatus.ANSWERED)


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_open", "status", "created_at"),
        Index("ix_appeals_user_created", "user_id", "created_at"),
        Index("ix_appeals_waiting", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.RECEIVED)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id", ondelete="SET NULL"))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id", ondelete="SET NULL"))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the kind asked
    operators_thread_id: Mapped[int | None] = mapped_column(index=True)  # the desk's topic
    operators_card_id: Mapped[int | None] = mapped_column()  # the card's message in the topic
    topic_state: Mapped[str | None] = mapped_column(String(16))  # the status the topic shows
    operator_id: Mapped[int | None] = mapped_column()  # who took it (Telegram id)
    stage: Mapped[str | None] = mapped_column(String(16))  # a case's stage (core.appeals.cases)
    decision_amount: Mapped[int | None] = mapped_column(BigInteger)  # kopecks, a paid case
    decision_text: Mapped[str | None] = mapped_column(Text)  # the refusal's reason, a note
    desk_prompt: Mapped[str | None] = mapped_column(String(32))  # "message_id:stage" asked
    outcome: Mapped[str | None] = mapped_column(String(16))  # AppealOutcome, for DISPUTES
    rating: Mapped[int | None] = mapped_column()  # 1-5, given by the person once it is closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_answer_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # overdue, told the desk
    # Waiting for the desk since: the person filed, wrote more or reopened it, and no operator
    # has answered since (None: the ball is on the person's side, or it is closed).
    waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Author(StrEnum):
    PERSON = "person"
    OPERATOR = "operator"


def shown_operator(operator_name: str | None) -> str | None:
    """How the person sees an operator: the first name Telegram gives ("Оператор Мария"), never
    the surname."""
    return operator_name.split()[0] if operator_name and operator_name.split() else None


class AppealMessage(Base):
    __tablename__ = "appeal_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))
    operator_name: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # Telegram file ids
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InsurerCase(Base):
    """A case the insurer's back office already holds for a policy, with its stages so far
    (seed 000 §5). It becomes the person's case (an `Appeal`) when the policy is linked to a
    cabinet, so whoever links the policy sees it in «My cases»."""

    __tablename__ = "insurer_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # the back office's number
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    event_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the form's answers
    # [{"stage", "detail", "amount" (kopecks), "at" (ISO instant)}], oldest first
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"))
