"""The person's own profile: notification choices and deleting the account."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Account, ConfirmationCode, Consent, User
from core.accounts.registration import require_account
from core.accounts.zones import ZONES


class OptionalNotice(StrEnum):
    """Notifications a person may turn off; debt and money messages always go out."""

    REMINDERS = "reminders"
    NEWS = "news"


async def toggle_notifications(session: AsyncSession, user: User, kind: OptionalNotice) -> Account:
    account = await require_account(session, user)
    if kind is OptionalNotice.REMINDERS:
        account.notify_reminders = not account.notify_reminders
    else:
        account.notify_news = not account.notify_news
    await session.commit()
    return account


async def set_time_zone(session: AsyncSession, user: User, zone: str) -> None:
    """The zone the person's quiet hours are counted in; only Russia's zones are offered."""
    if zone not in ZONES:
        raise ValueError(f"unknown time zone {zone!r}")
    user.time_zone = zone
    await session.commit()


async def delete_account(session: AsyncSession, user: User, *, now: datetime) -> None:
    """Erase the account's personal data (152-FZ: on withdrawal of consent).

    The account row with name, birth date, contacts and the encrypted passport is deleted;
    consents are kept as evidence but marked withdrawn; codes in flight are dropped; the
    Telegram profile is anonymised. Appeals (kept anonymised) and cards (detached at the
    provider) join this use case with their contexts.
    """
    account = await require_account(session, user)
    await session.delete(account)
    await session.execute(
        update(Consent)
        .where(Consent.user_id == user.id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    await session.execute(delete(ConfirmationCode).where(ConfirmationCode.user_id == user.id))
    user.first_name, user.last_name, user.username = "", None, None
    await session.commit()


def is_locked(account: Account) -> bool:
    return account.personal_data_locked_at is not None
