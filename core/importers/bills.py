"""Bills for rendered services (seed 001): one row per service line, upserted by `bill_id`.

Each line with a co-payment share gets its one charge, due `charge_delay` after the visit.
A charge already taken or turned into a debt is never changed by a re-import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.crypto import Vault
from core.accounts.validation import InvalidInput, parse_date
from core.billing.models import Bill, Charge, ChargeStatus
from core.billing.rules import BillingRules
from core.importers.files import ImportReport, describe
from core.notifications.outbox import enqueue
from core.policies.models import InsuredPerson, Policy, PolicyLink

MOSCOW = ZoneInfo("Europe/Moscow")


def _date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_date(value)
        except InvalidInput:
            raise ValueError(f"not a date: {value!r}") from None
    return value


class BillRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    bill_id: str = Field(min_length=1, max_length=64)
    policy_number: str = Field(min_length=1, max_length=64)
    birth_date: date  # of the insured person, to tell people on one policy apart
    clinic: str = Field(min_length=1, max_length=512)
    service: str = Field(min_length=1, max_length=512)
    service_date: date
    quantity: int = Field(default=1, ge=1, le=1000)
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)  # rubles
    share: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    diagnosis_code: str | None = Field(default=None, max_length=16)
    diagnosis: str | None = Field(default=None, max_length=512)

    _dates = field_validator("birth_date", "service_date", mode="before")(_date)


def kopecks(value: Decimal) -> int:
    return int(value * 100)


async def import_bills(
    session: AsyncSession,
    vault: Vault,
    rows: Iterable[tuple[int, dict[str, Any]]],
    rules: BillingRules,
    *,
    now: datetime,
) -> ImportReport:
    report = ImportReport()
    fresh: dict[int, InsuredPerson] = {}  # persons with new services in this file
    persons: dict[tuple[str, date], InsuredPerson] = {
        (number, person.birth_date): person
        for number, person in await session.execute(
            select(Policy.number, InsuredPerson).join(
                InsuredPerson, InsuredPerson.policy_id == Policy.id
            )
        )
    }
    for line, row in rows:
        try:
            record = BillRecord.model_validate(row)
        except ValidationError as error:
            report.errors.append((line, describe(error)))
            continue
        if record.share > record.amount:
            report.errors.append((line, "share: more than the amount"))
            continue
        person = persons.get((record.policy_number, record.birth_date))
        if person is None:
            report.errors.append((line, "policy_number: no such insured person on this policy"))
            continue
        bill = await session.scalar(select(Bill).where(Bill.external_id == record.bill_id))
        if bill is None:
            bill = Bill(external_id=record.bill_id, received_at=now)
            session.add(bill)
            report.created += 1
            fresh[person.id] = person
        else:
            report.updated += 1
        bill.policy_id, bill.insured_person_id = person.policy_id, person.id
        bill.clinic_name, bill.service = record.clinic, record.service
        bill.service_date, bill.quantity = record.service_date, record.quantity
        bill.amount, bill.share = kopecks(record.amount), kopecks(record.share)
        bill.diagnosis_code = (
            vault.encrypt(record.diagnosis_code) if record.diagnosis_code else None
        )
        bill.diagnosis = vault.encrypt(record.diagnosis) if record.diagnosis else None
        await session.flush()
        await _schedule_charge(session, bill, rules)
    await _announce(session, fresh.values(), now)
    await session.commit()
    return report


async def seal_diagnosis_codes(session: AsyncSession, vault: Vault) -> int:
    """ICD-10 codes stored in clear before they were encrypted at rest: encrypt them (once, at
    start; an encrypted code is recognised by decrypting). Returns how many were sealed."""
    rows = (
        await session.execute(
            select(Bill.id, Bill.diagnosis_code).where(Bill.diagnosis_code.is_not(None))
        )
    ).all()
    sealed = 0
    for bill_id, code in rows:
        assert code is not None
        try:
            vault.decrypt(code)
        except ValueError:
            bill = await session.get(Bill, bill_id)
            assert bill is not None
            bill.diagnosis_code = vault.encrypt(code)
            sealed += 1
    await session.commit()
    return sealed


async def _announce(session: AsyncSession, persons: Iterable[InsuredPerson], now: datetime) -> None:
    """One "new services" message per cabinet for a file, naming each policy with new services
    (a walker got one message per policy at once), and once a day for the same policies,
    however many bills or files arrive."""
    day = now.astimezone(MOSCOW).date().isoformat()
    by_user: dict[int, list[tuple[InsuredPerson, Policy]]] = defaultdict(list)
    for person in persons:
        links = await session.execute(
            select(PolicyLink.user_id, Policy)
            .join(Policy, Policy.id == person.policy_id)
            .where(PolicyLink.insured_person_id == person.id)
        )
        for user_id, policy in links.all():
            by_user[user_id].append((person, policy))
    for user_id, found in by_user.items():
        found.sort(key=lambda pair: pair[0].id)
        policies: list[dict[str, Any]] = [
            {"policy_id": policy.id, "number": policy.number, "name": person.first_name}
            for person, policy in found
        ]
        await enqueue(
            session,
            user_id=user_id,
            kind="new_services",
            dedupe_key=f"new-services:{'-'.join(str(p.id) for p, _ in found)}:{day}",
            now=now,
            **policies[0],
            policies=policies,
        )


async def _schedule_charge(session: AsyncSession, bill: Bill, rules: BillingRules) -> None:
    charge = await session.scalar(select(Charge).where(Charge.bill_id == bill.id))
    visit = datetime.combine(bill.service_date, time(9), tzinfo=MOSCOW)
    if charge is None and bill.share > 0:
        session.add(
            Charge(
                bill_id=bill.id,
                insured_person_id=bill.insured_person_id,
                amount=bill.share,
                status=ChargeStatus.DUE,
                charge_after=visit + rules.charge_delay,
            )
        )
    elif charge is not None and charge.status == ChargeStatus.DUE and bill.share == 0:
        await session.delete(charge)
    elif charge is not None and charge.status == ChargeStatus.DUE:
        charge.amount = bill.share
        charge.charge_after = visit + rules.charge_delay
