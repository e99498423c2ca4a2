"""The money rules under random sequences (issue 16): visits with shares, cards added and
removed, declines, money put on a card, disputes opened and closed, one-tap payments and time
travel with the scheduler's runs, against the sandbox bank over HTTP and a real database.

After every step:
- each share is charged at most once;
- no share is charged while disputed (nor once cancelled);
- every debt was announced to its payer (a "debts" message naming it);
- the money charged is the paid shares, and the shares are the bills less the cancelled ones;
- franchise clinics are open exactly when the rules say: the card linked 30 minutes ago
  (seed 001) and no suspension, where a suspension starts when a debt is 14 days old at a run
  and ends when no debt is left.
At the end, with money on every card and two months later, every share that is not disputed or
cancelled is paid.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.accounts.models import Account, User
from core.appeals.models import AppealKind
from core.appeals.service import file_appeal
from core.billing.cards import CardNotFound, LastCardNeeded, remove_card
from core.billing.charges import retry_debts, retry_open_debts, run_charges, suspend_overdue
from core.billing.disputes import close_share_dispute
from core.billing.franchise import announce_activations, open_card_page, start_activation
from core.billing.models import (
    Bill,
    Card,
    CardStatus,
    Charge,
    ChargeStatus,
    Payment,
    PaymentPurpose,
    PaymentStatus,
)
from core.billing.reconcile import on_notification
from core.billing.yookassa import YooKassa
from core.clinics.availability import entitlement_of
from core.clinics.index import ClinicDirectory
from core.clinics.models import Clinic
from core.db import create_engine, create_session_factory
from core.demo import register_demo_person
from core.importers.bills import import_bills
from core.notifications.outbox import OutboxMessage
from core.policies.cabinet import my_policies
from core.policies.linking import link_by_number
from sandbox.app import SandboxConfig, running_sandbox
from sandbox.bank import DECLINED_CARD, POOR_CARD, SUCCESS_CARD
from tests.billing import RULES, fill_card_page
from tests.conftest import START, TEST_KEY, seed_demo

EXAMPLES = int(os.environ.get("MONEY_PROPERTY_EXAMPLES", "20"))
NUMBER = "ONFR-600001"  # seed 001: active 30 minutes after the card, Moscow, no waiting
CARDS = {"success": SUCCESS_CARD, "poor": POOR_CARD, "declined": DECLINED_CARD}

TRAVEL = st.tuples(st.just("travel"), st.sampled_from([29 / 1440, 1 / 1440, 1 / 48, 1, 3, 15, 31]))
step = st.one_of(
    TRAVEL,
    st.tuples(st.just("visit"), st.integers(1, 900)),
    st.tuples(st.just("card"), st.sampled_from(sorted(CARDS))),
    st.tuples(st.just("remove"), st.integers(0, 3)),
    st.tuples(st.just("top_up"), st.just(0)),
    st.tuples(st.just("dispute"), st.integers(0, 7)),
    st.tuples(st.just("close"), st.tuples(st.integers(0, 7), st.booleans())),
    st.tuples(st.just("pay"), st.just(0)),
    TRAVEL,
)


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    provider: YooKassa
    bank: object
    now: datetime
    user_id: int = 0
    person_id: int = 0
    linked_at: datetime | None = None  # the franchise's card, in the model
    suspended: bool = False  # the model's suspension
    bills: list[str] = field(default_factory=list)
    disputed: set[str] = field(default_factory=set)  # the model's open disputes, by bill
    cancelled: set[str] = field(default_factory=set)
    steps: int = 0


async def _link_card(world: World, kind: str) -> None:
    async with world.sessions() as session:
        user = await session.get(User, world.user_id)
        assert user is not None
        views = await my_policies(session, user, today=world.now.date())
        view = next(v for v in views if v.policy.number == NUMBER)
        if world.linked_at is None:
            payment = await start_activation(
                session, world.provider, user, view, RULES, description="x", now=world.now
            )
        else:
            payment = await open_card_page(
                session, world.provider, user, RULES, description="x", now=world.now
            )
    assert payment.confirmation_url is not None
    await fill_card_page(payment.confirmation_url, CARDS[kind])
    async with world.sessions() as session:
        assert payment.provider_id is not None
        await on_notification(session, world.provider, payment.provider_id, RULES, world.now)
    if kind != "declined" and world.linked_at is None:
        world.linked_at = world.now


async def _step(world: World, name: str, value: object) -> None:
    sessions, now = world.sessions, world.now
    if name == "visit":
        bill_id = f"P-{len(world.bills)}"
        world.bills.append(bill_id)
        row = {
            "bill_id": bill_id,
            "policy_number": NUMBER,
            "birth_date": "15.01.1985",
            "clinic": "Сокол",
            "service": f"Услуга {len(world.bills)}",
            "service_date": now.date().isoformat(),
            "amount": f"{int(value) * 5}.00",  # type: ignore[call-overload]
            "share": f"{value}.00",
        }
        async with sessions() as session:
            report = await import_bills(
                session, Vault(TEST_KEY.encode()), [(1, row)], RULES, now=now
            )
        assert not report.errors
    elif name == "card":
        await _link_card(world, str(value))
    elif name == "remove":
        async with sessions() as session:
            cards = (
                await session.scalars(
                    select(Card.id).where(Card.status != CardStatus.REMOVED).order_by(Card.id)
                )
            ).all()
            if cards:
                try:
                    await remove_card(session, world.user_id, cards[int(value) % len(cards)])  # type: ignore[call-overload]
                except (LastCardNeeded, CardNotFound):
                    await session.rollback()
    elif name == "top_up":
        world.bank.bank.funded.add(POOR_CARD)  # type: ignore[attr-defined]
    elif name in ("dispute", "close"):
        index, confirmed = (value, False) if name == "dispute" else value  # type: ignore[misc]
        if not world.bills:
            return
        external = world.bills[index % len(world.bills)]
        async with sessions() as session:
            bill_id = await session.scalar(select(Bill.id).where(Bill.external_id == external))
            assert bill_id is not None
            status = await session.scalar(select(Charge.status).where(Charge.bill_id == bill_id))
            if name == "dispute" and status in (ChargeStatus.DUE, ChargeStatus.DEBT):
                world.disputed.add(external)  # a share not taken yet is held
            elif name == "close" and external in world.disputed:
                world.disputed.discard(external)
                if confirmed:
                    world.cancelled.add(external)
            if name == "dispute":
                await file_appeal(
                    session,
                    world.user_id,
                    AppealKind.NOT_PROVIDED,
                    text="не было",
                    bill_id=bill_id,
                    now=now,
                )
            else:
                await close_share_dispute(
                    session, bill_id, confirmed=confirmed, payer_id=world.user_id, now=now
                )
    elif name == "pay":
        async with sessions() as session:
            user = await session.get(User, world.user_id)
            assert user is not None
            await retry_debts(session, world.provider, user, RULES, now)
    elif name == "travel":
        world.now = now = now + timedelta(days=float(value))  # type: ignore[arg-type]
        async with sessions() as session:
            await announce_activations(session, now)
        await run_charges(sessions, world.provider, RULES, now)
        await retry_open_debts(sessions, world.provider, RULES, now)
        async with sessions() as session:
            await suspend_overdue(session, RULES, now)
            overdue = await session.scalar(
                select(func.count()).where(
                    Charge.insured_person_id == world.person_id,
                    Charge.status == ChargeStatus.DEBT,
                    Charge.debt_since <= now - RULES.debt_deadline,
                )
            )
        world.suspended = world.suspended or bool(overdue)
    world.steps += 1


async def _check(world: World, directory: ClinicDirectory, sokol: int) -> None:
    async with world.sessions() as session:
        charges = (await session.scalars(select(Charge))).all()
        held = world.disputed | world.cancelled
        held_ids = set(
            (
                await session.scalars(
                    select(Charge.id)
                    .join(Bill, Bill.id == Charge.bill_id)
                    .where(Bill.external_id.in_(held))
                )
            ).all()
        )
        succeeded = (
            await session.execute(
                select(Payment.charge_id, Payment.amount).where(
                    Payment.purpose == PaymentPurpose.CHARGE,
                    Payment.status == PaymentStatus.SUCCEEDED,
                )
            )
        ).all()
        paid_per_charge: dict[int, int] = {}
        for charge_id, _amount in succeeded:
            paid_per_charge[charge_id] = paid_per_charge.get(charge_id, 0) + 1
        assert all(n == 1 for n in paid_per_charge.values()), "a share charged twice"
        by_id = {c.id: c for c in charges}
        for charge_id in paid_per_charge:
            assert by_id[charge_id].status == ChargeStatus.PAID, "charged, yet not paid"
        assert not held_ids & set(paid_per_charge), "a disputed or cancelled share was charged"
        assert sum(a for _, a in succeeded) == sum(
            c.amount for c in charges if c.status == ChargeStatus.PAID
        ), "the money charged is the paid shares"
        shares = await session.scalar(select(func.coalesce(func.sum(Bill.share), 0)))
        cancelled = sum(c.amount for c in charges if c.status == ChargeStatus.CANCELLED)
        live = sum(c.amount for c in charges if c.status != ChargeStatus.CANCELLED)
        assert live == shares - cancelled
        announced: set[int] = set()
        for message in (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "debts", OutboxMessage.user_id == world.user_id
                )
            )
        ).all():
            announced |= set(message.args["charge_ids"])
        debts = [c.id for c in charges if c.status == ChargeStatus.DEBT]
        assert set(debts) <= announced, "a silent debt"

        if not [c for c in charges if c.status == ChargeStatus.DEBT]:
            world.suspended = False  # paying the debts resumes the clinics at once
        user = await session.get(User, world.user_id)
        assert user is not None
        view = next(
            v
            for v in await my_policies(session, user, today=world.now.date())
            if v.policy.number == NUMBER
        )
        index = await directory.index(session)
        right = await entitlement_of(session, view, world.now)
        is_open = right.check(index, index.entries[sokol]).available
        expected = (
            world.linked_at is not None
            and world.now >= world.linked_at + timedelta(minutes=30)
            and not world.suspended
        )
        assert is_open == expected, (world.now, world.linked_at, world.suspended)


async def _run(template: Path, steps: list[tuple[str, object]]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "db.sqlite3"
        shutil.copy(template, path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        sessions = create_session_factory(engine)
        try:
            async with running_sandbox(SandboxConfig(port=0, smtp_port=0)) as bank:
                provider = YooKassa(bank.url, "sandbox-shop", "sandbox-secret")
                try:
                    return await _sequence(sessions, provider, bank, steps)
                finally:
                    await provider.close()
        finally:
            await engine.dispose()


async def _sequence(
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    bank: object,
    steps: list[tuple[str, object]],
) -> int:
    await seed_demo(sessions)
    await register_demo_person(sessions, Vault(TEST_KEY.encode()), 5001, now=START)
    world = World(sessions, provider, bank, START)
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await session.get(User, account.user_id)
        assert user is not None
        linked = await link_by_number(session, user, account, NUMBER, now=START)
        world.user_id, world.person_id = user.id, linked.person.id
        sokol = await session.scalar(select(Clinic.id).where(Clinic.code == "MSK-003"))
        assert sokol is not None
    directory = ClinicDirectory()
    for name, value in steps:
        await _step(world, name, value)
        await _check(world, directory, sokol)
    # Two months as things are (debts, suspensions), then money on every card and a card that
    # works, and two more: all that is owed gets paid.
    for settle in ("travel", "travel", "top_up", "card", "travel", "travel"):
        await _step(world, settle, 31 if settle == "travel" else "success")
        await _check(world, directory, sokol)
    async with sessions() as session:
        shares = dict((await session.execute(select(Bill.external_id, Bill.share))).all())
        charged = await session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.purpose == PaymentPurpose.CHARGE,
                Payment.status == PaymentStatus.SUCCEEDED,
            )
        )
    owed = sum(v for k, v in shares.items() if k not in world.disputed | world.cancelled)
    assert charged == owed, "the total charged is the shares less the cancelled (and disputed)"
    return world.steps


RAN = {"sequences": 0, "steps": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=4, max_size=18))
@example(steps=[("visit", 3), ("travel", 31)])  # a debt with no card: announced
@example(steps=[("card", "success"), ("travel", 29 / 1440), ("travel", 1 / 1440)])  # 30 min
@example(steps=[("card", "poor"), ("visit", 5), ("travel", 31), ("travel", 15), ("pay", 0)])
@example(steps=[("card", "success"), ("visit", 7), ("dispute", 0), ("travel", 31)])
@example(steps=[("visit", 7), ("dispute", 0), ("close", (0, True)), ("card", "success")])
def test_the_money_rules_hold_for_any_sequence(
    sqlite_template: Path, steps: list[tuple[str, object]]
) -> None:
    RAN["steps"] += asyncio.run(_run(sqlite_template, steps))
    RAN["sequences"] += 1
    print(f"money property: {RAN['sequences']} sequences, {RAN['steps']} steps")
