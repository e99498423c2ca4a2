"""The consents registration needs, each with the version of its text (seed 003, 152-FZ)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Consent
from core.fast_rows import EntityRows


class ConsentKind(StrEnum):
    PERSONAL_DATA = "personal_data"
    HEALTH_DATA = "health_data"
    USER_AGREEMENT = "user_agreement"
    AUTOPAY = "autopay"  # automatic co-payment charges from a saved card (billing)


# Bump a version when its text (locales/*/documents/<kind>.txt) changes: people accept again.
CURRENT_VERSIONS: dict[ConsentKind, str] = {
    ConsentKind.PERSONAL_DATA: "2026-11",
    ConsentKind.HEALTH_DATA: "2026-11",
    ConsentKind.USER_AGREEMENT: "2026-11",
    ConsentKind.AUTOPAY: "2026-11",
}
REQUIRED_FOR_REGISTRATION = (
    ConsentKind.PERSONAL_DATA,
    ConsentKind.HEALTH_DATA,
    ConsentKind.USER_AGREEMENT,
)


async def give_consent(
    session: AsyncSession, user_id: int, kind: ConsentKind, now: datetime
) -> Consent:
    """Record the current version of a consent (idempotent: giving it again changes nothing)."""
    version = CURRENT_VERSIONS[kind]
    consent = await session.scalar(
        select(Consent).where(
            Consent.user_id == user_id, Consent.kind == kind.value, Consent.version == version
        )
    )
    if consent is None:
        consent = Consent(user_id=user_id, kind=kind.value, version=version, accepted_at=now)
        session.add(consent)
    consent.withdrawn_at = None
    await session.commit()
    return consent


async def current_consents(session: AsyncSession, user_id: int) -> dict[ConsentKind, Consent]:
    """The consents in force: current text version, not withdrawn."""
    rows = await _IN_FORCE.scalars(session, {"user_id": user_id})
    return {
        ConsentKind(c.kind): c
        for c in rows
        if CURRENT_VERSIONS.get(ConsentKind(c.kind)) == c.version
    }


_IN_FORCE = EntityRows(  # built once: each registration step reads it (issue 19)
    select(Consent).where(Consent.user_id == bindparam("user_id"), Consent.withdrawn_at.is_(None))
)
