"""Who may visit what: for a policy and a clinic, may the insured person go there now, and if not,
why and what fixes it. Every clinic list asks this one rule.

The reasons, in the order they are checked: the program does not include the clinic (for this
care type); the policy has expired, has not started, or is in its waiting period; the clinic
serves with the co-payment and the franchise is not activated, not active yet, or suspended for
debt (seed 000 2.3, 4.2); the clinic's region is outside the policy's territory, not chosen yet,
or opens tomorrow (seed 002). The franchise comes before the region because regions can only be
chosen once the franchise is activated: the first fix offered is the one that can be done, and
a region not chosen yet before activation is reported as the franchise, for every clinic alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import User
from core.billing.franchise import FranchiseState, franchise_row, state_of
from core.billing.regions import CAPITALS, CHOOSABLE, FIXED, regions_of
from core.clinics.index import SMALL, ClinicIndex, Entry, Hit
from core.policies.cabinet import PolicyView, Status, my_policies
from core.policies.models import Territory


class Reason(StrEnum):
    NOT_IN_PROGRAM = "not_in_program"
    EXPIRED = "expired"
    NOT_STARTED = "not_started"  # until `since`
    WAITING = "waiting"  # the waiting period, until `since`
    OUTSIDE_TERRITORY = "outside_territory"
    REGION_NOT_CHOSEN = "region_not_chosen"  # fix: choose the region
    REGION_TOMORROW = "region_tomorrow"  # chosen; open from `since`
    FRANCHISE_NOT_ACTIVATED = "franchise_not_activated"  # fix: activate
    FRANCHISE_PENDING = "franchise_pending"  # card linked; active from `since`
    FRANCHISE_SUSPENDED = "franchise_suspended"  # fix: pay the debt


class Fix(StrEnum):
    ACTIVATE_FRANCHISE = "activate"
    CHOOSE_REGION = "regions"
    PAY_DEBT = "pay"


FIXES = {
    Reason.REGION_NOT_CHOSEN: Fix.CHOOSE_REGION,
    Reason.FRANCHISE_NOT_ACTIVATED: Fix.ACTIVATE_FRANCHISE,
    Reason.FRANCHISE_SUSPENDED: Fix.PAY_DEBT,
}


@dataclass(frozen=True, slots=True)
class Access:
    policy_id: int
    reason: Reason | None
    since: date | datetime | None = None
    care_types: frozenset[str] = frozenset()
    # Open, but the clinics are still registering the person (seed 001): call the desk first.
    desk_first_until: datetime | None = None
    desk_phone: str | None = None
    # What still blocks once `reason` is gone (the franchise activated, the region not chosen
    # yet), with its date: a person told "active from 08.12" must not expect the clinic then.
    then: Reason | None = None
    then_since: datetime | None = None

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def fix(self) -> Fix | None:
        return FIXES.get(self.reason) if self.reason else None


@dataclass(frozen=True, slots=True)
class Entitlement:
    """What one policy allows now; built once per request, then asked per clinic."""

    policy_id: int
    program_id: int | None
    status: Status
    valid_from: date
    valid_to: date
    covered_from: date
    territory: str
    open_regions: frozenset[str]
    pending_regions: dict[str, datetime]
    franchise_needed: bool  # the program has a co-payment
    franchise: FranchiseState | None
    franchise_since: datetime | None
    desk_first_until: datetime | None = None  # set only while it lasts
    desk_phone: str | None = None
    number: str = ""  # the policy's number and the insured person's first name, for the texts
    person: str = ""

    def check(self, index: ClinicIndex, entry: Entry, care_type: str | None = None) -> Access:
        members = index.members.get(self.program_id or 0, {})
        kinds = members.get(entry.id)
        if kinds is None or (care_type is not None and care_type not in kinds):
            return Access(self.policy_id, Reason.NOT_IN_PROGRAM)
        if self.status is Status.EXPIRED:
            return Access(self.policy_id, Reason.EXPIRED, self.valid_to, kinds)
        if self.status is Status.NOT_YET_ACTIVE:
            return Access(self.policy_id, Reason.NOT_STARTED, self.valid_from, kinds)
        if self.status is Status.WAITING:
            return Access(self.policy_id, Reason.WAITING, self.covered_from, kinds)
        region = self._region(entry.region_code)
        if region is not None and region[0] is Reason.OUTSIDE_TERRITORY:
            return Access(self.policy_id, Reason.OUTSIDE_TERRITORY, None, kinds)  # for good
        then, then_since = region if region is not None else (None, None)
        if self.franchise_needed and entry.franchise_only:
            if self.franchise is FranchiseState.NOT_ACTIVATED:
                return Access(
                    self.policy_id, Reason.FRANCHISE_NOT_ACTIVATED, None, kinds,
                    then=then, then_since=then_since,
                )  # fmt: skip
            if self.franchise is FranchiseState.CARD_LINKED:
                return Access(
                    self.policy_id, Reason.FRANCHISE_PENDING, self.franchise_since, kinds,
                    then=then, then_since=then_since,
                )  # fmt: skip
            if self.franchise is FranchiseState.SUSPENDED:
                return Access(
                    self.policy_id, Reason.FRANCHISE_SUSPENDED, self.franchise_since, kinds,
                    then=then, then_since=then_since,
                )  # fmt: skip
        if region is not None:
            reason, since = region
            if reason is Reason.REGION_NOT_CHOSEN and (held := self._franchise_first()):
                # Regions are chosen only once the franchise is active: that comes first.
                return Access(self.policy_id, held[0], held[1], kinds, then=reason)
            return Access(self.policy_id, reason, since, kinds)
        return Access(self.policy_id, None, None, kinds, self.desk_first_until, self.desk_phone)

    def admits(self, index: ClinicIndex, care_type: str | None = None) -> Callable[[Entry], bool]:
        """`check(...).available` as a fast predicate for searches over many clinics. The same
        rule, unrolled once per request; tests hold the two to the same answers."""
        members = index.members.get(self.program_id or 0, {})
        if self.status is not Status.ACTIVE:
            return lambda entry: False
        blocked = self.franchise_needed and self.franchise in (
            FranchiseState.NOT_ACTIVATED,
            FranchiseState.CARD_LINKED,
            FranchiseState.SUSPENDED,
        )
        regional = self.territory in FIXED or self.territory in CHOOSABLE
        regions = self.open_regions

        def admit(entry: Entry) -> bool:
            kinds = members.get(entry.id)
            if kinds is None or (care_type is not None and care_type not in kinds):
                return False
            if blocked and entry.franchise_only:
                return False
            return not regional or entry.region_code in regions

        return admit

    def _franchise_first(self) -> tuple[Reason, datetime | None] | None:
        """Seed 002: regions can be chosen only after the franchise is activated, so until then
        a region not chosen yet is held by the franchise, with its fix, for every clinic."""
        if not self.franchise_needed:
            return None
        if self.franchise is FranchiseState.NOT_ACTIVATED:
            return Reason.FRANCHISE_NOT_ACTIVATED, None
        if self.franchise is FranchiseState.CARD_LINKED:
            return Reason.FRANCHISE_PENDING, self.franchise_since
        return None

    def _region(self, code: str) -> tuple[Reason, datetime | None] | None:
        if self.territory in FIXED:
            return None if code in self.open_regions else (Reason.OUTSIDE_TERRITORY, None)
        if self.territory not in CHOOSABLE or code in self.open_regions:
            return None
        if code in self.pending_regions:
            return Reason.REGION_TOMORROW, self.pending_regions[code]
        if code in CAPITALS and self.territory == Territory.REGIONAL_EXCLUDING_CAPITALS:
            return Reason.OUTSIDE_TERRITORY, None
        return Reason.REGION_NOT_CHOSEN, None

    def regions(self) -> frozenset[str] | None:
        """The only regions this policy's clinics can be in now, if it has regions."""
        if self.territory in FIXED or self.territory in CHOOSABLE:
            return self.open_regions
        return None

    def candidates(self, index: ClinicIndex) -> list[Entry] | None:
        """A small set holding every clinic this policy may visit, or None (walk the grid)."""
        members = index.members.get(self.program_id or 0, {})
        if len(members) <= SMALL:
            return [index.entries[i] for i in members if i in index.entries]
        regions = self.regions()
        if regions is not None and sum(len(index.regions.get(c, ())) for c in regions) <= SMALL:
            return [e for code in regions for e in index.regions.get(code, ())]
        return None


