"""Service regions of a policy (seed 002).

Moscow and Saint Petersburg policies have their regions fixed. A regional policy chooses any
number of federal subjects at no extra cost, only after its franchise is activated, and adds
more at any time while it is valid; a confirmed region is never removed. Some variants exclude
Moscow with its oblast and Saint Petersburg with Leningrad oblast. Clinics of a newly chosen
region are available from the next day (Moscow time), and the person is told so that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.calendar import next_day
from core.billing.franchise import FranchiseState, franchise_row, state_of
from core.billing.models import ServiceRegion
from core.clinics.models import Clinic
from core.errors import DomainError
from core.fast_rows import EntityRows
from core.notifications.outbox import enqueue
from core.policies.cabinet import PolicyView, Status
from core.policies.models import InsuredPerson, Policy, PolicyLink, ProgramClinic, Territory
from core.subjects import SUBJECTS, Subject

MOSCOW_TIME = ZoneInfo("Europe/Moscow")
CAPITALS = frozenset({"77", "50", "78", "47"})  # Moscow + oblast, Saint Petersburg + Leningrad
FIXED: dict[str, tuple[str, ...]] = {Territory.MOSCOW: ("77", "50"), Territory.SPB: ("78", "47")}


class Refusal(StrEnum):
    FIXED = "fixed"  # a Moscow or Saint Petersburg policy: nothing to choose
    NO_TERRITORY = "no_territory"  # not a DMS policy with service regions
    FRANCHISE_FIRST = "franchise_first"  # "available only after the franchise is activated"
    FRANCHISE_PENDING = "franchise_pending"  # the card is linked; the franchise starts later
    EXPIRED = "expired"


class RegionsNotAllowed(DomainError):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


class RegionNotCovered(DomainError):
    """A region outside the policy's variant (a capital on a variant that excludes them)."""


@dataclass(frozen=True, slots=True)
class RegionsView:
    territory: str
    fixed: tuple[str, ...]
    chosen: dict[str, datetime]  # code -> available from
    refusal: Refusal | None  # why regions cannot be chosen now, if they cannot
    opens: datetime | None = None  # FRANCHISE_PENDING: when choosing opens

    def available(self, now: datetime) -> set[str]:
        return set(self.fixed) | {code for code, since in self.chosen.items() if since <= now}

    @property
    def to_choose(self) -> bool:
        """The card's badge: a regional policy without any region yet."""
        return self.territory in CHOOSABLE and not self.chosen


CHOOSABLE = frozenset({Territory.REGIONAL, Territory.REGIONAL_EXCLUDING_CAPITALS})


def choosable(territory: str) -> list[Subject]:
    """The subjects a policy of this territory type may choose from."""
    if territory == Territory.REGIONAL:
        return list(SUBJECTS)
    if territory == Territory.REGIONAL_EXCLUDING_CAPITALS:
        return [s for s in SUBJECTS if s.code not in CAPITALS]
    return []


async def _refusal(
    session: AsyncSession, view: PolicyView, now: datetime
) -> tuple[Refusal | None, datetime | None]:
    territory = view.policy.territory
    if territory in FIXED:
        return Refusal.FIXED, None
    if territory not in CHOOSABLE:
        return Refusal.NO_TERRITORY, None
    if view.status is Status.EXPIRED:
        return Refusal.EXPIRED, None
    if view.program is not None and view.program.franchise_percent:
        # Seed 002: "only after the franchise is activated", that is once it is active.
        franchise = await franchise_row(session, view.person.id)
        state = state_of(franchise, now)
        if state is FranchiseState.NOT_ACTIVATED:
            return Refusal.FRANCHISE_FIRST, None
        if state is FranchiseState.CARD_LINKED:
            assert franchise is not None
            return Refusal.FRANCHISE_PENDING, franchise.active_from
    return None, None


_REGIONS_OF = EntityRows(  # built once: every policy card reads it
    select(ServiceRegion).where(ServiceRegion.insured_person_id == bindparam("person_id"))
)


async def regions_of(session: AsyncSession, view: PolicyView, *, now: datetime) -> RegionsView:
    rows = await _REGIONS_OF.scalars(session, {"person_id": view.person.id})
    refusal, opens = await _refusal(session, view, now)
    return RegionsView(
        territory=view.policy.territory,
        fixed=FIXED.get(view.policy.territory, ()),
        chosen={row.region_code: row.available_from for row in rows},
        refusal=refusal,
        opens=opens,
    )


async def confirm_regions(
    session: AsyncSession, view: PolicyView, codes: Iterable[str], now: datetime
) -> list[str]:
    """Add the chosen regions; returns the codes that are new. Confirmed ones stay as they are."""
    current = await regions_of(session, view, now=now)
    if current.refusal is not None:
        raise RegionsNotAllowed(current.refusal)
    allowed = {s.code for s in choosable(current.territory)}
    wanted = sorted(set(codes))
    if not wanted or any(code not in allowed for code in wanted):
        raise RegionNotCovered(",".join(c for c in wanted if c not in allowed))
    new = [code for code in wanted if code not in current.chosen]
    since = next_day(now)
    for code in new:
        session.add(
            ServiceRegion(
                insured_person_id=view.person.id,
                region_code=code,
                confirmed_at=now,
                available_from=since,
            )
        )
    await session.commit()
    return new


async def without_clinics(
    session: AsyncSession, program_id: int | None, codes: Iterable[str]
) -> list[str]:
    """The regions among `codes` where the program has no clinic (yet): choosing one opens
    nothing, and the person is told so rather than "its clinics are open to you"."""
    wanted = sorted(set(codes))
    if program_id is None or not wanted:
        return wanted
    served = set(
        await session.scalars(
            select(Clinic.region_code)
            .join(ProgramClinic, ProgramClinic.clinic_id == Clinic.id)
            .where(ProgramClinic.program_id == program_id, Clinic.region_code.in_(wanted))
            .distinct()
        )
    )
    return [code for code in wanted if code not in served]


async def announce_regions(session: AsyncSession, now: datetime) -> int:
    """The scheduler's tick: one message per person whose new regions opened today."""
    rows = (
        await session.scalars(
            select(ServiceRegion)
            .where(ServiceRegion.announced.is_(False), ServiceRegion.available_from <= now)
            .order_by(ServiceRegion.id)
        )
    ).all()
    by_person: dict[int, list[ServiceRegion]] = defaultdict(list)
    for row in rows:
        by_person[row.insured_person_id].append(row)
    for person_id, opened in by_person.items():
        ids = [row.id for row in opened]
        claimed = await session.execute(
            update(ServiceRegion)
            .where(ServiceRegion.id.in_(ids), ServiceRegion.announced.is_(False))
            .values(announced=True)
        )
        if claimed.rowcount != len(ids):  # type: ignore[attr-defined]
            await session.rollback()  # another scheduler is announcing them
            continue
        user_id = await session.scalar(
            select(PolicyLink.user_id).where(PolicyLink.insured_person_id == person_id)
        )
        person = await session.get(InsuredPerson, person_id)
        policy = await session.get(Policy, person.policy_id) if person is not None else None
        if user_id is not None and person is not None and policy is not None:
            codes = [row.region_code for row in opened]
            await enqueue(
                session,
                user_id=user_id,
                kind="regions_available",
                dedupe_key=f"regions:{person_id}:{min(ids)}",
                now=now,
                codes=codes,
                empty=await without_clinics(session, policy.program_id, codes),
                policy_id=policy.id,
                number=policy.number,
                name=person.first_name,
            )
        await session.commit()
    return len(by_person)
