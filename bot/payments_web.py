"""The provider's notifications: checked by source address, answered at once, applied after
re-fetching the payment from the provider (never trusting the body as sent)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing.provider import PaymentProvider, ProviderUnavailable
from core.billing.reconcile import on_notification
from core.billing.rules import BillingRules
from core.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class PaymentNotifications:
    sessions: async_sessionmaker[AsyncSession]
    provider: PaymentProvider
    rules: BillingRules
    clock: Clock
    networks: list[str]
    trusted_proxies: list[str] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

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
            log.warning("payment notification from %s refused", address)
            return web.Response(status=403)
        try:
            body = await request.json()
            payment_id = str(body["object"]["id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        task = asyncio.create_task(self._apply(payment_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=200)

    async def _apply(self, payment_id: str) -> None:
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