async def entitlement_of(session: AsyncSession, view: PolicyView, now: datetime) -> Entitlement:
    program = view.program
    regions = await regions_of(session, view, now=now)
    franchise_needed = bool(program and program.franchise_percent)
    state, since, desk_first = None, None, None
    if franchise_needed:
        franchise = await franchise_row(session, view.person.id)
        state = state_of(franchise, now)
        if franchise is not None:
            since = franchise.suspended_at or franchise.active_from
            if franchise.desk_first_until is not None and now < franchise.desk_first_until:
                desk_first = franchise.desk_first_until
    return Entitlement(
        policy_id=view.id,
        program_id=program.id if program else None,
        status=view.status,
        valid_from=view.policy.valid_from,
        valid_to=view.policy.valid_to,
        covered_from=view.covered_from,
        territory=view.policy.territory,
        open_regions=frozenset(regions.available(now)),
        pending_regions={c: t for c, t in regions.chosen.items() if t > now},
        franchise_needed=franchise_needed,
        franchise=state,
        franchise_since=since,
        desk_first_until=desk_first,
        desk_phone=program.desk_phone if program else None,
        number=view.policy.number,
        person=view.person.first_name,
    )


def best_access(
    rights: Sequence[Entitlement], index: ClinicIndex, entry: Entry, care_type: str | None = None
) -> Access:
    """Across a person's policies: the first that lets them in, one without a co-payment before
    one with (the visit then costs the person nothing, and the card, the booking and the
    appointment request name that policy); else the first policy's reason (a clinic outside
    every program says so)."""
    accesses = [right.check(index, entry, care_type) for right in rights]
    free = [a for right, a in zip(rights, accesses, strict=True) if not right.franchise_needed]
    for access in (*free, *accesses):
        if access.available:
            return access
    relevant = [a for a in accesses if a.reason is not Reason.NOT_IN_PROGRAM]
    return (relevant or accesses or [Access(0, Reason.NOT_IN_PROGRAM)])[0]


