"""The hot queries have indexes on PostgreSQL: EXPLAIN, with sequential scans priced out,
names the index each one uses (a query without a usable index still shows a Seq Scan)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Select, select, text, tuple_
from sqlalchemy.dialects import postgresql

from core.accounts.models import Account, User
from core.appeals.models import Appeal
from core.billing.models import Bill, Card, Charge, Franchise, ServiceRegion
from core.clinics.models import ClinicSlot
from core.db import create_engine
from core.dialog_state import DialogState
from core.inbox import ProcessedUpdate
from core.notifications.outbox import OutboxMessage
from core.policies.models import PolicyLink
from tests.conftest import POSTGRES_URL

NOW = datetime(2026, 11, 22, tzinfo=UTC)
HOT: dict[str, tuple[Select[Any], set[str]]] = {
    "user by telegram id": (
        select(User).where(User.telegram_id == 1),
        {"uq_users_telegram_id"},
    ),
    "account of a user": (
        select(Account).where(Account.user_id == 1),
        {"uq_accounts_user_id"},
    ),
    "policies of a user": (
        select(PolicyLink).where(PolicyLink.user_id == 1),
        {"ix_policy_links_user_id"},
    ),
    "bills of an insured person": (
        select(Bill).where(Bill.insured_person_id == 1),
        {"ix_bills_insured_person_id"},
    ),
    "due outbox messages": (
        select(OutboxMessage.id).where(
            OutboxMessage.status.in_(["pending", "sending"]), OutboxMessage.send_after <= NOW
        ),
        {"ix_outbox_pending"},
    ),
    "due charges": (
        select(Charge.id).where(Charge.status == "due", Charge.charge_after <= NOW),
        {"ix_charges_due"},
    ),
    "franchises to activate": (
        select(Franchise.id).where(Franchise.status == "scheduled", Franchise.active_from <= NOW),
        {"ix_franchises_due"},
    ),
    "regions to open": (
        select(ServiceRegion.id).where(
            ServiceRegion.announced.is_(False), ServiceRegion.available_from <= NOW
        ),
        {"ix_service_regions_due"},
    ),
    "cards past their month": (
        select(Card.id).where(
            Card.status == "active", tuple_(Card.expiry_year, Card.expiry_month) < tuple_(2026, 11)
        ),
        {"ix_cards_expiry"},
    ),
    "appeal of a desk topic": (
        select(Appeal).where(Appeal.operators_thread_id == 5),
        {"ix_appeals_operators_thread_id"},
    ),
    "free slots of a clinic": (
        select(ClinicSlot).where(
            ClinicSlot.clinic_id == 1, ClinicSlot.taken.is_(False), ClinicSlot.starts_at > NOW
        ),
        {"ix_clinic_slots_free", "uq_clinic_slots_clinic_id"},
    ),
    "handled update": (
        select(ProcessedUpdate).where(ProcessedUpdate.update_id == 1),
        {"pk_processed_updates"},
    ),
    "dialog state": (
        select(DialogState).where(DialogState.key == "fsm:1:1:1"),
        {"pk_dialog_states"},
    ),
}


def indexes_in(plan: dict[str, Any]) -> set[str]:
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= indexes_in(child)
    return found


@pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set: EXPLAIN skipped")
@pytest.mark.parametrize("name", list(HOT))
async def test_each_hot_query_uses_its_index(postgres_migrated: str, name: str) -> None:
    query, expected = HOT[name]
    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    engine = create_engine(postgres_migrated)
    async with engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        [[plan]] = (await connection.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).one()
    await engine.dispose()
    used = indexes_in(plan["Plan"])
    assert used & expected, f"{name}: {used or 'no index'} in {plan['Plan']}"
