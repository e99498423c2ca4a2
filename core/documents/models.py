from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime


class DocumentCopy(Base):
    """The last generated copy of one document for one insured person in one language.

    A tap sends the cached copy (by Telegram's file_id once Telegram has it) while the layout's
    fingerprint is unchanged; a new policy version, program, clinic list or wording replaces it.
    """

    __tablename__ = "document_copies"
    __table_args__ = (UniqueConstraint("insured_person_id", "kind", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    insured_person_id: Mapped[int] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))
    fingerprint: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    telegram_file_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