@dataclass(frozen=True, slots=True)
class NearbyClinic:
    hit: Hit
    access: Access


def nearest_for(
    index: ClinicIndex,
    rights: Sequence[Entitlement],
    latitude: float,
    longitude: float,
    *,
    k: int = 5,
    everything: bool = False,
    care_type: str | None = None,
) -> list[NearbyClinic]:
    """The nearest clinics the person may visit (or, with `everything`, those and the nearest
    clinics at all among them, each with its access: showing the unavailable ones adds to the
    list, it never drops a clinic the person may visit). Without policies every clinic is
    listed, as a directory."""
    if not rights:
        return [NearbyClinic(h, Access(0, None)) for h in index.nearest(latitude, longitude, k)]
    hits = _admitted(index, rights, latitude, longitude, k, care_type)
    if everything:
        found = {hit.entry.id: hit for hit in hits}
        for hit in index.nearest(latitude, longitude, k):
            found.setdefault(hit.entry.id, hit)
        hits = sorted(found.values(), key=lambda hit: hit.distance_km)
    return [NearbyClinic(h, best_access(rights, index, h.entry, care_type)) for h in hits]


def _admitted(
    index: ClinicIndex,
    rights: Sequence[Entitlement],
    latitude: float,
    longitude: float,
    k: int,
    care_type: str | None,
) -> list[Hit]:
    """The `k` nearest clinics any of the policies admits, searched within their clinics or
    regions where those are few."""
    admits = [right.admits(index, care_type) for right in rights]

    def accept(entry: Entry) -> bool:
        return any(admit(entry) for admit in admits)

    pools = [right.candidates(index) for right in rights]
    within: Iterable[Entry] | None = None
    if all(pool is not None for pool in pools):
        within = {e.id: e for pool in pools for e in pool or ()}.values()
    areas = [right.regions() for right in rights]
    regions: set[str] | None = None
    if all(area is not None for area in areas):
        regions = {code for area in areas for code in area or ()}
    return index.nearest(latitude, longitude, k, accept, within=within, regions=regions)


async def rights_of(session: AsyncSession, user: User, now: datetime) -> list[Entitlement]:
    """The person's own policies with a program: what they themselves may visit."""
    views = await my_policies(session, user, today=now.date())
    return [
        await entitlement_of(session, view, now)
        for view in views
        if view.program is not None and not view.as_child
    ]
