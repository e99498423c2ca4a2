"""The clinic index: every process keeps the directory in memory as a k-d tree over points on
the unit sphere, with each program's members and a tree per region, and reloads it when an
import bumps the directory version. It answers "the k nearest clinics that pass this filter"
best-first: boxes are opened nearest first until no box left can hold anything closer.

Chosen over an SQLite R*Tree (not in every SQLite build, and a second mechanism for PostgreSQL),
a grid column in SQL (a round trip per ring) and a latitude/longitude grid (one cell size cannot
suit both central Moscow and Chukotka): the directory is small enough for memory and rarely
changes. Points on the sphere have no poles or 180° seam, and the straight-line (chord) distance
orders clinics exactly as the great-circle distance does.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clinics.geo import distance_km
from core.clinics.models import Clinic, DirectoryVersion
from core.policies.models import ProgramClinic

LEAF = 16  # entries per leaf of the k-d tree
SMALL = 1500  # a candidate set this small is cheaper to scan than to search a tree for


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    name: str
    latitude: float
    longitude: float
    region_code: str
    franchise_only: bool
    xyz: tuple[float, float, float] = field(repr=False)  # on the unit sphere: cheap ranking


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    distance_km: float


Accept = Callable[[Entry], bool]


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    phi, lam = math.radians(latitude), math.radians(longitude)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


class Node:
    """A box of the k-d tree over points on the unit sphere (x, y, z): no poles, no 180° seam."""

    __slots__ = ("high", "items", "left", "low", "right")

    def __init__(self, items: list[Entry]) -> None:
        self.low = tuple(min(e.xyz[axis] for e in items) for axis in range(3))
        self.high = tuple(max(e.xyz[axis] for e in items) for axis in range(3))
        self.items: list[Entry] | None = None
        self.left: Node | None = None
        self.right: Node | None = None
        if len(items) <= LEAF:
            self.items = items
            return
        axis = max(range(3), key=lambda a: self.high[a] - self.low[a])
        items.sort(key=lambda e: e.xyz[axis])
        middle = len(items) // 2
        self.left, self.right = Node(items[:middle]), Node(items[middle:])

    def gap(self, point: tuple[float, float, float]) -> float:
        """The squared distance from the point to this box (0 inside)."""
        total = 0.0
        for axis in range(3):
            value = point[axis]
            if value < self.low[axis]:
                total += (self.low[axis] - value) ** 2
            elif value > self.high[axis]:
                total += (value - self.high[axis]) ** 2
        return total


Ranked = tuple[float, str, int, Entry]  # (squared chord, name, id): nearest, then by name and id


class ClinicIndex:
    def __init__(
        self, entries: Iterable[Entry], members: dict[int, dict[int, frozenset[str]]]
    ) -> None:
        self.entries: dict[int, Entry] = {e.id: e for e in entries}
        self.members = members  # program id -> clinic id -> care types
        self.regions: dict[str, list[Entry]] = defaultdict(list)
        for entry in self.entries.values():
            self.regions[entry.region_code].append(entry)
        self.tree = Node(list(self.entries.values())) if self.entries else None
        self._region_trees = {code: Node(list(items)) for code, items in self.regions.items()}
        self.folded_names: tuple[list[str], list[Entry]] | None = None  # for the name search

    def __len__(self) -> int:
        return len(self.entries)

    def region_tree(self, code: str) -> Node | None:
        return self._region_trees.get(code)

    # --- the nearest ---------------------------------------------------------------------------
    def nearest(
        self,
        latitude: float,
        longitude: float,
        k: int,
        accept: Accept | None = None,
        *,
        within: Iterable[Entry] | None = None,
        regions: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The k nearest accepted clinics, nearest first (equal distances by name, then id).

        `within`, when given, is a small set known to hold every accepted clinic; `regions`, the
        only regions an accepted clinic can be in (each has its own tree, so the search never
        wades through the clinics of other regions)."""
        if within is not None:
            return self._scan(latitude, longitude, k, accept, within)
        if regions is None:
            roots = [self.tree] if self.tree else []
        else:
            roots = [t for t in (self.region_tree(c) for c in sorted(regions)) if t]
        origin = unit_vector(latitude, longitude)
        best: list[Ranked] = []
        queue = [(root.gap(origin), n, root) for n, root in enumerate(roots)]
        heapq.heapify(queue)
        counter = len(queue)
        while queue:
            gap, _, node = heapq.heappop(queue)
            if len(best) == k and gap > best[-1][0]:
                break  # every box left is farther than the k-th found
            if node.items is not None:
                fresh = [
                    (_chord(origin, e.xyz), e.name, e.id, e)
                    for e in node.items
                    if accept is None or accept(e)
                ]
                if fresh:
                    best = heapq.nsmallest(k, best + fresh)
                continue
            for child in (node.left, node.right):
                assert child is not None
                counter += 1
                heapq.heappush(queue, (child.gap(origin), counter, child))
        return [_hit(latitude, longitude, e) for *_, e in best]

    def _scan(
        self,
        latitude: float,
        longitude: float,
        k: int,
        accept: Accept | None,
        entries: Iterable[Entry],
    ) -> list[Hit]:
        origin = unit_vector(latitude, longitude)
        best = heapq.nsmallest(
            k,
            (
                (_chord(origin, e.xyz), e.name, e.id, e)
                for e in entries
                if accept is None or accept(e)
            ),
        )
        return [_hit(latitude, longitude, e) for *_, e in best]

    def full_scan(
        self, latitude: float, longitude: float, k: int, accept: Accept | None = None
    ) -> list[Hit]:
        """The plain way, for the benchmark and the tests: every clinic, distance, sort."""
        origin = unit_vector(latitude, longitude)
        ranked = sorted(
            (_chord(origin, e.xyz), e.name, e.id, e)
            for e in self.entries.values()
            if accept is None or accept(e)
        )
        return [_hit(latitude, longitude, e) for *_, e in ranked[:k]]


