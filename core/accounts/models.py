from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, EncryptedText, UtcDateTime


class User(Base):
    """A Telegram account that talks to the bot (registered or not yet)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    language_chosen: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    blocked_bot_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    time_zone: Mapped[str | None] = mapped_column(String(40))  # IANA name; None: Moscow


class Account(Base):
    """A registered insured person: the cabinet's account, owned by one Telegram user."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    surname: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(64))
    patronymic: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(8))
    document_type: Mapped[str] = mapped_column(String(32))
    document_encrypted: Mapped[str] = mapped_column(EncryptedText)
    document_digest: Mapped[str] = mapped_column(String(64), index=True)
    document_mask: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    personal_data_locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notify_reminders: Mapped[bool] = mapped_column(default=True)
    notify_news: Mapped[bool] = mapped_column(default=True)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.first_name, self.patronymic) if p)


class Consent(Base):
    """A consent given by a person: which text (kind and version), when."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ConfirmationCode(Base):
    """A one-time code in flight: at most one per user and purpose; only its hash is kept."""

    __tablename__ = "confirmation_codes"
    __table_args__ = (UniqueConstraint("user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Whom the code's limits are counted for, space-separated (see core.accounts.codes).
    limit_keys: Mapped[str] = mapped_column(Text, default="")


class CodeEvent(Base):
    """A code sent or a wrong code typed, counted per Telegram account and per target.

    Kept a day: the limits are per hour and per day across codes, re-issues and accounts.
    """

    __tablename__ = "code_events"
    __table_args__ = (Index("ix_code_events_key", "key", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(8))  # "sent" or "wrong"
    at: Mapped[datetime] = mapped_column(UtcDateTime)
