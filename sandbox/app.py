"""The sandbox service: Telegram Bot API, the people's API and web chat, mail and bank."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web

from sandbox.bank import Bank
from sandbox.mail import Mailbox, mail_routes, start_smtp
from sandbox.telegram.botapi import BotApi
from sandbox.telegram.state import SandboxState
from sandbox.telegram.userapi import UserApi

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
# The bot's time-travel steps (`bot/devclock.py`), in seconds.
TIME_TRAVEL_STEPS = {"1h": 3600.0, "1d": 86400.0, "1w": 7 * 86400.0, "1m": 30 * 86400.0}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 8081  # 0: any free port
    smtp_port: int = 8025  # 0: any free port
    state_dir: Path | None = None  # None: nothing kept on disk
    bot_token: str | None = None  # None: any well-formed token is accepted
    bank_shop_id: str = "sandbox-shop"
    bank_secret_key: str = "sandbox-secret"
    bank_notification_url: str | None = None
    bank_shop_name: str = "Sandbox shop"  # shown on the bank's hosted page
    groups: list[dict[str, object]] = field(default_factory=list)  # [{id, title, is_forum}]


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        if config.port == 0:
            config.port = free_port(config.host)
        if config.smtp_port == 0:
            config.smtp_port = free_port(config.host)
        self.state = SandboxState(config.state_dir)
        self.bot_api = BotApi(self.state, config.bot_token)
        self.user_api = UserApi(self.state, self.bot_api)
        self.mailbox = Mailbox(self.state.clock, config.state_dir)
        self.bank = Bank(
            config.bank_shop_id,
            config.bank_secret_key,
            self.url,
            shop_name=config.bank_shop_name,
            clock=self.state.clock,
        )
        self.bank.notification_url = config.bank_notification_url
        # The bot's time-travel route, told by the bot in sandbox mode (the web chat's clock).
        self.clock_url: str | None = None
        for group in config.groups:
            self.state.ensure_group(
                int(group["id"]), str(group["title"]), is_forum=bool(group.get("is_forum", True))
            )  # type: ignore[call-overload]
        self._runner: web.AppRunner | None = None
        self._smtp: asyncio.base_events.Server | None = None
        self._saver: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def create_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.add_routes(self.bot_api.routes())
        app.add_routes(self.user_api.routes())
        app.add_routes(mail_routes(self.mailbox))
        app.add_routes(self.bank.routes())
        app.add_routes(
            [
                web.get("/sandbox/api/health", self.health),
                web.get("/sandbox/api/clock", self.clock),
                web.post("/sandbox/api/clock", self.clock),
                web.get("/", self.page("chat.html")),
                web.get("/sandbox/mail", self.page("mail.html")),
                web.static("/sandbox/static", STATIC),
            ]
        )
        return app

    def page(self, name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
        async def serve(request: web.Request) -> web.FileResponse:
            return web.FileResponse(STATIC / name)

        return serve

    async def clock(self, request: web.Request) -> web.Response:
        """The web chat's clock control, passed on to the bot (the page stays same-origin)."""
        if self.clock_url is None:
            return web.json_response({"error": "the bot offers no clock control"}, status=404)
        body = await request.json() if request.method == "POST" else None
        # What the bot sends while its ticks run already carries the new time; its answer then
        # gives the exact offset.
        step = TIME_TRAVEL_STEPS.get(str((body or {}).get("advance")), 0.0)
        self.state.clock.offset += step
        try:
            async with (
                ClientSession(timeout=ClientTimeout(total=120)) as http,
                http.request(request.method, self.clock_url, json=body) as answer,
            ):
                told = await answer.json()
        except Exception:
            self.state.clock.offset -= step
            raise
        if answer.status == 200 and isinstance(told.get("now"), str):
            self.state.clock.follow(told["now"])  # message and mail times move with the bot's
        else:
            self.state.clock.offset -= step
        return web.json_response(told, status=answer.status)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "smtp_port": self.config.smtp_port,
                "pending_updates": len(self.state.updates),
                "webhook": bool(self.state.webhook),
                "bot_username": self.state.bot_username,
                "now": self.state.clock.now().isoformat(),
            }
        )

    async def start(self) -> None:
        self._runner = web.AppRunner(self.create_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.config.host, self.config.port).start()
        self._smtp = await start_smtp(self.mailbox, self.config.host, self.config.smtp_port)
        if self.state.webhook:
            self.bot_api.start_webhook()
        if self.config.state_dir is not None:
            self._saver = asyncio.create_task(self._save_periodically(), name="sandbox-save")
        log.info("sandbox listening on %s (SMTP on port %s)", self.url, self.config.smtp_port)

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.state.save()
            self.mailbox.save()

    async def stop(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        await self.state.close()
        await self.bot_api.stop()
        if self._smtp is not None:
            self._smtp.close()
            await self._smtp.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()
        self.state.save()
        self.mailbox.save()


@contextlib.asynccontextmanager
async def running_sandbox(config: SandboxConfig) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(config)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()
