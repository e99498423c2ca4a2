"""A charge run over many due bill shares against the sandbox bank (YooKassa's API over real
HTTP, in this process): shares per second, and proof that no share was charged twice.

Two charge runners work at once, as two scheduler instances would; every share must end paid
with exactly one successful payment at the bank.

.venv/bin/python -m benchmarks.charges [--shares 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault, generate_key
from core.accounts.models import User
from core.billing.charges import run_charges
from core.billing.franchise import start_activation
from core.billing.models import Bill, Charge, ChargeStatus, Payment, PaymentStatus
from core.billing.reconcile import on_notification
from core.billing.rules import BillingRules
from core.billing.yookassa import YooKassa
from core.db import create_engine, create_session_factory, migrate
from core.demo import register_demo_person, seed_demo_data
from core.policies.cabinet import my_policies
from core.policies.linking import link_by_number
from core.policies.models import InsuredPerson
from sandbox.app import SandboxConfig, running_sandbox
from sandbox.bank import SUCCESS_CARD, THREE_DS_CODE

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
RULES = BillingRules(return_url="https://t.me/dms_cabinet_bot")
CHUNK = 5000


async def link_card(
    sessions: async_sessionmaker[AsyncSession], provider: YooKassa, vault: Vault
) -> int:
    """Anna registers, links ONDL-500001 and binds the always-succeeding card on the bank's page."""
    account = await register_demo_person(sessions, vault, 501, now=NOW)
    async with sessions() as session:
        user = await session.get(User, account.user_id)
        assert user is not None
        await link_by_number(session, user, account, "ONDL-500001", now=NOW)
        [view] = [v for v in await my_policies(session, user, today=NOW.date())]
        payment = await start_activation(
            session, provider, user, view, RULES, description="bench", now=NOW
        )
    assert payment.confirmation_url and payment.provider_id
    async with ClientSession() as http:
        await http.post(
            payment.confirmation_url,
            data={"step": "card", "number": SUCCESS_CARD, "expiry": "12/30", "cvc": "123"},
        )
        await http.post(payment.confirmation_url, data={"step": "3ds", "code": THREE_DS_CODE})
    async with sessions() as session:
        await on_notification(session, provider, payment.provider_id, RULES, NOW)
    return view.person.id


async def add_shares(
    sessions: async_sessionmaker[AsyncSession], person_id: int, shares: int
) -> None:
    async with sessions() as session:
        policy_id = await session.scalar(
            select(InsuredPerson.policy_id).where(InsuredPerson.id == person_id)
        )
        for start in range(0, shares, CHUNK):
            count = min(CHUNK, shares - start)
            bills = [
                {
                    "external_id": f"BENCH-{start + n}",
                    "policy_id": policy_id,
                    "insured_person_id": person_id,
                    "clinic_name": "ВОККДЦ",
                    "service": "Повторная консультация",
                    "service_date": date(2026, 10, 1),
                    "quantity": 1,
                    "amount": 68000,
                    "share": 13600,
                    "received_at": NOW,
                }
                for n in range(count)
            ]
            ids = (await session.scalars(insert(Bill).returning(Bill.id), bills)).all()
            await session.execute(
                insert(Charge),
                [
                    {
                        "bill_id": bill_id,
                        "insured_person_id": person_id,
                        "amount": 13600,
                        "status": ChargeStatus.DUE,
                        "charge_after": NOW - timedelta(days=1),
                    }
                    for bill_id in ids
                ],
            )
            await session.commit()


async def runner(
    sessions: async_sessionmaker[AsyncSession], provider: YooKassa, done: Counter[str]
) -> None:
    while taken := await run_charges(sessions, provider, RULES, NOW, limit=200):
        done["claimed"] += taken


async def main(shares: int, database_url: str | None, runners: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        vault = Vault(generate_key().encode())
        await seed_demo_data(sessions, vault, now=NOW)
        config = SandboxConfig(port=0, smtp_port=0)
        async with running_sandbox(config) as sandbox:
            provider = YooKassa(sandbox.url, "sandbox-shop", "sandbox-secret")
            person_id = await link_card(sessions, provider, vault)
            started = time.perf_counter()
            await add_shares(sessions, person_id, shares)
            loaded = time.perf_counter() - started

            done: Counter[str] = Counter()
            started = time.perf_counter()
            await asyncio.gather(*(runner(sessions, provider, done) for _ in range(runners)))
            elapsed = time.perf_counter() - started

            async with sessions() as session:
                statuses = dict(
                    (
                        await session.execute(
                            select(Charge.status, func.count()).group_by(Charge.status)
                        )
                    ).all()
                )
                ours = await session.scalar(
                    select(func.count())
                    .select_from(Payment)
                    .where(
                        Payment.charge_id.is_not(None),
                        Payment.status == PaymentStatus.SUCCEEDED,
                    )
                )
            at_bank = Counter(
                p["metadata"]["charge"]
                for p in sandbox.bank.payments.values()
                if p["status"] == "succeeded" and "charge" in (p.get("metadata") or {})
            )
            await provider.close()
        await engine.dispose()
    doubles = sum(1 for n in at_bank.values() if n > 1)
    print(f"database:               {url.split(':', 1)[0]}")
    print(f"due shares:             {shares:,} (inserted in {loaded:.1f} s)")
    print(
        f"charge run:             {elapsed:.1f} s, {shares / elapsed:,.0f} shares/s ({runners} runners)"
    )
    print(f"charges by status:      {statuses}")
    print(f"successful payments:    ours {ours:,}, at the bank {sum(at_bank.values()):,}")
    print(f"shares charged twice:   {doubles}")
    if doubles or statuses.get(ChargeStatus.PAID) != shares:
        raise SystemExit("FAILED: a share was charged twice or left unpaid")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shares", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--runners", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.shares, args.database_url, args.runners))
