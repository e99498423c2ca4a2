"""The demo insurer data set for sandbox mode, loaded through the same importers as real data:
clinics and programs from JSON, policies from CSV (so both file kinds are exercised)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.consents import ConsentKind, give_consent
from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.accounts.registration import PersonalData, register
from core.accounts.users import TelegramProfile, touch_user
from core.accounts.validation import DocumentType, Sex, parse_document
from core.billing.rules import BillingRules
from core.clinics.models import Clinic
from core.formatting import MOSCOW
from core.importers.bills import import_bills
from core.importers.clinics import import_clinics
from core.importers.files import read_rows
from core.importers.insurer_cases import import_insurer_cases
from core.importers.policies import import_policies, import_programs
from core.importers.slots import import_slots

log = logging.getLogger(__name__)
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


async def seed_demo_data(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    now: datetime,
    demo_dir: Path = DEMO_DIR,
    rules: BillingRules | None = None,
) -> bool:
    """Load the demo files into an empty database; returns whether anything was loaded. With
    `rules` (sandbox mode) also the other kinds of policies (OSAGO, KASKO, property) with the
    insurer's cases in every stage, and the demo bills, dated a few days before `now`, so
    services, shares, debts and cases can be seen."""
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(Clinic)):
            return False
        clinics = await import_clinics(session, read_rows(demo_dir / "clinics.json"))
        programs = await import_programs(session, read_rows(demo_dir / "programs.json"))
        policies = await import_policies(
            session, vault, read_rows(demo_dir / "policies.csv"), now=now
        )
        slots = await import_slots(session, demo_slots(now))
        if rules is not None:
            others = await import_policies(
                session, vault, read_rows(demo_dir / "policies-other.csv"), now=now
            )
            bills = await import_bills(session, vault, demo_bills(demo_dir, now), rules, now=now)
            cases = await import_insurer_cases(session, demo_cases(demo_dir, now), now=now)
            slots.errors += others.errors + bills.errors + cases.errors
    problems = clinics.errors + programs.errors + policies.errors + slots.errors
    if problems:
        raise ValueError(f"the demo data set has errors: {problems}")
    log.info(
        "demo data loaded: %s clinics, %s programs, %s policies",
        clinics.created,
        programs.created,
        policies.created,
    )
    return True


async def register_demo_person(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    telegram_id: int,
    *,
    now: datetime,
    language: str = "ru",
    phone: str = "+79161234567",
    email: str = "anna@example.org",
    document: str = "4506 987654",
) -> Account:
    """Anna Ivanova of the demo policies, registered with every consent (tests, benchmarks);
    other people get another phone, e-mail and passport."""
    async with sessions() as session:
        user = await touch_user(
            session,
            TelegramProfile(telegram_id, "Анна", language_code=language),
            now=now,
            default_language=language,
        )
        for kind in ConsentKind:
            await give_consent(session, user.id, kind, now)
        data = PersonalData(
            phone=phone,
            email=email,
            surname="Иванова",
            first_name="Анна",
            patronymic="Сергеевна",
            birth_date=date(1985, 1, 15),
            sex=Sex.FEMALE,
            document=parse_document(DocumentType.RU_PASSPORT, document),
        )
        return await register(session, vault, user, data, now=now)


DEMO_DOCTORS = {  # clinics that publish slots for booking in the chat
    "MSK-001": [("Терапевт", "Орлова Мария Петровна"), ("Терапевт", "Зайцев Игорь Олегович")],
    "KZN-001": [
        ("Терапевт", "Галиева Алсу Рустемовна"),
        ("Стоматолог", "Хасанов Ринат Ильдарович"),
    ],
}


def demo_bills(demo_dir: Path, now: datetime) -> list[tuple[int, dict[str, Any]]]:
    """The demo bills, their visits moved to three days before `now`."""
    visit = (now.astimezone(MOSCOW).date() - timedelta(days=3)).isoformat()
    return [
        (line, row | {"service_date": visit}) for line, row in read_rows(demo_dir / "bills.csv")
    ]


def demo_cases(demo_dir: Path, now: datetime) -> list[tuple[int, dict[str, Any]]]:
    """The insurer's demo cases, their dates counted back from `now` (the sandbox's clock) at
    10:00 Moscow time; they come into the cabinet that links their policy."""
    today = now.astimezone(MOSCOW).date()

    def moment(days_ago: int) -> str:
        return datetime.combine(today - timedelta(days=days_ago), time(10), MOSCOW).isoformat()

    rows = []
    for line, case in read_rows(demo_dir / "cases.json"):
        row = {k: v for k, v in case.items() if not k.endswith("days_ago") and k != "stages"}
        row["event_date"] = (today - timedelta(days=case["event_days_ago"])).isoformat()
        row["filed_at"] = moment(case["filed_days_ago"])
        row["stages"] = [
            {k: v for k, v in stage.items() if k != "days_ago"} | {"at": moment(stage["days_ago"])}
            for stage in case["stages"]
        ]
        rows.append((line, row))
    return rows


async def refresh_demo_slots(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Sandbox mode: the next week's slots relative to the (time-travelled) clock, so travelling
    never empties the demo; slots that exist, booked or not, stay as they are."""
    async with sessions() as session:
        report = await import_slots(session, demo_slots(now))
    return report.created


def demo_slots(now: datetime, days: int = 7) -> list[tuple[int, dict[str, Any]]]:
    """Half-hour slots from 9:00 to 12:00 on the next working days, relative to `now`, so the
    sandbox always has something to book."""
    rows: list[tuple[int, dict[str, Any]]] = []
    first = now.astimezone(MOSCOW).date() + timedelta(days=1)
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for clinic, doctors in DEMO_DOCTORS.items():
            for specialty, doctor in doctors:
                for minute in range(0, 180, 30):
                    start = datetime.combine(day, time(9), MOSCOW) + timedelta(minutes=minute)
                    row = {"clinic": clinic, "specialty": specialty, "doctor": doctor}
                    rows.append((len(rows) + 1, row | {"starts_at": start.isoformat()}))
    return rows
