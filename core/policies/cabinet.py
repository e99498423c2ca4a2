"""What a person sees of their policies: the list with statuses, and one policy's card data.

Every lookup is scoped to the asking user's own links, so an id from a button can never open
someone else's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import User
from core.errors import NotFoundError
from core.fast_rows import EntityRows
from core.policies.models import InsuredPerson, Policy, PolicyKind, PolicyLink, Program


class Status(StrEnum):
    NOT_YET_ACTIVE = "not_yet_active"
    WAITING = "waiting"  # the waiting period: visits are not insured events yet (seed 002)
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class PolicyView:
    policy: Policy
    person: InsuredPerson
    program: Program | None
    link: PolicyLink
    status: Status
    covered_from: date  # the first day visits are insured events

    @property
    def id(self) -> int:
        return self.policy.id

    @property
    def as_child(self) -> bool:
        return self.link.as_child


def status_on(policy: Policy, program: Program | None, today: date) -> tuple[Status, date]:
    covered_from = policy.valid_from + timedelta(days=program.waiting_days if program else 0)
    if today > policy.valid_to:
        return Status.EXPIRED, covered_from
    if today < policy.valid_from:
        return Status.NOT_YET_ACTIVE, covered_from
    if today < covered_from:
        return Status.WAITING, covered_from
    return Status.ACTIVE, covered_from


_MY_POLICIES = EntityRows(  # built once: most screens start from it (issue 19)
    select(PolicyLink, InsuredPerson, Policy, Program)
    .join(InsuredPerson, InsuredPerson.id == PolicyLink.insured_person_id)
    .join(Policy, Policy.id == InsuredPerson.policy_id)
    .outerjoin(Program, Program.id == Policy.program_id)
    .where(PolicyLink.user_id == bindparam("user_id"))
    .order_by(PolicyLink.as_child, Policy.valid_from.desc())
)


async def my_policies(session: AsyncSession, user: User, *, today: date) -> list[PolicyView]:
    """The person's own policies first, then the children's; newest first within each."""
    rows = await _MY_POLICIES.all(session, {"user_id": user.id})
    views = []
    for link, person, policy, program in rows:
        status, covered_from = status_on(policy, program, today)
        views.append(PolicyView(policy, person, program, link, status, covered_from))
    return views


@dataclass(frozen=True, slots=True)
class WaysToAdd:
    by_passport: bool
    child: bool


def ways_to_add(views: list[PolicyView]) -> WaysToAdd:
    """The passport search is for the second and later policies; a child's policy comes after
    the person's own DMS policy (seed 000 2.1). `linking` enforces the same rules."""
    return WaysToAdd(
        by_passport=bool(views),
        child=any(v.policy.kind == PolicyKind.DMS and not v.as_child for v in views),
    )


async def my_policy(
    session: AsyncSession, user: User, policy_id: int, *, today: date
) -> PolicyView:
    for view in await my_policies(session, user, today=today):
        if view.id == policy_id:
            return view
    raise NotFoundError("policy")
