"""Co-payment charges (seed 000 2.3, 4.1-4.2): each bill share is charged once, from the primary
card, then from the next card only after a definitive failure; when every card fails the share
becomes a debt; past the deadline the franchise is suspended, and paying resumes it at once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    CursorResult,
    Select,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import User
from core.billing import digest
from core.billing.cards import promote_primary
from core.billing.franchise import franchise_row, person_debt
from core.billing.labels import card_args, person_args, share_args
from core.billing.models import (
    Card,
    CardStatus,
    Charge,
    ChargeStatus,
    Franchise,
    FranchiseStatus,
    Payment,
    PaymentPurpose,
    PaymentStatus,
)
from core.billing.payments import new_payment, open_page, send
from core.billing.provider import PaymentProvider, ProviderPayment
from core.billing.rules import BillingRules, overdue_before
from core.fast_rows import EntityRows
from core.formatting import MOSCOW
from core.notifications.outbox import enqueue
from core.policies.models import PolicyLink

OPEN = (PaymentStatus.NEW, PaymentStatus.UNKNOWN, PaymentStatus.PENDING)
UNCLAIMED_RETRY = timedelta(days=1)  # a share of a person nobody linked waits for a payer
RETRY_HOUR = time(10)  # debts are tried again from the cards once a day, from 10:00 Moscow


def description(charge: Charge) -> str:
    """Deterministic: a repeated request must carry the same body as the first one."""
    return f"Franchise co-payment #{charge.id}"


async def payer_of(session: AsyncSession, insured_person_id: int) -> int | None:
    return await session.scalar(
        select(PolicyLink.user_id).where(PolicyLink.insured_person_id == insured_person_id)
    )


async def claim_due(
    session: AsyncSession, rules: BillingRules, now: datetime, limit: int = 1000
) -> list[int]:
    """Due charges, and charges a crashed run left claimed, taken by one conditional UPDATE:
    a row another runner took in between no longer matches `due`, so it is never taken twice.
    PostgreSQL also skips the rows another runner is claiming at this moment."""
    stale = now - rules.stale_claim
    due = or_(
        (Charge.status == ChargeStatus.DUE) & (Charge.charge_after <= now),
        (Charge.status == ChargeStatus.CHARGING) & (Charge.claimed_at <= stale),
    )
    candidates = select(Charge.id).where(due).order_by(Charge.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = await session.scalars(
        update(Charge)
        .where(Charge.id.in_(candidates.scalar_subquery()), due)
        .values(
            status=ChargeStatus.CHARGING,
            claimed_at=now,
            round_started_at=func.coalesce(Charge.round_started_at, now),
        )
        .returning(Charge.id)
    )
    ids = sorted(claimed.all())
    await session.commit()
    return ids


async def run_charges(
    sessions: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    rules: BillingRules,
    now: datetime,
    limit: int = 1000,
    *,
    concurrency: int = 8,
) -> int:
    """The scheduler's tick: each claimed charge in its own transaction, several at a time
    (the provider's answer takes the time). SQLite has one writer, so there one at a time."""
    async with sessions() as session:
        claimed = await claim_due(session, rules, now, limit)
        if session.get_bind().dialect.name == "sqlite":
            concurrency = 1
    queue = iter(claimed)

    async def worker() -> None:
        for charge_id in queue:
            async with sessions() as session:
                await attempt(session, provider, charge_id, rules, now)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(claimed)))))
    async with sessions() as session:
        await announce_debts(session, rules, now)
    return len(claimed)