def _hit(latitude: float, longitude: float, entry: Entry) -> Hit:
    return Hit(entry, distance_km(latitude, longitude, entry.latitude, entry.longitude))


def _chord(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """The squared straight-line distance between unit vectors: ordered as the great circle."""
    dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return dx * dx + dy * dy + dz * dz


# --- loading and keeping in step with the database ---------------------------------------------
async def load_index(session: AsyncSession) -> ClinicIndex:
    rows = await session.execute(
        select(
            Clinic.id,
            Clinic.name,
            Clinic.latitude,
            Clinic.longitude,
            Clinic.region_code,
            Clinic.franchise_only,
        )
    )
    entries = [
        Entry(i, name, lat, lon, region, bool(franchise), unit_vector(lat, lon))
        for i, name, lat, lon, region, franchise in rows.all()
    ]
    members: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    links = await session.execute(
        select(ProgramClinic.program_id, ProgramClinic.clinic_id, ProgramClinic.care_type)
    )
    for program_id, clinic_id, care_type in links.all():
        members[program_id][clinic_id].add(care_type)
    frozen = {
        program: {clinic: frozenset(kinds) for clinic, kinds in clinics.items()}
        for program, clinics in members.items()
    }
    return ClinicIndex(entries, frozen)


class ClinicDirectory:
    """The process's index, reloaded when the directory version moves (checked at most every
    `check_every` seconds, so a query costs no extra round trip)."""

    def __init__(self, check_every: float = 5.0) -> None:
        self.check_every = check_every
        self._index: ClinicIndex | None = None
        self._version: int | None = None
        self._checked = -math.inf

    async def index(self, session: AsyncSession) -> ClinicIndex:
        now = time.monotonic()
        if self._index is not None and now - self._checked < self.check_every:
            return self._index
        version = await session.scalar(
            select(DirectoryVersion.version).where(DirectoryVersion.id == 1)
        )
        self._checked = now
        if self._index is None or version != self._version:
            self._index, self._version = await load_index(session), version
        return self._index
