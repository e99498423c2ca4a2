"""Franchise activation, cards, charges, debts, suspension and resumption, against the sandbox
bank over real HTTP (YooKassa's API shape)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import PolicyAction, PolicyCallback
from bot.notify import callback_of
from core.accounts.consents import ConsentKind, current_consents
from core.billing.charges import open_debt_link, retry_debts, run_charges, suspend_overdue
from core.billing.franchise import (
    AlreadyActivated,
    FranchiseState,
    NoFranchise,
    announce_activations,
    franchise_of,
    start_activation,
)
from core.billing.models import Card, CardStatus, Charge, Payment
from core.billing.payments import BankUnavailable
from core.billing.reconcile import on_notification, reconcile
from core.billing.regions import confirm_regions
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.formatting import MOSCOW
from core.i18n import translator
from core.notifications.delivery import Courier
from core.notifications.messages import Action, actions, render
from core.notifications.outbox import OutboxMessage
from sandbox.app import Sandbox
from sandbox.bank import DECLINED_CARD, EXPIRING_CARD, POOR_CARD, SUCCESS_CARD
from tests.billing import (
    RULES,
    anna,
    bank,
    bills,
    fill_card_page,
    link_card,
    linked,
    messages,
    policy,
    provider,
)

__all__ = ["bank", "linked", "provider"]  # fixtures


async def test_activation_links_the_card_returns_the_10_rubles_and_activates_next_day(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        assert (
            await franchise_of(session, view, clock.now())
        ).state is FranchiseState.NOT_ACTIVATED
        with pytest.raises(NoFranchise):
            await franchise_of(
                session, await policy(session, "DMS-K-2026-0001", clock), clock.now()
            )
    payment = await link_card(sessions, provider, clock)
    assert payment.amount == 1000
    held = bank.bank.payments[str(payment.provider_id)]
    assert held["status"] == "canceled", "the 10 RUB hold is released: the money returns"
    async with sessions() as session:
        [card] = (await session.scalars(select(Card))).all()
        assert (card.first6, card.last4, card.primary) == ("555555", "4477", True)
        assert len(card.method_id) > 10 and "5555555555554477" not in str(vars(card))
        view = await policy(session, "ONDL-500001", clock)
        state = await franchise_of(session, view, clock.now())
        assert state.state is FranchiseState.CARD_LINKED
        # 12:00 Moscow time on 21.11: active from 00:00 Moscow time on 22.11 (21:00 UTC).
        assert state.active_from == datetime(2026, 11, 21, 21, 0, tzinfo=UTC)
        assert ConsentKind.AUTOPAY in await current_consents(session, card.user_id)
        with pytest.raises(AlreadyActivated):
            await start_activation(
                session,
                provider,
                await anna(session),
                view,
                RULES,
                description="x",
                now=clock.now(),
            )
    assert await messages(sessions) == ["card_linked"]

    # The same notification again (and the cancel's own notification) changes nothing.
    async with sessions() as session:
        assert payment.provider_id is not None
        await on_notification(session, provider, payment.provider_id, RULES, clock.now())
        assert await session.scalar(select(func.count()).select_from(Card)) == 1
    clock.advance(timedelta(hours=11, minutes=59))
    async with sessions() as session:
        assert await announce_activations(session, clock.now()) == 0
    clock.advance(timedelta(minutes=1))
    async with sessions() as session:
        assert await announce_activations(session, clock.now()) == 1
        assert await announce_activations(session, clock.now()) == 0
        view = await policy(session, "ONDL-500001", clock)
        assert (await franchise_of(session, view, clock.now())).state is FranchiseState.ACTIVE
    assert await messages(sessions) == ["card_linked", "franchise_active"]


async def test_a_declined_card_leaves_the_franchise_not_activated(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock, DECLINED_CARD)
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        assert (
            await franchise_of(session, view, clock.now())
        ).state is FranchiseState.NOT_ACTIVATED
        assert await session.scalar(select(func.count()).select_from(Card)) == 0
        notice = await session.scalar(select(OutboxMessage))
    assert await messages(sessions) == ["card_declined"]
    # the message leads back to the policy's franchise section, to try another card
    assert notice is not None and notice.args["number"] == "ONDL-500001"
    [again] = actions(notice.kind, notice.args, translator("ru"))
    assert (again.label, again.name, again.value) == (
        "💳 Попробовать другую карту",
        "franchise",
        view.id,
    )
    assert callback_of(again) == PolicyCallback(id=view.id, action=PolicyAction.FRANCHISE)
    await link_card(sessions, provider, clock, SUCCESS_CARD)  # a second try works
    assert await messages(sessions) == ["card_declined", "card_linked"]


async def test_a_lost_answer_is_repeated_with_the_same_key(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    bank.bank.lose_next_responses = 1
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        with pytest.raises(BankUnavailable):
            await start_activation(
                session,
                provider,
                await anna(session),
                view,
                RULES,
                description="x",
                now=clock.now(),
            )
        payment = await start_activation(
            session, provider, await anna(session), view, RULES, description="x", now=clock.now()
        )
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1
    assert len(bank.bank.payments) == 1, "the retry reused the key: one payment at the bank"
    assert payment.confirmation_url


async def charges(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(Charge.status).order_by(Charge.id)))


async def test_shares_are_charged_a_month_later_from_the_primary_card_once(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock)
    await bills(sessions, clock, "136.00", "0")
    assert await charges(sessions) == ["due"], "a line without a share has nothing to charge"
    assert await run_charges(sessions, provider, RULES, clock.now()) == 0
    clock.advance(timedelta(days=30))
    assert await run_charges(sessions, provider, RULES, clock.now()) == 1
    assert await run_charges(sessions, provider, RULES, clock.now()) == 0
    assert await charges(sessions) == ["paid"]
    taken = [p for p in bank.bank.payments.values() if p["status"] == "succeeded"]
    assert [p["amount"]["value"] for p in taken] == ["136.00"]
    await bills(sessions, clock, "136.00", "0")  # a re-import never charges again
    assert await run_charges(sessions, provider, RULES, clock.now()) == 0


async def test_the_second_card_pays_after_the_first_fails_and_a_lost_answer_is_rechecked(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock, POOR_CARD)
    await link_card(sessions, provider, clock, SUCCESS_CARD, another=True)
    await bills(sessions, clock, "136.00")
    clock.advance(timedelta(days=30))
    bank.bank.lose_next_responses = 2  # the poor card's answer and the good card's are lost
    await run_charges(sessions, provider, RULES, clock.now())
    assert await charges(sessions) == ["charging"], "an unknown outcome is not retried blindly"
    clock.advance(timedelta(minutes=2))
    async with sessions() as session:
        await reconcile(session, provider, RULES, clock.now())
    clock.advance(timedelta(minutes=2))
    async with sessions() as session:
        await reconcile(session, provider, RULES, clock.now())
    assert await charges(sessions) == ["paid"]
    charged = [
        p
        for p in bank.bank.payments.values()
        if p.get("payment_method_id") or p["description"].startswith("Franchise")
    ]
    assert sorted(p["status"] for p in charged) == ["canceled", "succeeded"], "never two cards"


async def test_every_card_failing_makes_a_debt_then_suspension_then_payment_resumes(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    bank: Sandbox,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await link_card(sessions, provider, clock, POOR_CARD)
    await link_card(sessions, provider, clock, EXPIRING_CARD, another=True)
    await bills(sessions, clock, "136.00", "408.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    assert await charges(sessions) == ["debt", "debt"]
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        assert (await franchise_of(session, view, clock.now())).debt == 54400, "544 RUB"
        statuses = dict((await session.execute(select(Card.last4, Card.status))).all())
    assert statuses == {"4535": CardStatus.ACTIVE, "4600": CardStatus.EXPIRED}
    assert (await messages(sessions)).count("debts") == 1, "the debts of one run: one message"
    assert "card_unusable" in await messages(sessions)

    clock.advance(timedelta(days=13))
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 0
    # The 14th day is the last day to pay, all of it (Moscow time): not suspended at its noon,
    # at its end.
    clock.advance(timedelta(days=1))
    moscow = clock.now().astimezone(MOSCOW)
    assert moscow.hour == 12
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 0
    clock.advance(timedelta(hours=11, minutes=59))  # 23:59
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 0
    clock.advance(timedelta(minutes=1))  # 00:00 the next day
    async with sessions() as session:
        assert await suspend_overdue(session, RULES, clock.now()) == 1
        assert await suspend_overdue(session, RULES, clock.now()) == 0
        view = await policy(session, "ONDL-500001", clock)
        assert (await franchise_of(session, view, clock.now())).state is FranchiseState.SUSPENDED
        left = await retry_debts(session, provider, await anna(session), RULES, clock.now())
        assert len(left) == 2, "the poor card still fails"
        declined = await open_debt_link(
            session, provider, await anna(session), RULES, text="Долг", now=clock.now()
        )
    assert declined is not None and declined.confirmation_url
    await fill_card_page(declined.confirmation_url, DECLINED_CARD)
    async with sessions() as session:
        assert declined.provider_id is not None
        await on_notification(session, provider, declined.provider_id, RULES, clock.now())
        notice = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "debt_payment_declined")
        )
    # told at once that the debt is still open, with the button to pay it again
    assert await charges(sessions) == ["debt", "debt"]
    assert notice is not None and notice.args["amount"] == 54400
    text = render(notice.kind, notice.args, translator("ru"), "ru")
    assert text.startswith("❌ Оплата не прошла") and "544 ₽" in text
    assert [a.name for a in actions(notice.kind, notice.args, translator("ru"))] == ["pay_debt"]
    async with sessions() as session:
        link = await open_debt_link(
            session, provider, await anna(session), RULES, text="Долг", now=clock.now()
        )
        assert link is not None and link.amount == 54400
    assert link.confirmation_url
    await fill_card_page(link.confirmation_url, SUCCESS_CARD)
    async with sessions() as session:
        assert link.provider_id is not None
        await on_notification(session, provider, link.provider_id, RULES, clock.now())
        view = await policy(session, "ONDL-500001", clock)
        state = await franchise_of(session, view, clock.now())
    assert state.state is FranchiseState.ACTIVE and state.debt == 0
    assert await charges(sessions) == ["paid", "paid"]
    assert (await messages(sessions))[-2:] == ["debt_paid", "franchise_resumed"]


async def test_an_activation_held_for_the_morning_says_what_is_true_when_it_comes(
    sessions: async_sessionmaker[AsyncSession],
    linked: None,
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    """A walker chose a region at 01:16; the activation message held for the morning came at
    09:15 saying «no service region is chosen yet, so no clinic is open», with the button to
    choose them. It is written as of its sending now."""
    await link_card(sessions, provider, clock)  # 12:00 Moscow: active from 00:00 tomorrow
    clock.advance(timedelta(hours=12))  # 00:00 Moscow: active, and the night is quiet
    async with sessions() as session:
        assert await announce_activations(session, clock.now()) == 1
        held = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "franchise_active")
        )
        assert held is not None and held.args["regions_to_choose"] is True
    sent: list[tuple[str, list[str]]] = []

    async def send(chat_id: int, text: str, buttons: Sequence[Action] = ()) -> None:
        sent.append((text, [b.label for b in buttons]))

    courier = Courier(per_chat_interval=0)
    await courier.run(sessions, send, clock.now())  # the card's message goes, this one waits
    assert [text.split()[0] for text, _ in sent] == ["💳"]  # «✅ … is active» waits
    clock.advance(timedelta(hours=1, minutes=16))
    async with sessions() as session:
        view = await policy(session, "ONDL-500001", clock)
        assert await confirm_regions(session, view, ["77"], clock.now()) == ["77"]
        await session.commit()
    clock.advance(timedelta(hours=8))  # 09:16 Moscow
    sent.clear()
    assert await courier.run(sessions, send, clock.now()) == 1
    [(text, buttons)] = sent
    assert "ещё не выбран" not in text and "🗺 Выбрать регионы" not in buttons
    assert "Клиники выбранных регионов откроются 23.11.2026: мы напишем вам в этот день." in text