async def attempt(
    session: AsyncSession,
    provider: PaymentProvider,
    charge_id: int,
    rules: BillingRules,
    now: datetime,
) -> None:
    charge = await session.get(Charge, charge_id, populate_existing=True)
    if charge is None or charge.status != ChargeStatus.CHARGING:
        return
    # This attempt takes the claim by changing it: a runner whose claim went stale and was taken
    # over (a long run, a paused process) finds it changed and stops here instead of paying a
    # second time. The write holds the row until send() commits the payment row, which the
    # other runner then sees.
    taken = await session.execute(
        update(Charge)
        .where(
            Charge.id == charge.id,
            Charge.status == ChargeStatus.CHARGING,
            Charge.claimed_at == charge.claimed_at,
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", taken).rowcount == 0:
        await session.rollback()
        return
    earlier = (
        await session.execute(
            select(Payment.status, Payment.settled, Payment.card_id, Payment.created_at).where(
                Payment.charge_id == charge.id
            )
        )
    ).all()
    if any(status in OPEN and not settled for status, settled, _, _ in earlier):
        return  # an open outcome is re-checked by reconciliation, never retried blindly
    if any(status == PaymentStatus.SUCCEEDED for status, _, _, _ in earlier):
        return  # paid: the runner that paid marks the charge (a moment after recording it)
    assert charge.round_started_at is not None
    failed = {
        card_id
        for status, _, card_id, created_at in earlier
        if status == PaymentStatus.CANCELED and created_at >= charge.round_started_at
    }
    payer = await payer_of(session, charge.insured_person_id)
    if payer is None:  # nobody has linked this person yet: nobody to charge or to tell
        charge.status, charge.round_started_at = ChargeStatus.DUE, None
        charge.charge_after = now + UNCLAIMED_RETRY
        await session.commit()
        return
    cards = await payer_cards(session, charge.insured_person_id)
    usable = [c for c in cards if c.status == CardStatus.ACTIVE and c.id not in failed]
    if not await _activated(session, charge.insured_person_id):
        usable = []  # no consent to charge for this person: owed, and announced as such
    if not usable:
        await _to_debt(session, charge, now)
        return
    card = usable[0]
    payment = new_payment(
        card.user_id,
        PaymentPurpose.CHARGE,
        charge.amount,
        now,
        card_id=card.id,
        charge_id=charge.id,
    )
    session.add(payment)
    method_id, amount, text = card.method_id, charge.amount, description(charge)

    async def request(key: str) -> ProviderPayment:
        return await provider.charge_saved(
            key,
            amount=amount,
            method_id=method_id,
            description=text,
            metadata={"charge": str(charge_id)},
        )

    answer = await send(session, payment, request, now)
    if answer is not None:
        await charge_answered(session, provider, payment, answer, rules, now)


async def payer_cards(session: AsyncSession, insured_person_id: int) -> list[Card]:
    """The cards of whoever pays for this insured person, primary first."""
    rows = await session.scalars(
        select(Card)
        .join(PolicyLink, PolicyLink.user_id == Card.user_id)
        .where(PolicyLink.insured_person_id == insured_person_id, Card.status != CardStatus.REMOVED)
        .order_by(Card.primary.desc(), Card.added_at, Card.id)
    )
    return list(rows)


async def repeat_request(
    session: AsyncSession, provider: PaymentProvider, payment: Payment
) -> ProviderPayment:
    """The same request with the same key: the provider answers with what it already did."""
    charge = await session.get(Charge, payment.charge_id)
    card = await session.get(Card, payment.card_id)
    assert charge is not None and card is not None
    return await provider.charge_saved(
        payment.key,
        amount=payment.amount,
        method_id=card.method_id,
        description=description(charge),
        metadata={"charge": str(charge.id)},
    )


async def charge_answered(
    session: AsyncSession,
    provider: PaymentProvider,
    payment: Payment,
    answer: ProviderPayment,
    rules: BillingRules,
    now: datetime,
) -> None:
    charge = await session.get(Charge, payment.charge_id)
    assert charge is not None
    if answer.status == PaymentStatus.SUCCEEDED:
        await hold_payer(session, payment.user_id)
        payment.settled = True
        was_debt = charge.debt_since is not None
        charge.status, charge.paid_at = ChargeStatus.PAID, now
        about = await share_args(session, charge) | await card_args(session, payment.card_id)
        if was_debt and (run := digest.current()) is not None:  # the run tells once, at its end
            run.paid.append(about)
            await session.commit()
            await resume_if_clear(session, charge.insured_person_id, now)
            return
        if was_debt and (left := await _still_owed(session, payment.user_id, charge.id)):
            about["left"] = left  # a part of the debt: the message must not say it is all paid
        # One message for this money: a debt taken from a card is "debt paid", not "charged".
        await enqueue(
            session,
            user_id=payment.user_id,
            kind="debt_paid" if was_debt else "share_charged",
            dedupe_key=f"charged:{charge.id}",
            now=now,
            bill_id=charge.bill_id,
            items=[about],
            **about,
        )
        await session.commit()
        if was_debt:
            await resume_if_clear(session, charge.insured_person_id, now)
        return
    if answer.status != PaymentStatus.CANCELED:
        await session.commit()
        return  # pending: wait for the notification or the reconciliation
    payment.settled = True
    card = await session.get(Card, payment.card_id)
    if card is not None and answer.reason in ("card_expired", "permission_revoked"):
        card.status = CardStatus.EXPIRED if answer.reason == "card_expired" else CardStatus.REVOKED
        card.primary = False
        await promote_primary(session, card.user_id)
        await enqueue(
            session,
            user_id=card.user_id,
            kind="card_unusable",
            dedupe_key=f"card-unusable:{card.id}",
            now=now,
            last4=card.last4,
            reason=answer.reason,
        )
    await session.commit()
    await attempt(session, provider, charge.id, rules, now)  # the next card, or a debt


async def _to_debt(session: AsyncSession, charge: Charge, now: datetime) -> None:
    """Every card failed (or there is none): the share is owed. The payer is told by
    `announce_debts`, one message for all the debts of a run."""
    charge.status = ChargeStatus.DEBT
    charge.debt_since = charge.debt_since or now
    await session.commit()


async def announce_debts(session: AsyncSession, rules: BillingRules, now: datetime) -> int:
    """One message per payer for the debts not announced yet: what, whose, the total and the
    date franchise clinics will be suspended. Returns how many messages were written."""
    rows = (
        await session.execute(
            select(PolicyLink.user_id, Charge)
            .join(PolicyLink, PolicyLink.insured_person_id == Charge.insured_person_id)
            .where(Charge.status == ChargeStatus.DEBT, Charge.debt_told.is_(False))
            .order_by(Charge.id)
        )
    ).all()
    by_payer: dict[int, list[Charge]] = {}
    for user_id, charge in rows:
        by_payer.setdefault(user_id, []).append(charge)
    for user_id, debts in by_payer.items():
        ids = [c.id for c in debts]
        claimed = await session.execute(
            update(Charge)
            .where(Charge.id.in_(ids), Charge.debt_told.is_(False))
            .values(debt_told=True)
        )
        if claimed.rowcount != len(ids):  # type: ignore[attr-defined]
            await session.rollback()  # another scheduler is announcing them
            continue
        items = []
        for charge in debts:
            item = await share_args(session, charge)
            item["activated"] = await _activated(session, charge.insured_person_id)
            items.append(item)
        deadline = min(c.debt_since or now for c in debts) + rules.debt_deadline
        await enqueue(
            session,
            user_id=user_id,
            kind="debts",
            dedupe_key=f"debts:{min(ids)}:{max(ids)}:{len(ids)}",
            now=now,
            items=items,
            total=sum(c.amount for c in debts),
            deadline=deadline.isoformat(),
            charge_ids=ids,
        )
        await session.commit()
    return len(by_payer)


async def _activated(session: AsyncSession, insured_person_id: int) -> bool:
    status = await session.scalar(
        select(Franchise.status).where(Franchise.insured_person_id == insured_person_id)
    )
    return status is not None and status != FranchiseStatus.AWAITING_CARD


def _paid_by(statement: Select[Any], user_id: int | BindParameter[int]) -> Select[Any]:
    """The charges a person pays: their own and their children's shares."""
    return statement.join(
        PolicyLink, PolicyLink.insured_person_id == Charge.insured_person_id
    ).where(PolicyLink.user_id == user_id)


async def hold_payer(session: AsyncSession, user_id: int) -> None:
    """PostgreSQL: the shares of one payer paid at the same moment (the bank's notification of
    one, a retry of another) are settled one after the other, until each one's commit. So the
    second sees the first paid, and its message says the debt is paid instead of both saying
    what is left. SQLite has one writer: they are one after the other already."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_PAYER_LOCK, {"key": f"debt-payer:{user_id}"})


_PAYER_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


async def _still_owed(session: AsyncSession, user_id: int, paid_id: int) -> int:
    """What a payer still owes besides the share just paid: the debts not paid yet, those
    being charged this moment included (a new card pays them one after another)."""
    owed = await session.scalar(
        _paid_by(select(func.coalesce(func.sum(Charge.amount), 0)), user_id).where(
            Charge.id != paid_id,
            Charge.debt_since.is_not(None),
            Charge.status.in_([ChargeStatus.DEBT, ChargeStatus.CHARGING]),
        )
    )
    return int(owed or 0)


_DEBTS = EntityRows(  # built once: «My policies» reads it on every page (issue 19)
    _paid_by(select(Charge), bindparam("user_id"))
    .where(Charge.status == ChargeStatus.DEBT)
    .order_by(Charge.debt_since, Charge.id)
)


async def debts_of_user(session: AsyncSession, user_id: int) -> list[Charge]:
    """The debts a person pays: their own and their children's shares."""
    return await _DEBTS.scalars(session, {"user_id": user_id})


async def retry_debts(
    session: AsyncSession,
    provider: PaymentProvider,
    user: User,
    rules: BillingRules,
    now: datetime,
) -> list[Charge]:
    """ "Pay now" with the cards on file: a new round over every card; returns what is left.
    Each debt is claimed by a conditional UPDATE, so two runs at once (a tap and a card just
    linked) never charge it twice nor undo the other's result."""
    for charge in await debts_of_user(session, user.id):
        claimed = await session.execute(
            update(Charge)
            .where(Charge.id == charge.id, Charge.status == ChargeStatus.DEBT)
            .values(status=ChargeStatus.CHARGING, claimed_at=now, round_started_at=now)
        )
        await session.commit()
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            await attempt(session, provider, charge.id, rules, now)
    return await debts_of_user(session, user.id)


def _retry_moment(now: datetime) -> datetime:
    """This day's retry hour in Moscow."""
    day: date = now.astimezone(MOSCOW).date()
    return datetime.combine(day, RETRY_HOUR, MOSCOW)


async def retry_open_debts(
    sessions: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    rules: BillingRules,
    now: datetime,
) -> int:
    """The scheduler's tick: once a day from 10:00 Moscow time, every debt is tried again from
    the payer's cards, so money put on the card clears it with no tap (seed 000 4.1). A debt
    whose round started after today's retry hour was tried today already."""
    moment = _retry_moment(now)
    if now < moment:
        return 0
    async with sessions() as session:
        claimed = await session.scalars(
            update(Charge)
            .where(
                Charge.status == ChargeStatus.DEBT,
                or_(Charge.round_started_at.is_(None), Charge.round_started_at < moment),
            )
            .values(status=ChargeStatus.CHARGING, claimed_at=now, round_started_at=now)
            .returning(Charge.id)
        )
        ids = sorted(claimed.all())
        await session.commit()
    async with sessions() as session:
        payers = dict(
            (
                await session.execute(
                    select(Charge.id, PolicyLink.user_id)
                    .join(PolicyLink, PolicyLink.insured_person_id == Charge.insured_person_id)
                    .where(Charge.id.in_(ids))
                )
            ).all()
        )
    by_payer: dict[int | None, list[int]] = defaultdict(list)
    for charge_id in ids:
        by_payer[payers.get(charge_id)].append(charge_id)
    for user_id, charge_ids in by_payer.items():
        with digest.collecting() as run:  # one message per payer for the run
            for charge_id in charge_ids:
                async with sessions() as session:
                    await attempt(session, provider, charge_id, rules, now)
        if user_id is not None:
            async with sessions() as session:
                left = await _still_owed(session, user_id, 0)
                await digest.tell(session, user_id, run, left, now)
    async with sessions() as session:
        await announce_debts(session, rules, now)
    return len(ids)


async def open_debt_link(
    session: AsyncSession,
    provider: PaymentProvider,
    user: User,
    rules: BillingRules,
    *,
    text: str,
    now: datetime,
) -> Payment | None:
    """ "Pay now" on the provider's page, for the whole debt; None when nothing is owed."""
    debts = await debts_of_user(session, user.id)
    if not debts:
        return None
    payment = new_payment(user.id, PaymentPurpose.DEBT, sum(c.amount for c in debts), now)
    payment.charge_ids = [c.id for c in debts]
    session.add(payment)
    amount = payment.amount

    async def request(key: str) -> ProviderPayment:
        return await provider.create_link(
            key,
            amount=amount,
            description=text,
            return_url=rules.return_url,
            metadata={"purpose": PaymentPurpose.DEBT},
        )

    return await open_page(session, payment, request, now)


async def debt_payment_answered(
    session: AsyncSession,
    provider: PaymentProvider,
    payment: Payment,
    answer: ProviderPayment,
    now: datetime,
) -> None:
    if answer.status == PaymentStatus.CANCELED:
        payment.settled = True
        # Declined, or the page left unpaid until the bank closed it: the person is told that
        # the debt is still open (unless something else paid it meanwhile), with the way on.
        if debts := await debts_of_user(session, payment.user_id):
            await enqueue(
                session,
                user_id=payment.user_id,
                kind="debt_payment_declined",
                dedupe_key=f"debt-declined:{payment.id}",
                now=now,
                amount=sum(c.amount for c in debts),
            )
        return
    if answer.status != PaymentStatus.SUCCEEDED:
        return
    payment.settled = True
    covered = list(
        await session.scalars(select(Charge).where(Charge.id.in_(payment.charge_ids or [])))
    )
    already_paid = 0
    persons = set()
    refunded = set()
    for charge in covered:
        if charge.status == ChargeStatus.DEBT:
            charge.status, charge.paid_at = ChargeStatus.PAID, now
            persons.add(charge.insured_person_id)
        else:  # paid meanwhile by a card, disputed or cancelled: give it back
            already_paid += charge.amount
            refunded.add(charge.id)
    items = [await share_args(session, c) for c in covered if c.id not in refunded]
    await enqueue(
        session,
        user_id=payment.user_id,
        kind="debt_paid",
        dedupe_key=f"debt-paid:{payment.id}",
        now=now,
        amount=payment.amount - already_paid,
        items=items,
        # An old page paid after the debt was settled otherwise: that part goes back, and the
        # person is told so and to which card (a walker was thanked for "0 ₽").
        returned=already_paid,
        paid_with=answer.card.last4 if answer.card is not None else None,
    )
    await session.commit()
    if already_paid and payment.provider_id:
        await provider.refund(f"{payment.key}:refund", payment.provider_id, already_paid)
    for person in persons:
        await resume_if_clear(session, person, now)


async def resume_if_clear(session: AsyncSession, insured_person_id: int, now: datetime) -> None:
    franchise = await franchise_row(session, insured_person_id)
    if franchise is None or franchise.suspended_at is None:
        return
    # A debt being charged right now (the same run's next share) is owed still: the clinics
    # come back when the last share is paid, not between two (a walker read "available again"
    # and then "still owed").
    owed = await session.scalar(
        select(func.count()).where(
            Charge.insured_person_id == insured_person_id,
            Charge.status.in_([ChargeStatus.DEBT, ChargeStatus.CHARGING]),
            Charge.debt_since.is_not(None),
        )
    )
    if owed:
        return
    suspended_at, franchise.suspended_at = franchise.suspended_at, None
    if (run := digest.current()) is not None:  # told with the run's payments
        run.resumed.append(await person_args(session, insured_person_id))
        await session.commit()
        return
    await enqueue(
        session,
        user_id=franchise.user_id,
        kind="franchise_resumed",
        dedupe_key=f"resumed:{franchise.id}:{suspended_at.isoformat()}",
        now=now,
        insured_person_id=insured_person_id,
        **await person_args(session, insured_person_id),
    )
    await session.commit()


async def suspend_overdue(session: AsyncSession, rules: BillingRules, now: datetime) -> int:
    """The scheduler's tick: a debt past its deadline suspends the person's franchise."""
    overdue = (
        await session.scalars(
            select(Charge.insured_person_id)
            .where(
                Charge.status == ChargeStatus.DEBT,
                Charge.debt_since < overdue_before(now, rules),
            )
            .distinct()
        )
    ).all()
    suspended: dict[int, list[tuple[Franchise, dict[str, Any]]]] = defaultdict(list)
    for person_id in overdue:
        result = await session.execute(
            update(Franchise)
            .where(Franchise.insured_person_id == person_id, Franchise.suspended_at.is_(None))
            .values(suspended_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        franchise = await franchise_row(session, person_id)
        assert franchise is not None
        about = {
            "insured_person_id": person_id,
            "debt": await person_debt(session, person_id),
            **await person_args(session, person_id),
        }
        suspended[franchise.user_id].append((franchise, about))
    # One message per payer for the run, whatever the number of policies (CONVERSATION.md 6).
    for user_id, items in suspended.items():
        first = items[0][0]
        await enqueue(
            session,
            user_id=user_id,
            kind="franchise_suspended",
            dedupe_key=f"suspended:{first.id}:{now.isoformat()}",
            now=now,
            **items[0][1],
            items=[about for _, about in items],
        )
    await session.commit()
    return sum(len(items) for items in suspended.values())
