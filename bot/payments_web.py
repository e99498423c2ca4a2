"""The provider's notifications: checked by source address, answered at once, applied after
re-fetching the payment from the provider (never trusting the body as sent).

Bounded: a body over 64 KB is refused (413), a payment id that is not one (over 64 characters,
or other than letters, digits, `-` and `_`) is refused (400) and logged cut short, and the
provider is asked about one payment at most once a second: notifications about a payment
whose fetch is waiting are folded into it, and the last one is always followed by a fetch.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing.provider import PaymentProvider, ProviderUnavailable
from core.billing.reconcile import on_notification
from core.billing.rules import BillingRules
from core.clock import Clock

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
PAYMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
REFETCH_AFTER = 1.0  # seconds between two fetches of one payment
MAX_WAITING = 10_000  # payments with a fetch waiting; more are left to reconciliation


def cut(value: object, limit: int = 64) -> str:
    """A value for a log line: at most `limit` characters, control characters escaped."""
    text = repr(value) if not isinstance(value, str) else value.encode("unicode_escape").decode()
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} chars)"


@dataclass
class PaymentNotifications:
    sessions: async_sessionmaker[AsyncSession]
    provider: PaymentProvider
    rules: BillingRules
    clock: Clock
    networks: list[str]
    trusted_proxies: list[str] = field(default_factory=list)
    refetch_after: float = REFETCH_AFTER
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _waiting: set[str] = field(default_factory=set)  # payments with a fetch to come
    _fetched_at: dict[str, float] = field(default_factory=dict)  # monotonic time of the last

    def source(self, request: web.Request) -> str:
        remote = request.remote or ""
        if remote in self.trusted_proxies:
            forwarded = request.headers.get("X-Forwarded-For", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            if hops:
                return hops[-1]  # the address our proxy saw
        return remote

    def allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(network, strict=False) for network in self.networks)

    async def handle(self, request: web.Request) -> web.Response:
        address = self.source(request)
        if not self.allowed(address):
            log.warning("payment notification from %s refused", cut(address))
            return web.Response(status=403)
        if (request.content_length or 0) > MAX_BODY:
            log.warning("payment notification of %s bytes refused", request.content_length)
            return web.Response(status=413)
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            log.warning("payment notification over %s bytes refused", MAX_BODY)
            return web.Response(status=413)
        try:
            payment_id = json.loads(raw)["object"]["id"]
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        if not isinstance(payment_id, str) or not PAYMENT_ID.fullmatch(payment_id):
            log.warning("payment notification with a malformed payment id %s", cut(payment_id))
            return web.Response(status=400)
        if payment_id in self._waiting:
            return web.Response(status=200)  # a fetch to come will see this change too
        if len(self._waiting) >= MAX_WAITING:
            log.warning("too many payments waiting; %s is left to reconciliation", payment_id)
            return web.Response(status=200)
        self._waiting.add(payment_id)
        task = asyncio.create_task(self._apply(payment_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=200)

    async def _apply(self, payment_id: str) -> None:
        last = self._fetched_at.get(payment_id)
        if last is not None:
            await asyncio.sleep(max(0.0, last + self.refetch_after - time.monotonic()))
        self._waiting.discard(payment_id)  # what comes from now on needs a fetch of its own
        now = time.monotonic()
        for stale in [k for k, at in self._fetched_at.items() if now - at > self.refetch_after]:
            del self._fetched_at[stale]
        self._fetched_at[payment_id] = now
        try:
            async with self.sessions() as session:
                await on_notification(
                    session, self.provider, payment_id, self.rules, self.clock.now()
                )
        except ProviderUnavailable:
            log.info("provider unavailable; payment %s is left to reconciliation", payment_id)
        except Exception:
            log.exception("payment notification %s failed; reconciliation retries", payment_id)

    async def drain(self) -> None:
        """Let notifications in flight finish (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
