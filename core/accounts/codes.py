"""Six-digit confirmation codes (seed 003): 10 minutes to live, 5 tries, a new one after 60 s.

Only a keyed hash of a code is stored; one code per person and purpose is in flight; after
5 wrong tries the code is dead and a new one can be asked for only after a cool-down.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.crypto import Vault
from core.accounts.models import ConfirmationCode
from core.errors import DomainError

CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 5
COOL_DOWN = timedelta(minutes=30)


class Purpose(StrEnum):
    EMAIL = "email"  # confirming the e-mail during registration
    RECOVERY = "recovery"  # moving an account to this Telegram account


class CodeProblem(DomainError):
    """Base of every refusal about a code."""


class ResendTooSoon(CodeProblem):
    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"resend in {wait}")
        self.seconds = max(1, int(wait.total_seconds() + 0.999))


class CodeBlocked(CodeProblem):
    """Too many wrong tries: no code until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"blocked until {until}")
        self.until = until


class CodeExpired(CodeProblem):
    pass


class NoCode(CodeProblem):
    pass


class WrongCode(CodeProblem):
    def __init__(self, tries_left: int) -> None:
        super().__init__(f"{tries_left} tries left")
        self.tries_left = tries_left


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    target: str
    expires_at: datetime


def _hash(vault: Vault, user_id: int, purpose: Purpose, code: str) -> str:
    return vault.digest(f"code:{user_id}:{purpose}:{code}")


async def _current(
    session: AsyncSession, user_id: int, purpose: Purpose
) -> ConfirmationCode | None:
    return await session.scalar(
        select(ConfirmationCode).where(
            ConfirmationCode.user_id == user_id, ConfirmationCode.purpose == purpose.value
        )
    )


async def issue_code(
    session: AsyncSession,
    vault: Vault,
    *,
    user_id: int,
    purpose: Purpose,
    target: str,
    now: datetime,
) -> IssuedCode:
    """A new code for `target` (replacing the one in flight); the caller sends it and commits."""
    row = await _current(session, user_id, purpose)
    if row is not None:
        if row.blocked_until is not None and now < row.blocked_until:
            raise CodeBlocked(row.blocked_until)
        if row.used_at is None and row.target == target and now - row.sent_at < RESEND_AFTER:
            raise ResendTooSoon(RESEND_AFTER - (now - row.sent_at))
    else:
        row = ConfirmationCode(user_id=user_id, purpose=purpose.value)
        session.add(row)
    code = f"{secrets.randbelow(10**6):06d}"
    row.target = target
    row.code_hash = _hash(vault, user_id, purpose, code)
    row.sent_at = now
    row.expires_at = now + CODE_TTL
    row.attempts = 0
    row.blocked_until = None
    row.used_at = None
    await session.flush()
    return IssuedCode(code=code, target=target, expires_at=row.expires_at)


async def check_code(
    session: AsyncSession, vault: Vault, *, user_id: int, purpose: Purpose, code: str, now: datetime
) -> str:
    """The target the code was sent to, once; each refusal is its own exception.

    Wrong tries are counted in the same transaction: the caller commits on success and failure.
    """
    row = await _current(session, user_id, purpose)
    if row is None or row.used_at is not None:
        raise NoCode("no code in flight")
    if row.blocked_until is not None and now < row.blocked_until:
        raise CodeBlocked(row.blocked_until)
    if now >= row.expires_at:
        raise CodeExpired("expired")
    typed = "".join(ch for ch in code if ch.isdigit())
    if not hmac.compare_digest(row.code_hash, _hash(vault, user_id, purpose, typed)):
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.blocked_until = now + COOL_DOWN
            await session.flush()
            raise CodeBlocked(row.blocked_until)
        await session.flush()
        raise WrongCode(MAX_ATTEMPTS - row.attempts)
    row.used_at = now
    await session.flush()
    return row.target
