"""Six-digit confirmation codes (seed 003): 10 minutes to live, a new one after 60 s.

Only a keyed hash of a code is stored; one code per person and purpose is in flight.
Guessing is limited per Telegram account AND per target (the e-mail address the code goes
to, and the account being recovered), across codes, re-issues and Telegram accounts:
at most 5 wrong codes an hour and 10 a day per key, and at most 3 codes sent an hour and
5 a day per key, so the owner of an address is not mail-bombed either. A key over a limit
is refused until the oldest event that counts leaves the window.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.crypto import Vault
from core.accounts.models import CodeEvent, ConfirmationCode
from core.db import Base
from core.errors import DomainError
from core.fast_rows import EntityRows, Write

CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
WRONG_LIMITS = ((HOUR, 5), (DAY, 10))  # wrong codes per key
SENT_LIMITS = ((HOUR, 3), (DAY, 5))  # codes sent per key
MAX_ATTEMPTS = WRONG_LIMITS[0][1]
WRONG, SENT = "wrong", "sent"
_EVENTS = Base.metadata.tables[CodeEvent.__tablename__]


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
    """Too many wrong codes for this account or this target: no code until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"blocked until {until}")
        self.until = until


class LastWrongCode(CodeBlocked):
    """A wrong code that used up the tries: counted, and blocked until `until`."""


class TooManyCodes(CodeBlocked):
    """Too many codes sent for this account or to this address: no new one until `until`."""


class CodeExpired(CodeProblem):
    pass


class NoCode(CodeProblem):
    pass


class WrongCode(CodeProblem):
    def __init__(self, tries_left: int, latest_sent_at: datetime | None = None) -> None:
        super().__init__(f"{tries_left} tries left")
        self.tries_left = tries_left
        # When the code in force is not the only one mailed within a code's lifetime: when the
        # one that counts went (the code of an earlier letter is easily typed instead).
        self.latest_sent_at = latest_sent_at


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    target: str
    expires_at: datetime


def _hash(vault: Vault, user_id: int, purpose: Purpose, code: str) -> str:
    return vault.digest(f"code:{user_id}:{purpose}:{code}")


def limit_keys(vault: Vault, user_id: int, target: str, *more: str) -> list[str]:
    """The keys a code's limits count for: the Telegram account, the address, `more` targets.

    The address is kept only as a keyed digest.
    """
    email = vault.digest(f"code-target:{target.strip().lower()}")
    return [f"user:{user_id}", f"email:{email}", *more]


# The statements of a code's every step, built once: building one cost more than running it
# (issue 19).
_CURRENT = EntityRows(
    select(ConfirmationCode).where(
        ConfirmationCode.user_id == bindparam("user_id"),
        ConfirmationCode.purpose == bindparam("purpose"),
    )
)


@functools.cache
def _recent(count: int) -> EntityRows:
    """The events of `count` keys since a moment, newest first (one statement per count: an
    IN list expanded at each execution would take SQLAlchemy's whole path)."""
    return EntityRows(
        select(_EVENTS.c.kind, _EVENTS.c.key, _EVENTS.c.at)
        .where(
            _EVENTS.c.key.in_([bindparam(f"key{n}") for n in range(count)]),
            _EVENTS.c.at > bindparam("since"),
        )
        .order_by(_EVENTS.c.at.desc())
    )


@functools.cache
def _events_insert(count: int) -> Write:
    """One INSERT of `count` events."""
    return Write(
        insert(_EVENTS).values(
            [
                {
                    "key": bindparam(f"key{n}"),
                    "kind": bindparam(f"kind{n}"),
                    "at": bindparam(f"at{n}"),
                }
                for n in range(count)
            ]
        )
    )


async def _current(
    session: AsyncSession, user_id: int, purpose: Purpose
) -> ConfirmationCode | None:
    params = {"user_id": user_id, "purpose": purpose.value}
    return cast(ConfirmationCode | None, await _CURRENT.scalar(session, params))


