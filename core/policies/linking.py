"""Linking policies to a cabinet (seed 000 2.1-2.2, seeds 001 and 002).

- By number, always: the policy must exist, be valid or future-dated, and name the person of
  the profile exactly (surname, name, patronymic, birth date; case and ё/е ignored). A mismatch
  never tells whose policy the number is.
- By passport data: for the second and later policies, the person's other policies found by
  document plus name and birth date.
- A child's policy: once a parent's DMS policy is linked; the child's age limit is the
  program's (17 under corporate contracts, 15 for retail products); the parent must hold the
  parent policy or be named as the child's representative.
- At most 5 failed lookups per person per hour, counting only input shaped like a policy
  number; after the first policy the profile locks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Account, User
from core.accounts.registration import lock_personal_data
from core.accounts.validation import age_on
from core.appeals.backoffice import attach_insurer_cases
from core.errors import DomainError
from core.policies.models import (
    InsuredPerson,
    LookupAttempt,
    Policy,
    PolicyKind,
    PolicyLink,
    Program,
)

MAX_FAILED_LOOKUPS = 5
LOOKUP_WINDOW = timedelta(hours=1)


class LinkRefused(DomainError):
    """Base of every refusal to link."""


class TooManyLookups(LinkRefused):
    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"retry at {retry_at}")
        self.retry_at = retry_at


class PolicyNotFound(LinkRefused):
    pass


class DataMismatch(LinkRefused):
    """The policy exists but does not name this person: offer the identity check or an appeal.
    `person` is the closest insured person on it and `mismatched` what differs from the
    profile (surname, first_name, patronymic, birth_date), for the operator who checks."""

    def __init__(
        self, number: str, person: InsuredPerson | None = None, mismatched: tuple[str, ...] = ()
    ) -> None:
        super().__init__(number)
        self.person, self.mismatched = person, mismatched


class AlreadyLinked(LinkRefused):
    """This cabinet has it already: `policy_id` and `number` open it."""

    def __init__(self, policy_id: int, number: str) -> None:
        super().__init__(f"linked here: {number}")
        self.policy_id, self.number = policy_id, number


class LinkedElsewhere(LinkRefused):
    """Another cabinet has it: the identity check or an appeal sorts it out."""

    def __init__(self, why: str, person: InsuredPerson | None = None) -> None:
        super().__init__(why)
        self.person = person


class FirstPolicyByNumber(LinkRefused):
    """Passport lookup is for the second and later policies."""


class NothingFound(LinkRefused):
    pass


class NotAPolicyNumber(LinkRefused):
    """The text cannot be a policy number (a menu button, a sentence): not a failed lookup."""


class ParentPolicyRequired(LinkRefused):
    """A child's policy comes after the parent's own DMS policy is linked."""


class NotRepresentative(LinkRefused):
    pass


class ChildTooOld(LinkRefused):
    def __init__(self, limit: int) -> None:
        super().__init__(f"over {limit}")
        self.limit = limit


def normalize_policy_number(text: str) -> str:
    return "".join(text.split()).upper()


DASHES = "-‐‑‒–—"


def policy_number_key(text: str) -> str:
    """A policy number as typed, for matching: no spaces, no dashes, any letter case
    ("ondl 500001" is ONDL-500001)."""
    return "".join(ch for ch in normalize_policy_number(text) if ch not in DASHES)


# Letters, digits and the separators printed on policies and cards, with at least one digit.
_POLICY_NUMBER = re.compile(r"(?=.*\d)[0-9A-ZА-ЯЁ./-]{3,40}")


def looks_like_policy_number(text: str) -> bool:
    """Only such input counts against the lookup limit: a stray menu tap or a sentence
    must not lock a person out of adding policies."""
    plain = normalize_policy_number(text).translate({ord(d): "-" for d in DASHES})
    return _POLICY_NUMBER.fullmatch(plain) is not None


def _fold(value: str | None) -> str:
    return (value or "").casefold().replace("ё", "е").strip()


PersonKey = tuple[str, str, str, date | None]


def person_key(
    surname: str | None, first_name: str | None, patronymic: str | None, birth: date | None
) -> PersonKey:
    """Names folded for comparison (case and ё/е ignored) with the birth date."""
    return (_fold(surname), _fold(first_name), _fold(patronymic), birth)


def same_person(
    person: InsuredPerson, surname: str, first_name: str, patronymic: str | None, birth: date
) -> bool:
    return person_key(person.surname, person.first_name, person.patronymic, person.birth_date) == (
        person_key(surname, first_name, patronymic, birth)
    )


def mismatched_fields(person: InsuredPerson, account: Account) -> tuple[str, ...]:
    mine = person_key(account.surname, account.first_name, account.patronymic, account.birth_date)
    theirs = person_key(person.surname, person.first_name, person.patronymic, person.birth_date)
    names = ("surname", "first_name", "patronymic", "birth_date")
    return tuple(name for name, a, b in zip(names, mine, theirs, strict=True) if a != b)


def closest(persons: Sequence[InsuredPerson], account: Account) -> DataMismatch:
    """The refusal for a policy none of whose persons is the account's, with the closest."""
    if not persons:
        return DataMismatch("no persons")
    person = min(persons, key=lambda p: len(mismatched_fields(p, account)))
    return DataMismatch("mismatch", person, mismatched_fields(person, account))


