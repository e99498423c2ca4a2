"""The demo and the import commands in sandbox mode (issue 16, items 14-15): the commands use the
sandbox's key file and its time-travelled clock; the demo has bills, the other kinds of
policies, and booking slots that follow the clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import main
from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.billing.models import Bill
from core.clinics.booking import has_free_slots
from core.clinics.models import Clinic
from core.clock import ShiftedClock
from core.db import create_engine, create_session_factory
from core.demo import refresh_demo_slots, register_demo_person, seed_demo_data
from core.notifications.outbox import OutboxMessage
from core.policies.linking import link_by_number
from core.policies.models import Policy, PolicyKind
from tests.billing import RULES, anna
from tests.conftest import START, TEST_KEY

DEMO = Path(__file__).resolve().parent.parent / "demo"
HEADER = "bill_id,policy_number,birth_date,clinic,service,service_date,amount,share,diagnosis"


async def _link_anna(url: str, key: str) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    await register_demo_person(sessions, Vault(key.encode()), 4242, now=datetime.now(UTC))
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        await link_by_number(
            session, await anna(session), account, "ONDL-500001", now=datetime.now(UTC)
        )
    await engine.dispose()


async def _rows(url: str) -> tuple[list[datetime], int]:
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        received = list((await session.scalars(select(Bill.received_at).order_by(Bill.id))).all())
        news = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == "new_services")
        )
    await engine.dispose()
    return received, int(news or 0)


def test_import_commands_in_sandbox_mode_use_its_key_file_and_its_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sandbox.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("DATA_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("BOT_TOKEN", raising=False)  # sandbox mode
    monkeypatch.chdir(tmp_path)
    for what, name in (("clinics", "clinics.json"), ("programs", "programs.json")):
        assert main.cli([f"import-{what}", str(DEMO / name)]) == 0
    assert main.cli(["import-policies", str(DEMO / "policies.csv")]) == 0
    key = (tmp_path / "var" / "data-encryption.key").read_text(encoding="ascii").strip()
    asyncio.run(_link_anna(url, key))
    clock = ShiftedClock(path=tmp_path / "var" / main.SANDBOX_CLOCK)
    clock.advance(timedelta(days=40))  # the web chat's time travel, as the bot saved it

    first = tmp_path / "first.csv"
    first.write_text(
        HEADER + "\nB-1,ONDL-500001,15.01.1985,Сокол,Осмотр,2026-11-25,680.00,136.00,Ушиб\n",
        encoding="utf-8",
    )
    assert main.cli(["import-bills", str(first)]) == 0, capsys.readouterr().err
    clock.advance(timedelta(days=1))
    second = tmp_path / "second.csv"
    second.write_text(
        HEADER + "\nB-2,ONDL-500001,15.01.1985,Сокол,Рентген,2026-11-26,900.00,180.00,\n",
        encoding="utf-8",
    )
    assert main.cli(["import-bills", str(second)]) == 0
    received, news = asyncio.run(_rows(url))
    real = datetime.now(UTC)
    assert abs(received[0] - (real + timedelta(days=40))) < timedelta(minutes=5)
    assert abs(received[1] - (real + timedelta(days=41))) < timedelta(minutes=5)
    assert news == 2, "a new day of the sandbox's clock: a new 'new services' message"


async def test_the_sandbox_demo_has_bills_other_policies_and_slots_that_follow_the_clock(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    vault = Vault(TEST_KEY.encode())
    assert await seed_demo_data(sessions, vault, now=START, rules=RULES)
    async with sessions() as session:
        kinds = set((await session.scalars(select(Policy.kind))).all())
        assert {PolicyKind.OSAGO, PolicyKind.KASKO, PolicyKind.PROPERTY} <= kinds
        dates = set((await session.scalars(select(Bill.service_date))).all())
        assert dates == {START.date() - timedelta(days=3)}
        clinic = await session.scalar(select(Clinic.id).where(Clinic.code == "MSK-001"))
        assert clinic is not None
        later = START + timedelta(days=30)  # a month of time travel
        assert not await has_free_slots(session, clinic, later)
    assert await refresh_demo_slots(sessions, later) > 0
    assert await refresh_demo_slots(sessions, later) == 0, "the same slots are not doubled"
    async with sessions() as session:
        assert await has_free_slots(session, clinic, later)