async def _serialize(session: AsyncSession, keys: Iterable[str]) -> None:
    """PostgreSQL: one transaction at a time counts a key (two accounts at once cannot both
    get the last try); SQLite writes one transaction at a time anyway. The keys' locks are
    taken by one statement, in sorted order (two transactions sharing keys cannot deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(_LOCK_KEYS, {"keys": sorted(set(keys))})


_LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(hashtext(key))) FROM unnest(CAST(:keys AS text[])) AS key"
)

Events = dict[str, dict[str, list[datetime]]]  # kind -> key -> times, newest first


async def _events(session: AsyncSession, keys: Sequence[str], now: datetime) -> Events:
    """Every key's events of every kind in the longest window (a day), in one query: a day
    holds a handful of them per key (the limits see to that). Older ones are purged hourly."""
    named = {f"key{n}": key for n, key in enumerate(keys)}
    rows = await _recent(len(keys)).all(session, {**named, "since": now - DAY})
    events: Events = {kind: {key: [] for key in keys} for kind in (WRONG, SENT)}
    for kind, key, at in rows:
        events[kind][key].append(at)
    return events


def _latest(times: Sequence[datetime], since: datetime, limit: int) -> list[datetime]:
    """The latest `limit` of newest-first `times` after `since`."""
    return [at for at in times if at > since][:limit]


def _blocked_until(
    recent: dict[str, list[datetime]], limits: Sequence[tuple[timedelta, int]], now: datetime
) -> datetime | None:
    """When every key is back under every limit, or None if none is over now."""
    until: datetime | None = None
    for times in recent.values():
        for window, limit in limits:
            latest = _latest(times, now - window, limit)
            if len(latest) >= limit:
                free_at = latest[-1] + window
                until = free_at if until is None else max(until, free_at)
    return until


def _tries_left(recent: dict[str, list[datetime]], now: datetime) -> int:
    left = min(limit for _window, limit in WRONG_LIMITS)
    for times in recent.values():
        for window, limit in WRONG_LIMITS:
            left = min(left, limit - len(_latest(times, now - window, limit)))
    return max(0, left)


async def _record(
    session: AsyncSession, events: Events, keys: Sequence[str], kind: str, now: datetime
) -> None:
    """One event per key, written and added to what was read. A Core statement on the table:
    the ORM's unit of work costs more than the statement (issue 19), and nothing in the
    session holds these rows."""
    values: dict[str, object] = {}
    for n, key in enumerate(keys):
        values.update({f"key{n}": key, f"kind{n}": kind, f"at{n}": now})
    await session.run_sync(_events_insert(len(keys)).run, values)
    for key in keys:
        events[kind][key].insert(0, now)


async def purge_code_events(session: AsyncSession, now: datetime) -> int:
    """Forget the events no limit counts any more (an hourly tick)."""
    gone = await session.execute(delete(_EVENTS).where(_EVENTS.c.at <= now - DAY))
    await session.commit()
    return int(gone.rowcount)  # type: ignore[attr-defined]


async def count_events(session: AsyncSession, key: str, kind: str, since: datetime) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(CodeEvent)
        .where(CodeEvent.key == key, CodeEvent.kind == kind, CodeEvent.at > since)
    )
    return int(found or 0)


async def issue_code(
    session: AsyncSession,
    vault: Vault,
    *,
    user_id: int,
    purpose: Purpose,
    target: str,
    now: datetime,
    also_limit: Sequence[str] = (),
) -> IssuedCode:
    """A new code for `target` (replacing the one in flight); the caller sends it and commits.

    `also_limit`: more keys to count the code and its wrong tries for (the account being
    recovered).
    """
    keys = limit_keys(vault, user_id, target, *also_limit)
    await _serialize(session, keys)
    row = await _current(session, user_id, purpose)
    events = await _events(session, keys, now)
    blocked = _blocked_until(events[WRONG], WRONG_LIMITS, now)
    if blocked is not None:
        raise CodeBlocked(blocked)
    just_sent = row is not None and row.used_at is None and row.target == target
    if row is not None and just_sent and now - row.sent_at < RESEND_AFTER:
        raise ResendTooSoon(RESEND_AFTER - (now - row.sent_at))
    blocked = _blocked_until(events[SENT], SENT_LIMITS, now)
    if blocked is not None:
        raise TooManyCodes(blocked)
    if row is None:
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
    row.limit_keys = " ".join(keys)
    await _record(session, events, keys, SENT, now)
    return IssuedCode(code=code, target=target, expires_at=row.expires_at)


async def code_in_flight(
    session: AsyncSession, *, user_id: int, purpose: Purpose, target: str, now: datetime
) -> bool:
    """Whether a code sent to `target` is still waiting to be typed (unused, not expired)."""
    row = await _current(session, user_id, purpose)
    return (
        row is not None
        and row.used_at is None
        and row.target == target
        and now < row.expires_at
        and (row.blocked_until is None or row.blocked_until <= now)
    )


async def check_code(
    session: AsyncSession, vault: Vault, *, user_id: int, purpose: Purpose, code: str, now: datetime
) -> str:
    """The target the code was sent to, once; each refusal is its own exception.

    Wrong tries are counted in the same transaction: the caller commits on success and failure.
    """
    row = await _current(session, user_id, purpose)
    if row is None or row.used_at is not None:
        raise NoCode("no code in flight")
    keys = row.limit_keys.split() or limit_keys(vault, user_id, row.target)
    await _serialize(session, keys)
    events = await _events(session, keys, now)
    blocked = _blocked_until(events[WRONG], WRONG_LIMITS, now)
    if blocked is not None:
        row.blocked_until = blocked
        await session.flush()
        raise CodeBlocked(blocked)
    if now >= row.expires_at:
        raise CodeExpired("expired")
    typed = "".join(ch for ch in code if ch.isdigit())
    if not hmac.compare_digest(row.code_hash, _hash(vault, user_id, purpose, typed)):
        row.attempts += 1
        await _record(session, events, keys, WRONG, now)
        left = _tries_left(events[WRONG], now)
        if left == 0:
            blocked = _blocked_until(events[WRONG], WRONG_LIMITS, now)
            assert blocked is not None
            row.blocked_until = blocked
            await session.flush()
            raise LastWrongCode(blocked)
        mailed = max(
            len([t for t in times if now - t < CODE_TTL]) for times in events[SENT].values()
        )
        raise WrongCode(left, row.sent_at if mailed > 1 else None)
    row.used_at = now
    await session.flush()
    return row.target
