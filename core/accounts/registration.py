"""Registration, uniqueness and recovery (seeds 000 1.1, 001 step 2, 003).

In Telegram the Telegram account is the login: no password, but every field and check the
cabinets ask for. One account per phone and per e-mail; a phone or e-mail that belongs to
another Telegram account is "already registered" and can be moved here by a code sent to the
account's e-mail (the old Telegram account loses access). Nothing is merged silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.codes import IssuedCode, Purpose, check_code, issue_code
from core.accounts.consents import REQUIRED_FOR_REGISTRATION, ConsentKind, current_consents
from core.accounts.crypto import Vault
from core.accounts.models import Account, User
from core.accounts.validation import DocumentType, IdentityDocument, Sex
from core.db import Base
from core.errors import DomainError
from core.fast_rows import EntityRows
from core.notifications.outbox import OutboxStatus

# What a cabinet keeps under its Telegram user and moves with the account on recovery: the
# policies, the franchise programme, the cards and payments, the appeals, the identity checks,
# the bookings, the consents and the notices not sent yet. Kept with the Telegram user: what
# guards against abuse from that Telegram account (its codes, its policy look-ups) and
# the clinic searches behind that chat's list buttons.
MOVED_WITH_THE_ACCOUNT = (
    "policy_links",
    "franchises",
    "cards",
    "payments",
    "appeals",
    "identity_checks",
    "bookings",
    "consents",
    "outbox",
)
KEPT_WITH_THE_TELEGRAM_USER = (
    "confirmation_codes",
    "policy_lookup_attempts",
    "clinic_searches",
)


class AlreadyRegistered(DomainError):
    """The phone or e-mail belongs to another Telegram account's cabinet."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already registered")
        self.field = field


class MissingConsents(DomainError):
    def __init__(self, missing: list[ConsentKind]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class PersonalDataLocked(DomainError):
    """After the first policy is linked personal data change only through an appeal (seed 000)."""


class NotRegistered(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class PersonalData:
    phone: str
    email: str
    surname: str
    first_name: str
    patronymic: str | None
    birth_date: date
    sex: Sex
    document: IdentityDocument


async def get_account(session: AsyncSession, user: User) -> Account | None:
    return await session.scalar(select(Account).where(Account.user_id == user.id))


async def require_account(session: AsyncSession, user: User) -> Account:
    account = await get_account(session, user)
    if account is None:
        raise NotRegistered("registration is not complete")
    return account


# The account holding a phone, an e-mail, or either: built once (issue 19).
_OWNER = {
    (True, False): EntityRows(select(Account).where(Account.phone == bindparam("phone"))),
    (False, True): EntityRows(select(Account).where(Account.email == bindparam("email"))),
    (True, True): EntityRows(
        select(Account).where(
            or_(Account.phone == bindparam("phone"), Account.email == bindparam("email"))
        )
    ),
}


async def _owner_of(
    session: AsyncSession, *, phone: str | None = None, email: str | None = None
) -> Account | None:
    query = _OWNER[phone is not None, email is not None]
    return cast(Account | None, await query.scalar(session, {"phone": phone, "email": email}))


async def ensure_free(
    session: AsyncSession, user: User, *, phone: str | None = None, email: str | None = None
) -> None:
    """Refuse a phone or e-mail that already belongs to another Telegram user's account."""
    for field, value in (("phone", phone), ("email", email)):
        if value is None:
            continue
        owner = await _owner_of(session, **{field: value})
        if owner is not None and owner.user_id != user.id:
            raise AlreadyRegistered(field)


async def register(
    session: AsyncSession, vault: Vault, user: User, data: PersonalData, *, now: datetime
) -> Account:
    """Create the account (or update it while personal data are not locked)."""
    await ensure_free(session, user, phone=data.phone, email=data.email)
    consents = await current_consents(session, user.id)
    missing = [kind for kind in REQUIRED_FOR_REGISTRATION if kind not in consents]
    if missing:
        raise MissingConsents(missing)
    account = await get_account(session, user)
    if account is None:
        account = Account(user_id=user.id, registered_at=now)
        session.add(account)
    elif account.personal_data_locked_at is not None:
        raise PersonalDataLocked("personal data are locked")
    account.phone = data.phone
    account.email = data.email
    account.surname = data.surname
    account.first_name = data.first_name
    account.patronymic = data.patronymic
    account.birth_date = data.birth_date
    account.sex = data.sex.value
    account.document_type = data.document.type.value
    account.document_encrypted = vault.encrypt(data.document.number)
    account.document_digest = document_digest(vault, data.document.type, data.document.number)
    account.document_mask = data.document.mask
    await session.commit()
    return account


def document_digest(vault: Vault, kind: DocumentType, number: str) -> str:
    return vault.digest(f"{kind.value}:{number.replace(' ', '')}")


def lock_personal_data(account: Account, now: datetime) -> None:
    """Called when the first policy is linked (the policies context commits)."""
    if account.personal_data_locked_at is None:
        account.personal_data_locked_at = now


async def start_recovery(
    session: AsyncSession,
    vault: Vault,
    user: User,
    *,
    phone: str | None = None,
    email: str | None = None,
    now: datetime,
) -> IssuedCode:
    """A recovery code to the e-mail of the account that owns this phone or e-mail."""
    owner = await _owner_of(session, phone=phone, email=email)
    if owner is None:
        raise NotRegistered("nothing to recover")
    issued = await issue_code(
        session,
        vault,
        user_id=user.id,
        purpose=Purpose.RECOVERY,
        target=owner.email,
        now=now,
        also_limit=[f"account:{owner.id}"],
    )
    await session.commit()
    return issued


@dataclass(frozen=True, slots=True)
class Recovered:
    account: Account
    previous_telegram_id: int
    previous_language: str


async def finish_recovery(
    session: AsyncSession, vault: Vault, user: User, code: str, *, now: datetime
) -> Recovered:
    """Move the account to this Telegram user; the previous one loses access.

    A wrong code is counted and committed, for this Telegram account, the address and the
    account (see core.accounts.codes for the limits).
    """
    try:
        email = await check_code(
            session, vault, user_id=user.id, purpose=Purpose.RECOVERY, code=code, now=now
        )
    finally:
        await session.commit()
    account = await _owner_of(session, email=email)
    if account is None:
        raise NotRegistered("the account is gone")
    previous = await session.get(User, account.user_id)
    assert previous is not None
    stale = await get_account(session, user)
    if stale is not None and stale.id != account.id:
        raise AlreadyRegistered("telegram")  # this Telegram user has an account of its own
    account.user_id = user.id
    await _move_cabinet(session, previous.id, user.id)
    await session.commit()
    return Recovered(
        account=account,
        previous_telegram_id=previous.telegram_id,
        previous_language=previous.language,
    )


async def _move_cabinet(session: AsyncSession, old: int, new: int) -> None:
    """Everything of the cabinet goes with the account: the old Telegram user keeps no policy,
    appeal or card to open through an old button."""
    tables = Base.metadata.tables
    consents = tables["consents"]
    given = (
        await session.execute(
            select(consents.c.kind, consents.c.version).where(consents.c.user_id == old)
        )
    ).all()
    for kind, version in given:  # the same text accepted by both: the account's date counts
        await session.execute(
            delete(consents).where(
                consents.c.user_id == new, consents.c.kind == kind, consents.c.version == version
            )
        )
    for name in MOVED_WITH_THE_ACCOUNT:
        table = tables[name]
        moved = update(table).where(table.c.user_id == old)
        if name == "outbox":  # notices already sent stay where they were delivered
            moved = moved.where(table.c.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        await session.execute(moved.values(user_id=new))
