"""Nearest-clinic queries over a directory of 100,000 clinics spread over Russia, with the
availability rule applied: the grid index against a plain full scan, per query, and a check
that both give the same answers.

.venv/bin/python -m benchmarks.clinics [--clinics 100000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert

from core.billing.franchise import FranchiseState
from core.clinics.availability import Entitlement, nearest_for
from core.clinics.index import ClinicDirectory, ClinicIndex, Entry, Hit
from core.clinics.models import Clinic
from core.db import create_engine, create_session_factory, migrate
from core.policies.cabinet import Status
from core.policies.models import Program, ProgramClinic

# (latitude, longitude, region code, weight): where people and clinics are.
CITIES = [
    (55.75, 37.62, "77", 30),
    (55.9, 37.4, "50", 8),
    (59.94, 30.31, "78", 12),
    (59.7, 30.6, "47", 2),
    (55.79, 49.12, "16", 4),
    (56.84, 60.6, "66", 4),
    (55.03, 82.92, "54", 4),
    (56.33, 44.0, "52", 3),
    (45.04, 38.98, "23", 4),
    (53.2, 50.15, "63", 3),
    (54.73, 55.97, "02", 3),
    (47.23, 39.7, "61", 3),
    (55.16, 61.4, "74", 3),
    (56.01, 92.87, "24", 2),
    (51.66, 39.2, "36", 2),
    (48.7, 44.5, "34", 2),
    (58.01, 56.25, "59", 2),
    (54.99, 73.37, "55", 2),
    (43.12, 131.9, "25", 2),
    (52.29, 104.3, "38", 1),
    (48.48, 135.07, "27", 1),
    (57.15, 65.53, "72", 1),
    (61.25, 73.4, "86", 1),
    (62.03, 129.73, "14", 1),
    (64.54, 40.54, "29", 1),
    (68.97, 33.08, "51", 1),
    (54.71, 20.51, "39", 1),
    (44.95, 34.1, "91", 1),
]
NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def clinic_rows(count: int, rng: random.Random) -> list[dict[str, object]]:
    weights = [c[3] for c in CITIES]
    rows = []
    for n in range(count):
        if rng.random() < 0.85:
            lat, lon, region, _ = rng.choices(CITIES, weights)[0]
            lat, lon = lat + rng.gauss(0, 0.25), lon + rng.gauss(0, 0.4)
        else:  # the countryside, anywhere in the populated band
            lat, lon, region = rng.uniform(43, 66), rng.uniform(28, 140), rng.choice(CITIES)[2]
        rows.append(
            {
                "code": f"B-{n:06d}",
                "name": f"Клиника №{n}",
                "region": region,
                "region_code": region,
                "city": "—",
                "address": "—",
                "latitude": lat,
                "longitude": lon,
                "phones": [],
                "care_types": ["outpatient"],
                "direct_access": True,
                "franchise_only": n % 7 == 0,
            }
        )
    return rows


def people(rng: random.Random) -> list[list[Entitlement]]:
    """A regional franchise policy with a few regions, and a Moscow corporate policy."""
    base = dict(
        status=Status.ACTIVE,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        covered_from=date(2026, 1, 1),
        pending_regions={},
        franchise_since=None,
    )
    regions = frozenset(rng.sample([c[2] for c in CITIES], 8))
    regional = Entitlement(
        policy_id=1,
        program_id=1,
        territory="regional",
        open_regions=regions,
        franchise_needed=True,
        franchise=FranchiseState.ACTIVE,
        **base,  # type: ignore[arg-type]
    )
    suspended = Entitlement(
        policy_id=2,
        program_id=1,
        territory="regional",
        open_regions=regions | {"77", "78"},
        franchise_needed=True,
        franchise=FranchiseState.SUSPENDED,
        **base,  # type: ignore[arg-type]
    )
    moscow = Entitlement(
        policy_id=3,
        program_id=2,
        territory="moscow",
        open_regions=frozenset({"77", "50"}),
        franchise_needed=False,
        franchise=None,
        **base,  # type: ignore[arg-type]
    )
    return [[regional], [suspended], [moscow], [regional, moscow]]


async def load(url: str, count: int, rng: random.Random) -> None:
    await migrate(url)
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        rows = clinic_rows(count, rng)
        for start in range(0, count, 5000):
            await session.execute(insert(Clinic), rows[start : start + 5000])
        for program_id in (1, 2):
            session.add(
                Program(
                    id=program_id,
                    code=f"P{program_id}",
                    name="Программа",
                    care_types=["outpatient"],
                )
            )
        await session.flush()
        links = [
            {"program_id": 1 if n % 5 else 2, "clinic_id": n + 1, "care_type": "outpatient"}
            for n in range(count)
            if n % 5 != 1  # a fifth of the clinics are in no program
        ]
        for start in range(0, len(links), 5000):
            await session.execute(insert(ProgramClinic), links[start : start + 5000])
        await session.commit()
    await engine.dispose()


def scan(index: ClinicIndex, rights: list[Entitlement], lat: float, lon: float) -> list[Hit]:
    def accept(entry: Entry) -> bool:
        return any(right.check(index, entry).available for right in rights)

    return index.full_scan(lat, lon, 5, accept)


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * share))]


async def main(count: int, queries: int) -> None:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'clinics.db'}"
        started = time.perf_counter()
        await load(url, count, rng)
        print(
            f"directory:        {count:,} clinics written in {time.perf_counter() - started:.1f} s"
        )
        engine = create_engine(url)
        async with create_session_factory(engine)() as session:
            directory = ClinicDirectory()
            started = time.perf_counter()
            index = await directory.index(session)
            print(f"index load:       {time.perf_counter() - started:.2f} s")
            persons = people(rng)
            fast, slow, mismatches = [], [], 0
            for n in range(queries):
                if rng.random() < 0.6:
                    lat, lon, _, _ = rng.choice(CITIES)
                    lat, lon = lat + rng.gauss(0, 0.3), lon + rng.gauss(0, 0.5)
                else:
                    lat, lon = rng.uniform(43, 70), rng.uniform(28, 175)
                rights = persons[n % len(persons)]
                started = time.perf_counter()
                index = await directory.index(session)
                found = nearest_for(index, rights, lat, lon, k=5)
                fast.append(time.perf_counter() - started)
                started = time.perf_counter()
                scanned = scan(index, rights, lat, lon)
                slow.append(time.perf_counter() - started)
                mismatches += [f.hit.entry.id for f in found] != [h.entry.id for h in scanned]
        await engine.dispose()
    ms = 1000
    print(f"queries:          {queries:,} nearest-5 with the availability rule")
    print(
        f"k-d index:        p50 {percentile(fast, 0.5) * ms:.3f} ms, p99 {percentile(fast, 0.99) * ms:.3f} ms"
    )
    print(
        f"full scan:        p50 {percentile(slow, 0.5) * ms:.1f} ms, p99 {percentile(slow, 0.99) * ms:.1f} ms"
    )
    print(
        f"ratio (p50):      {percentile(slow, 0.5) / percentile(fast, 0.5):,.0f}x faster; "
        f"mean {statistics.mean(slow) / statistics.mean(fast):,.0f}x"
    )
    print(f"different answers: {mismatches}")
    if mismatches:
        raise SystemExit("FAILED: the index and the scan disagree")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clinics", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.clinics, args.queries))
