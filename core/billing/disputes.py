"""A share the person says was never provided (a "service not provided" appeal, seed 000 4.1).

While the appeal is open the share is neither charged nor owed: it leaves the charge queue and
the debts (and a suspension it alone caused is lifted). The appeal's outcome decides it:
confirmed, the share is cancelled; rejected, it is released for charging, with a message.
Appeals call `dispute_share` when such an appeal is filed and `close_share_dispute` when it is
closed; neither is told anything else about billing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.charges import resume_if_clear
from core.billing.labels import share_args
from core.billing.models import Charge, ChargeStatus
from core.notifications.outbox import enqueue

DISPUTABLE = (ChargeStatus.DUE, ChargeStatus.DEBT)


async def dispute_share(session: AsyncSession, bill_id: int, now: datetime) -> Charge | None:
    """Hold the bill's share while its appeal is open; returns it, or None when there is nothing
    to hold (no share, already paid or cancelled, or being charged this minute)."""
    charge = await session.scalar(select(Charge).where(Charge.bill_id == bill_id).with_for_update())
    if charge is None or charge.status not in DISPUTABLE:
        return None
    charge.disputed_from, charge.status = charge.status, ChargeStatus.DISPUTED
    await session.commit()
    await resume_if_clear(session, charge.insured_person_id, now)
    return charge


async def close_share_dispute(
    session: AsyncSession,
    bill_id: int,
    *,
    confirmed: bool,
    payer_id: int,
    now: datetime,
    withdrawn: bool = False,
) -> Charge | None:
    """The appeal is closed. `confirmed`: the service was not provided, the share is cancelled.
    Otherwise (rejected, or `withdrawn` by the person) it is released: charged on the next run,
    and the payer is told so."""
    charge = await session.scalar(select(Charge).where(Charge.bill_id == bill_id).with_for_update())
    if charge is None or charge.status != ChargeStatus.DISPUTED:
        return None
    about = await share_args(session, charge)
    if confirmed:
        charge.status = ChargeStatus.CANCELLED
        kind = "share_cancelled"
    else:
        # Released for charging now; an old debt stays owed from the day it was owed.
        charge.status = ChargeStatus.DUE
        charge.charge_after = min(charge.charge_after, now)
        charge.round_started_at = None
        kind = "share_released"
    charge.disputed_from = None
    await enqueue(
        session,
        user_id=payer_id,
        kind=kind,
        dedupe_key=f"{kind}:{charge.id}",
        now=now,
        withdrawn=withdrawn,
        **about,
    )
    await session.commit()
    return charge