def _is_account(person: InsuredPerson, account: Account) -> bool:
    return same_person(
        person, account.surname, account.first_name, account.patronymic, account.birth_date
    )


async def _guard(session: AsyncSession, user: User, now: datetime) -> None:
    since = now - LOOKUP_WINDOW
    failures = (
        await session.scalars(
            select(LookupAttempt.at)
            .where(LookupAttempt.user_id == user.id, LookupAttempt.at > since)
            .order_by(LookupAttempt.at)
        )
    ).all()
    if len(failures) >= MAX_FAILED_LOOKUPS:
        raise TooManyLookups(failures[-MAX_FAILED_LOOKUPS] + LOOKUP_WINDOW)


async def _failed(
    session: AsyncSession, user: User, now: datetime, error: LinkRefused
) -> LinkRefused:
    session.add(LookupAttempt(user_id=user.id, at=now))
    await session.commit()
    return error


async def _check_free(
    session: AsyncSession, user: User, policy: Policy, person: InsuredPerson
) -> None:
    link = await session.scalar(select(PolicyLink).where(PolicyLink.insured_person_id == person.id))
    if link is not None:
        raise (
            AlreadyLinked(policy.id, policy.number)
            if link.user_id == user.id
            else LinkedElsewhere("linked elsewhere", person)
        )


async def _policy(session: AsyncSession, number: str) -> Policy | None:
    exact = await session.scalar(
        select(Policy).where(Policy.number == normalize_policy_number(number))
    )
    if exact is not None:
        return exact
    key = policy_number_key(number)
    if not key:
        return None
    stored = func.upper(func.replace(func.replace(Policy.number, "-", ""), " ", ""))
    return await session.scalar(select(Policy).where(stored == key).order_by(Policy.id).limit(1))


@dataclass(frozen=True, slots=True)
class Linked:
    policy: Policy
    person: InsuredPerson


async def _link(
    session: AsyncSession,
    user: User,
    account: Account,
    found: list[Linked],
    *,
    child: bool,
    now: datetime,
) -> list[Linked]:
    for item in found:
        session.add(
            PolicyLink(
                user_id=user.id, insured_person_id=item.person.id, as_child=child, linked_at=now
            )
        )
    # The insurer's cases of these policies come with them (issue 16 item 14).
    await attach_insurer_cases(session, user.id, [item.policy.id for item in found], now=now)
    lock_personal_data(account, now)
    await session.commit()
    return found


async def link_by_number(
    session: AsyncSession, user: User, account: Account, number: str, *, now: datetime
) -> Linked:
    if not looks_like_policy_number(number):
        raise NotAPolicyNumber(number)
    await _guard(session, user, now)
    policy = await _policy(session, number)
    if policy is None:
        raise await _failed(session, user, now, PolicyNotFound(number))
    # An expired policy is linked too, as archived: its services and documents stay visible,
    # and it opens no clinics (the clinic rule says "expired").
    persons = (
        await session.scalars(select(InsuredPerson).where(InsuredPerson.policy_id == policy.id))
    ).all()
    person = next((p for p in persons if _is_account(p, account)), None)
    if person is None:
        raise await _failed(session, user, now, closest(persons, account))
    await _check_free(session, user, policy, person)
    [linked] = await _link(session, user, account, [Linked(policy, person)], child=False, now=now)
    return linked


