from __future__ import annotations

from sqlalchemy import JSON, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Clinic(Base):
    """A clinic of the insurer's network, as loaded from the insurer's files."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    legal_name: Mapped[str | None] = mapped_column(String(512))
    region: Mapped[str] = mapped_column(String(128))
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
