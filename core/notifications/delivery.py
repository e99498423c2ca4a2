"""Draining the outbox within Telegram's limits, exactly once as far as a crash allows.

Each message is claimed by a conditional UPDATE (its attempt count) that leases it for a
minute, rendered in the recipient's saved language, sent, and marked. A crash between the send
and the mark can repeat that one message once its lease runs out; nothing is lost.

The courier keeps Telegram's limits: about 30 messages a second overall and one a second per
chat; a 429 pauses the whole bot for `retry_after` (the message waits, it is not lost); a 403
marks the person as having blocked the bot, and their messages wait until they come back; a
permanent 400 is dead-lettered with its reason; network errors are retried with a growing
pause. Messages that can wait are held through the person's quiet hours, in their time zone."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from datetime import time as clock_time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account, User
from core.accounts.zones import zone_of
from core.billing.models import ServiceRegion
from core.i18n import translator
from core.notifications.messages import Action, actions, render
from core.notifications.outbox import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
Send = Callable[[int, str, Sequence[Action]], Awaitable[None]]  # (chat id, text, buttons)
# Told how a message went ("sent", "dead", "blocked"): the desk hears about its answers.
Report = Callable[[OutboxMessage, str], Awaitable[None]]
MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)  # a claimed message not marked by then was lost with its worker

# Messages the profile's switches turn off; money, access and answers always go.
REMINDERS = frozenset({"booking_reminder", "policy_expiring", "coverage_started"})
NEWS = frozenset({"news"})
# Messages that may wait for the person's morning; new debts, suspensions, access and answers
# never do.
CAN_WAIT = frozenset(
    {
        "new_services",
        "regions_available",
        "share_charged",
        "franchise_active",
        "appeal_taken",
        "news",
        "debt_reminder",  # routine: the debt was announced at once, the deadline is days away
        "policy_expiring",  # weeks or days ahead (a walker's came at 01:15)
        "coverage_started",
    }
)


def too_late(message: OutboxMessage, now: datetime) -> bool:
    """A visit's reminder found after the visit began (the bot was down, or the demo's clock
    jumped past it): sending it would remind of the past."""
    if message.kind != "booking_reminder":
        return False
    starts_at = message.args.get("starts_at")
    return starts_at is not None and datetime.fromisoformat(starts_at) <= now


class Blocked(Exception):
    """The person blocked the bot (Telegram's 403)."""


class RetryAfter(Exception):
    """Telegram's 429: the whole bot waits this many seconds."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Rejected(Exception):
    """A permanent refusal (Telegram's 400): sending again cannot help."""


def quiet_until(
    now: datetime, start: clock_time, end: clock_time, zone: tzinfo | None = None
) -> datetime | None:
    """The end of the quiet hours in the person's zone (Moscow by default) if `now` falls in
    them, else None."""
    zone = zone or zone_of(None)
    local = now.astimezone(zone)
    moment = local.time()
    inside = (start <= moment or moment < end) if start > end else (start <= moment < end)
    if not inside:
        return None
    day = local.date() if moment < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, zone)


def switched_off(kind: str, reminders: bool | None, news: bool | None) -> bool:
    """Whether the person turned this kind of message off in the profile."""
    return (kind in REMINDERS and reminders is False) or (kind in NEWS and news is False)


class Courier:
    CHATS_KEPT = 1024  # past this, the chats whose last send no longer holds anything are dropped

    def __init__(
        self,
        *,
        per_second: float = 30.0,
        per_chat_interval: float = 1.0,
        quiet: tuple[clock_time, clock_time] | None = (clock_time(22), clock_time(9)),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / per_second
        self.per_chat = per_chat_interval
        self.quiet = quiet
        self.monotonic = monotonic
        self.paused_until = 0.0
        self.last_send = 0.0
        self.chats: dict[int, float] = {}  # chat -> its last send, kept while it still holds

    async def _pace(self, chat_id: int) -> bool:
        """Wait for the global rate; False if this chat had a message less than a second ago."""
        now = self.monotonic()
        if now - self.chats.get(chat_id, -1e9) < self.per_chat:
            return False
        wait = self.last_send + self.interval - now
        if wait > 0:
            await asyncio.sleep(wait)
        self.last_send = self.chats[chat_id] = self.monotonic()
        if len(self.chats) > self.CHATS_KEPT:  # bounded over a long run (issue 19)
            held = self.last_send - self.per_chat
            self.chats = {chat: at for chat, at in self.chats.items() if at > held}
        return True

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        send: Send,
        now: datetime,
        limit: int = 300,
        report: Report | None = None,
    ) -> int:
        if self.monotonic() < self.paused_until:
            return 0
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage, User, Account.notify_reminders, Account.notify_news)
                    .join(User, User.id == OutboxMessage.user_id)
                    .outerjoin(Account, Account.user_id == User.id)
                    .where(
                        OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                        OutboxMessage.send_after <= now,
                        User.blocked_bot_at.is_(None),
                    )
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            ).all()
            sent = 0
            for message, user, reminders, news in rows:
                if switched_off(message.kind, reminders, news):
                    message.status = OutboxStatus.SKIPPED
                    await session.commit()
                    continue
                if too_late(message, now):  # a reminder of a visit already begun: no longer true
                    message.status = OutboxStatus.WITHDRAWN
                    await session.commit()
                    continue
                if self.quiet is not None and message.kind in CAN_WAIT:
                    morning = quiet_until(now, *self.quiet, zone_of(user.time_zone))
                    if morning is not None:
                        message.send_after = morning
                        await session.commit()
                        continue
                if not await self._pace(user.telegram_id):
                    continue  # the next run takes it
                outcome = await self._one(session, message, user, send, now)
                if report is not None and outcome in ("sent", "dead", "blocked"):
                    try:
                        await report(message, outcome)
                    except Exception:  # the message's fate is recorded; the report is a courtesy
                        log.warning("could not report outbox message %s", message.id, exc_info=True)
                if outcome == "paused":
                    break
                sent += outcome == "sent"
        return sent

    async def _one(
        self,
        session: AsyncSession,
        message: OutboxMessage,
        user: User,
        send: Send,
        now: datetime,
    ) -> str:
        # The claim moves the attempt count: of two workers that read the same row, one wins;
        # a worker reading it later sees it leased (SENDING until `send_after`) and skips it.
        claimed = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == message.status,
                OutboxMessage.attempts == message.attempts,
            )
            .values(
                status=OutboxStatus.SENDING,
                attempts=message.attempts + 1,
                send_after=now + LEASE,
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return "taken"  # another worker has it
        await session.refresh(message)
        _ = translator(user.language)
        try:
            args = await as_of_now(session, message, now)
            text = render(message.kind, args, _, user.language)
            buttons = actions(message.kind, args, _)
        except Exception as error:  # a message that cannot be rendered will never be sent
            log.exception("outbox message %s cannot be rendered", message.id)
            message.status, message.last_error = OutboxStatus.DEAD, f"render: {error}"[:500]
            await session.commit()
            return "dead"
        try:
            await send(user.telegram_id, text, buttons)
        except RetryAfter as error:
            self.paused_until = self.monotonic() + error.seconds
            message.attempts -= 1  # not the message's fault
            message.status, message.send_after = OutboxStatus.PENDING, now
            message.last_error = str(error)
            await session.commit()
            return "paused"
        except Blocked:
            message.attempts -= 1
            message.status, message.send_after = OutboxStatus.PENDING, now
            user.blocked_bot_at = now  # held until they come back (any update clears it)
            await session.commit()
            return "blocked"
        except Rejected as error:
            message.status, message.last_error = OutboxStatus.DEAD, str(error)[:500]
            await session.commit()
            return "dead"
        except Exception as error:  # the network: try again later, then give up
            log.warning("outbox message %s not sent: %s", message.id, error)
            message.last_error = str(error)[:500]
            message.status = OutboxStatus.PENDING
            message.send_after = now + timedelta(seconds=min(2**message.attempts, 3600))
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.DEAD
            await session.commit()
            return "failed"
        message.status, message.sent_at = OutboxStatus.SENT, now
        await session.commit()
        return "sent"


async def as_of_now(session: AsyncSession, message: OutboxMessage, now: datetime) -> dict[str, Any]:
    """What a message says, as of its sending. One held for the morning may have been overtaken
    in the night: «no region is chosen yet, choose them» came at 09:15 to a walker who had
    chosen one at 01:16; it now says when the chosen regions' clinics open."""
    args: dict[str, Any] = message.args
    person = args.get("insured_person_id")
    if message.kind == "franchise_active" and args.get("regions_to_choose") and person:
        opens = await session.scalar(
            select(func.min(ServiceRegion.available_from)).where(
                ServiceRegion.insured_person_id == int(person)
            )
        )
        if opens is not None:
            later = opens.isoformat() if opens > now else None
            return {**args, "regions_to_choose": False, "regions_open": later}
    return args


async def deliver(
    sessions: async_sessionmaker[AsyncSession], send: Send, now: datetime, limit: int = 300
) -> int:
    """One run of a fresh courier without quiet hours (tests, one-off drains)."""
    return await Courier(quiet=None, per_chat_interval=0.0).run(sessions, send, now, limit)
