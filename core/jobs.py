"""What the scheduler ticks, and how often. Each tick is cheap when there is nothing to do."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.codes import purge_code_events
from core.accounts.identity import purge_expired_files
from core.appeals.models import Appeal
from core.appeals.service import overdue
from core.billing.cards import expire_cards
from core.billing.charges import retry_open_debts, run_charges, suspend_overdue
from core.billing.franchise import announce_activations
from core.billing.provider import PaymentProvider
from core.billing.reconcile import reconcile
from core.billing.regions import announce_regions
from core.billing.rules import BillingRules
from core.clinics.searches import purge_searches
from core.clock import Clock
from core.i18n import translator
from core.inbox import purge_inbox
from core.notifications.delivery import Courier, Report, Send
from core.notifications.milestones import announce_milestones
from core.notifications.outbox import OutboxMessage
from core.notifications.scheduler import Tick

log = logging.getLogger(__name__)
DeskPost = Callable[[int | None, str], Awaitable[None]]  # (topic, text) in the operators' group


def desk_report(
    sessions: async_sessionmaker[AsyncSession], desk: DeskPost, desk_locale: str
) -> Report:
    """The operator learns in the appeal's topic whether the answer reached the person: the
    courier sends it later than the operator wrote it, and it may fail."""

    async def report(message: OutboxMessage, outcome: str) -> None:
        if message.kind != "appeal_answer" or not message.args.get("appeal_id"):
            return
        async with sessions() as session:
            appeal = await session.get(Appeal, int(message.args["appeal_id"]))
        if appeal is None or appeal.operators_thread_id is None:
            return
        _ = translator(desk_locale)
        if outcome == "sent":
            text = _("✉️ The answer is delivered to the person.")
        elif outcome == "blocked":
            text = _(
                "⚠️ The answer is not delivered: the person has blocked the bot. It will be "
                "delivered if they come back; call them if it is urgent."
            )
        else:
            text = _("❌ The answer is not delivered: {reason}.").format(
                reason=message.last_error or "—"
            )
        await desk(appeal.operators_thread_id, text)

    return report


def scheduled_ticks(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    provider: PaymentProvider | None = None,
    rules: BillingRules | None = None,
    send: Send | None = None,
    desk: DeskPost | None = None,
    answer_within: timedelta = timedelta(hours=24),
    desk_locale: str = "ru",
    courier: Courier | None = None,
    debt_every: timedelta = timedelta(days=3),
    desk_topics: Tick | None = None,
) -> dict[str, tuple[Tick, float]]:
    courier = courier or Courier()

    async def purge_identity_files() -> None:
        async with sessions() as session:
            erased = await purge_expired_files(session, now=clock.now())
        if erased:
            log.info("erased %s identity check files past their retention", erased)

    async def purge_handled_updates() -> None:
        async with sessions() as session:
            await purge_inbox(session, clock.now())

    async def purge_old_code_events() -> None:
        async with sessions() as session:
            await purge_code_events(session, clock.now())

    async def purge_clinic_searches() -> None:
        async with sessions() as session:
            await purge_searches(session, clock.now())

    async def franchise_activations() -> None:
        async with sessions() as session:
            await announce_activations(session, clock.now())

    async def region_openings() -> None:
        async with sessions() as session:
            await announce_regions(session, clock.now())

    async def card_expiries() -> None:
        async with sessions() as session:
            await expire_cards(session, clock.now())

    async def debt_suspensions() -> None:
        if rules is not None:
            async with sessions() as session:
                await suspend_overdue(session, rules, clock.now())

    async def charge_shares() -> None:
        if provider is not None and rules is not None:
            await run_charges(sessions, provider, rules, clock.now())

    async def debt_retries() -> None:
        if provider is not None and rules is not None:
            await retry_open_debts(sessions, provider, rules, clock.now())

    async def reconcile_payments() -> None:
        if provider is not None and rules is not None:
            async with sessions() as session:
                await reconcile(session, provider, rules, clock.now())

    async def milestones() -> None:
        if rules is not None:
            async with sessions() as session:
                await announce_milestones(session, rules, clock.now(), debt_every=debt_every)

    async def overdue_appeals() -> None:
        if desk is None:
            return
        async with sessions() as session:
            flagged = await overdue(session, clock.now(), answer_within)
        _ = translator(desk_locale)
        for appeal in flagged:
            hours = int(answer_within.total_seconds() // 3600)
            text = _("⏰ Appeal {number} has had no answer for over {hours} h.").format(
                number=appeal.number, hours=hours
            )
            await desk(appeal.operators_thread_id, text)

    async def sync_desk_topics() -> None:
        if desk_topics is not None:  # the bot brings topics up to changes made elsewhere
            await desk_topics()

    async def deliver_outbox() -> None:
        if send is not None:
            report = desk_report(sessions, desk, desk_locale) if desk is not None else None
            await courier.run(sessions, send, clock.now(), report=report)

    return {
        "purge_identity_files": (purge_identity_files, 3600.0),
        "purge_handled_updates": (purge_handled_updates, 3600.0),
        "purge_code_events": (purge_old_code_events, 3600.0),
        "purge_clinic_searches": (purge_clinic_searches, 3600.0),
        "franchise_activations": (franchise_activations, 60.0),
        "region_openings": (region_openings, 60.0),
        "card_expiries": (card_expiries, 3600.0),
        "debt_suspensions": (debt_suspensions, 300.0),
        "charge_shares": (charge_shares, 300.0),
        "debt_retries": (debt_retries, 600.0),
        "reconcile_payments": (reconcile_payments, 60.0),
        "overdue_appeals": (overdue_appeals, 300.0),
        "milestones": (milestones, 3600.0),
        "desk_topics": (sync_desk_topics, 30.0),
        "deliver_outbox": (deliver_outbox, 1.0),
    }
