"""A charge run over many due bill shares against the sandbox bank (YooKassa's API over real
HTTP, in this process): shares per second, and proof that no share was charged twice.

Two charge runners work at once, as two scheduler instances would; every share must end paid
with exactly one successful payment at the bank.

`--kill`: the runners are processes of their own; once a third of the shares are paid, one is
SIGKILLed mid-run and started again (later, as a scheduler would be, so the charges it had
claimed are stale and taken again); then the reconciliation tick settles what the killed
runner left open. It checks 0 double charges, every share paid or in debt, and the bank's
successful payments equal to ours, charge by charge.

.venv/bin/python -m benchmarks.charges [--shares 100000] [--database-url URL] [--kill]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
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
from core.billing.reconcile import on_notification, reconcile
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


async def worker(database_url: str, bank_url: str, now: datetime) -> None:
    """One charge runner process (`--worker`): charges until nothing is due."""
    engine = create_engine(database_url)
    provider = YooKassa(bank_url, "sandbox-shop", "sandbox-secret")
    try:
        await runner_at(create_session_factory(engine), provider, now)
    finally:
        await provider.close()
        await engine.dispose()


async def runner_at(
    sessions: async_sessionmaker[AsyncSession], provider: YooKassa, now: datetime
) -> int:
    taken = 0
    while claimed := await run_charges(sessions, provider, RULES, now, limit=50):
        taken += claimed
    return taken


async def start_worker(url: str, bank_url: str, now: datetime) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.charges",
        "--worker",
        "--database-url",
        url,
        "--bank-url",
        bank_url,
        "--now",
        now.isoformat(),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def by_status(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(Charge.status, func.count()).group_by(Charge.status))
        return {str(status): count for status, count in rows.all()}


async def open_payments(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(
                Payment.charge_id.is_not(None),
                Payment.settled.is_(False),
                Payment.status.in_(
                    [PaymentStatus.NEW, PaymentStatus.UNKNOWN, PaymentStatus.PENDING]
                ),
            )
        )
        return int(found or 0)


async def kill_run(
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    url: str,
    bank_url: str,
    shares: int,
    runners: int,
) -> dict[str, object]:
    """Runner processes; one SIGKILLed a third of the way and started again; then settled."""
    workers = [await start_worker(url, bank_url, NOW) for _ in range(runners)]
    while (await by_status(sessions)).get(ChargeStatus.PAID, 0) < shares // 3:
        if all(w.returncode is not None for w in workers):
            raise SystemExit("FAILED: the runners finished before the kill")
        await asyncio.sleep(0.05)
    victim = workers[0]
    victim.kill()  # SIGKILL: no clean-up of any kind
    await victim.wait()
    at_kill = await by_status(sessions)
    open_at_kill = await open_payments(sessions)
    later = NOW + RULES.stale_claim + timedelta(minutes=1)  # its claims are stale by now
    workers[0] = await start_worker(url, bank_url, later)
    codes = [await w.wait() for w in workers]
    if victim.returncode != -9 or any(codes):
        raise SystemExit(f"FAILED: runner exit codes {victim.returncode}, {codes}")
    # The scheduler's reconciliation tick settles the payments the killed runner left open
    # (asking the bank again with the same Idempotence-Key), then the charge tick goes on.
    settle = later + timedelta(minutes=5)
    rounds = 0
    while rounds < 10:
        rounds += 1
        async with sessions() as session:
            await reconcile(session, provider, RULES, settle)
        await runner_at(sessions, provider, settle)
        statuses = await by_status(sessions)
        if not await open_payments(sessions) and set(statuses) <= {
            ChargeStatus.PAID,
            ChargeStatus.DEBT,
        }:
            break
        settle += timedelta(minutes=5)
    return {
        "killed runner pid": victim.pid,
        "charges at the kill": at_kill,
        "open payments at the kill": open_at_kill,
        "settling rounds": rounds,
    }


async def main(shares: int, database_url: str | None, runners: int, kill: bool = False) -> None:
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
            killed: dict[str, object] = {}
            if kill:
                killed = await kill_run(sessions, provider, url, sandbox.url, shares, runners)
            else:
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
                ours_by_charge = Counter(
                    str(charge_id)
                    for charge_id in await session.scalars(
                        select(Payment.charge_id).where(
                            Payment.charge_id.is_not(None),
                            Payment.status == PaymentStatus.SUCCEEDED,
                        )
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
    for name, value in killed.items():
        print(f"{name + ':':<24}{value}")
    print(f"due shares:             {shares:,} (inserted in {loaded:.1f} s)")
    print(
        f"charge run:             {elapsed:.1f} s, {shares / elapsed:,.0f} shares/s ({runners} runners)"
    )
    print(f"charges by status:      {statuses}")
    print(f"successful payments:    ours {ours:,}, at the bank {sum(at_bank.values()):,}")
    print(f"shares charged twice:   {doubles}")
    settled = statuses.get(ChargeStatus.PAID, 0) + statuses.get(ChargeStatus.DEBT, 0)
    print(f"paid or in debt:        {settled:,} of {shares:,}")
    print(f"bank equals ours:       {at_bank == ours_by_charge} (charge by charge)")
    if doubles or settled != shares or at_bank != ours_by_charge:
        raise SystemExit("FAILED: a share charged twice, left unsettled, or the bank differs")
    if not kill and statuses.get(ChargeStatus.PAID) != shares:
        raise SystemExit("FAILED: a share was left unpaid")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shares", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--runners", type=int, default=2)
    parser.add_argument("--kill", action="store_true", help="SIGKILL a runner process mid-run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bank-url", help=argparse.SUPPRESS)
    parser.add_argument("--now", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.database_url, args.bank_url, args.now))
    else:
        asyncio.run(main(args.shares, args.database_url, args.runners, args.kill))