async def linked_count(session: AsyncSession, user: User) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(PolicyLink).where(PolicyLink.user_id == user.id)
        )
        or 0
    )


async def link_by_passport(
    session: AsyncSession, user: User, account: Account, *, now: datetime
) -> list[Linked]:
    """Every still unlinked valid policy naming this person with this document."""
    if await linked_count(session, user) == 0:
        raise FirstPolicyByNumber("the first policy is added by its number")
    rows = (
        await session.execute(
            select(Policy, InsuredPerson)
            .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
            .outerjoin(PolicyLink, PolicyLink.insured_person_id == InsuredPerson.id)
            .where(
                InsuredPerson.document_digest == account.document_digest,
                PolicyLink.id.is_(None),
                Policy.valid_to >= now.date(),
            )
            .order_by(Policy.valid_from)
        )
    ).all()
    found = [Linked(policy, person) for policy, person in rows if _is_account(person, account)]
    if not found:
        raise NothingFound("no other policies")
    return await _link(session, user, account, found, child=False, now=now)


@dataclass(frozen=True, slots=True)
class ChildData:
    surname: str
    first_name: str
    patronymic: str | None
    birth_date: date


async def link_child(
    session: AsyncSession,
    user: User,
    account: Account,
    number: str,
    child: ChildData,
    *,
    now: datetime,
) -> Linked:
    if not looks_like_policy_number(number):
        raise NotAPolicyNumber(number)
    await _guard(session, user, now)
    own = (
        await session.scalars(
            select(Policy.id)
            .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
            .join(PolicyLink, PolicyLink.insured_person_id == InsuredPerson.id)
            .where(
                PolicyLink.user_id == user.id,
                PolicyLink.as_child.is_(False),
                Policy.kind == PolicyKind.DMS.value,
            )
        )
    ).all()
    if not own:
        raise ParentPolicyRequired("link your own DMS policy first")
    policy = await _policy(session, number)
    if policy is None:
        raise await _failed(session, user, now, PolicyNotFound(number))
    # An expired policy is linked too, as archived: its services and documents stay visible,
    # and it opens no clinics (the clinic rule says "expired").
    persons = (
        await session.scalars(select(InsuredPerson).where(InsuredPerson.policy_id == policy.id))
    ).all()
    parent = person_key(account.surname, account.first_name, account.patronymic, account.birth_date)

    def represents(p: InsuredPerson) -> bool:
        return p.representative_surname is not None and parent == person_key(
            p.representative_surname,
            p.representative_first_name,
            p.representative_patronymic,
            p.representative_birth_date,
        )

    # Whether the person may add a child of this policy at all is decided before the child's
    # data are compared: otherwise the two refusals would tell a stranger whether the name
    # and birth date typed are those of someone else's child (a walker's finding).
    holder = policy.parent_policy_id in own
    if not holder and not any(represents(p) for p in persons):
        raise await _failed(
            session, user, now, NotRepresentative("neither the policyholder nor a representative")
        )
    person = next(
        (
            p
            for p in persons
            if same_person(p, child.surname, child.first_name, child.patronymic, child.birth_date)
        ),
        None,
    )
    if person is None:
        raise await _failed(session, user, now, DataMismatch(number))
    program = await session.get(Program, policy.program_id) if policy.program_id else None
    limit = program.child_age_limit if program is not None else 17
    if age_on(person.birth_date, now.date()) > limit:
        raise ChildTooOld(limit)
    if not holder and not represents(person):  # another child's representative, not this one's
        raise NotRepresentative("neither the policyholder nor the representative")
    await _check_free(session, user, policy, person)
    [linked] = await _link(session, user, account, [Linked(policy, person)], child=True, now=now)
    return linked
