"""One entry for every kind of the insurer's file: the command line and the integration
endpoint both load through it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.crypto import Vault
from core.billing.rules import BillingRules
from core.importers.bills import import_bills
from core.importers.cases import import_case_stages
from core.importers.clinics import import_clinics
from core.importers.files import ImportReport
from core.importers.policies import Progress, import_policies, import_programs
from core.importers.slots import import_slots

KINDS = ("clinics", "programs", "policies", "bills", "slots", "cases")
NEEDS_KEY = frozenset({"policies", "bills"})  # documents and diagnoses are encrypted


async def import_kind(
    session: AsyncSession,
    kind: str,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    vault: Vault | None,
    rules: BillingRules,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    if kind == "clinics":
        return await import_clinics(session, rows)
    if kind == "programs":
        return await import_programs(session, rows)
    if kind == "slots":
        return await import_slots(session, rows)
    if kind == "cases":
        return await import_case_stages(session, rows, now=now)
    if vault is None:
        raise ValueError("DATA_ENCRYPTION_KEY is not set: it is needed for documents and diagnoses")
    if kind == "bills":
        return await import_bills(session, vault, rows, rules, now=now)
    if kind == "policies":
        return await import_policies(session, vault, rows, now=now, progress=progress)
    raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
