"""End-to-end helpers: the sandbox and the bot on free localhost ports, driven over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import ClientSession, web

from bot.commands import set_bot_commands
from bot.devclock import ClockControl
from bot.factory import create_bot, create_dispatcher, finish_updates
from bot.middlewares.idempotency import OncePerUpdate
from bot.notify import telegram_send
from bot.payments_web import PaymentNotifications
from bot.web import create_web_app
from core.accounts.crypto import Vault
from core.billing.yookassa import YooKassa
from core.clock import Clock, FrozenClock
from core.config import Settings
from core.db import create_engine, create_session_factory
from core.demo import seed_demo_data
from core.jobs import scheduled_ticks
from core.notifications.delivery import Courier
from core.notifications.scheduler import create_scheduler
from sandbox.app import Sandbox, SandboxConfig, free_port, running_sandbox

TOKEN = "7000000001:live-test-token"
Messages = list[dict[str, Any]]
# How long a test waits for something that takes milliseconds on an idle machine. Every wait
# ends as soon as its condition holds, so the deadline costs nothing when all goes well; it is
# long because CI machines are shared, and a process may not run for seconds at a time.
PATIENCE = 60.0
# How long a new process (`main.py`: imports, the migrations check) may take to come up: seconds
# when idle; with the machine ten times oversubscribed it took two and a half minutes.
STARTUP = 300.0


async def eventually(condition: Callable[[], bool], within: float = PATIENCE) -> float:
    """Seconds until `condition` held; fails after `within`."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        assert time.monotonic() - started < within, "timed out"
        await asyncio.sleep(0.02)


class SandboxUser:
    """A person using the sandbox's user API, as the web chat does."""

    def __init__(self, http: ClientSession, base: str, user_id: int, language: str = "ru") -> None:
        self.http, self.base, self.user_id, self.language = http, base, user_id, language
        self.last_id = 0
        self.last_update_id = 0

    @property
    def _url(self) -> str:
        return f"{self.base}/sandbox/api/users/{self.user_id}"

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self._url + path, json=body) as response:
            payload = await response.json()
            assert response.status == 200, payload
            return payload

    async def send(self, text: str) -> int:
        body = {"text": text, "from": {"first_name": "Анна", "language_code": self.language}}
        sent = await self._post("/messages", body)
        self.last_id, self.last_update_id = sent["message_id"], sent["update_id"]
        return self.last_id

    async def share_contact(self, phone: str) -> int:
        sent = await self._post("/messages", {"contact": {"phone_number": phone}})
        self.last_id = sent["message_id"]
        return self.last_id

    async def mail(self, to: str, within: float = PATIENCE) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with self.http.get(f"{self.base}/sandbox/api/mail", params={"to": to}) as r:
                letters = (await r.json())["messages"]
            if letters:
                return letters
            await asyncio.sleep(0.1)
        raise AssertionError(f"no mail to {to}")

    async def share_location(self, latitude: float, longitude: float) -> int:
        sent = await self._post(
            "/messages", {"location": {"latitude": latitude, "longitude": longitude}}
        )
        self.last_id = sent["message_id"]
        return self.last_id

    async def tap(self, message_id: int, button: str) -> dict[str, Any]:
        return await self._post("/callbacks", {"message_id": message_id, "button": button})

    async def history(self, after: int = 0, wait: float = 0) -> dict[str, Any]:
        async with self.http.get(
            self._url + "/messages", params={"after": after, "wait": wait}
        ) as response:
            return await response.json()

    async def wait_for(
        self, predicate: Callable[[Messages], bool], within: float = PATIENCE
    ) -> Messages:
        """Bot messages after the user's last message, once `predicate` holds for them."""
        deadline = time.monotonic() + within
        while True:
            found = [
                m
                for m in (await self.history(self.last_id, wait=1))["messages"]
                if m["from"] == "bot"
            ]
            if predicate(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the bot said: {[m.get('text') for m in found]}")

    async def callback_answer_count_at_least(self, count: int, within: float = PATIENCE) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            history = await self.history(after=10**9, wait=0.2)
            if len(history["callback_answers"]) >= count:
                return
        raise AssertionError("the taps were not answered")

    async def callback_answer(self, text: str, within: float = PATIENCE) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            history = await self.history(after=10**9, wait=0.5)
            for answer in history["callback_answers"]:
                if answer["text"] == text:
                    return answer
        raise AssertionError(f"no callback answer {text!r}")

    async def replies(self, count: int = 1, within: float = PATIENCE) -> Messages:
        return await self.wait_for(lambda found: len(found) >= count, within)


@dataclass
class Live:
    sandbox: Sandbox
    bot: Bot
    dp: Dispatcher
    http: ClientSession

    @property
    def url(self) -> str:
        return self.sandbox.url

    def user(self, user_id: int, language: str = "ru") -> SandboxUser:
        return SandboxUser(self.http, self.url, user_id, language)

    async def handled(self, update_id: int, within: float = PATIENCE) -> None:
        """Wait until the bot has finished this update (its dialog step written, its ledger
        entry done): a reply arrives before the handler returns and the step is saved."""
        inbox = next(
            m.inbox for m in self.dp.update.outer_middleware if isinstance(m, OncePerUpdate)
        )
        deadline = time.monotonic() + within
        while not await inbox.is_done(update_id):
            assert time.monotonic() < deadline, f"update {update_id} was not handled"
            await asyncio.sleep(0.02)

    async def group_post(
        self,
        chat_id: int,
        sender: int,
        text: str,
        thread: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """Someone writes in a group (an operator in an appeal's topic), maybe as a reply."""
        body: dict[str, Any] = {"from": {"id": sender, "first_name": "Ольга"}, "text": text}
        if thread is not None:
            body["message_thread_id"] = thread
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        async with self.http.post(
            f"{self.url}/sandbox/api/groups/{chat_id}/messages", json=body
        ) as r:
            return dict(await r.json())

    async def group_tap(
        self, chat_id: int, sender: int, message_id: int, button: str
    ) -> dict[str, Any]:
        """An operator taps a button of a message in the group."""
        body = {"from": {"id": sender, "first_name": "Ольга"}, "message_id": message_id}
        async with self.http.post(
            f"{self.url}/sandbox/api/groups/{chat_id}/callbacks", json=body | {"button": button}
        ) as r:
            return dict(await r.json())

    async def topic(self, chat_id: int, thread: int) -> tuple[str, bool]:
        """A forum topic's name and whether it is closed."""
        async with self.http.get(f"{self.url}/sandbox/api/groups") as r:
            groups = (await r.json())["groups"]
        [group] = [g for g in groups if g["id"] == chat_id]
        return group["topics"][str(thread)], thread in group["closed_topics"]

    async def group_messages(self, chat_id: int) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.url}/sandbox/api/groups/{chat_id}/messages") as r:
            return list((await r.json())["messages"])


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app on a free localhost port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


Received = asyncio.Queue[tuple[dict[str, str], Any]]


@contextlib.asynccontextmanager
async def receiving(path: str) -> AsyncIterator[tuple[str, Received]]:
    """A local endpoint that records what is POSTed to it: (headers, JSON body)."""
    received: Received = asyncio.Queue()

    async def record(request: web.Request) -> web.Response:
        await received.put((dict(request.headers), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post(path, record)
    async with serving(app) as base:
        yield base + path, received


@contextlib.asynccontextmanager
async def live_system(
    settings: Settings, clock: Clock, state_dir: Path | None = None, *, payments: bool = False
) -> AsyncIterator[Live]:
    """The bot polling the sandbox, with the operators' group; the scheduler delivers the
    outbox as in `main.py`; with `payments`, also the bank and the bot's web route for its
    notifications."""
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    groups: list[dict[str, object]] = []
    if settings.operators_chat_id is not None:
        groups.append({"id": settings.operators_chat_id, "title": "Operators", "is_forum": True})
    config = SandboxConfig(port=0, smtp_port=0, state_dir=state_dir, bot_token=TOKEN, groups=groups)
    async with (
        running_sandbox(config) as sandbox,
        ClientSession() as http,
        contextlib.AsyncExitStack() as stack,
    ):
        settings = settings.model_copy(
            update={"smtp_port": sandbox.config.smtp_port, "payment_return_url": sandbox.url}
        )
        assert settings.data_encryption_key is not None
        vault = Vault(settings.data_encryption_key.get_secret_value().encode())
        await seed_demo_data(sessions, vault, now=clock.now())
        bot = create_bot(settings, token=TOKEN, api_base=sandbox.url)
        provider = YooKassa(sandbox.url, "sandbox-shop", "sandbox-secret") if payments else None
        dp = create_dispatcher(settings, sessions, clock, payments=provider)
        stack.push_async_callback(dp.storage.close)
        await set_bot_commands(bot, dp["i18n"])
        receiver = None
        if provider is not None:
            stack.push_async_callback(provider.close)
            receiver = PaymentNotifications(
                sessions, provider, settings.billing(), clock, networks=["127.0.0.0/8"]
            )
            stack.push_async_callback(receiver.drain)

        async def desk(thread: int | None, text: str) -> None:  # as main.py wires it
            if settings.operators_chat_id is not None:
                await bot.send_message(settings.operators_chat_id, text, message_thread_id=thread)

        ticks = scheduled_ticks(
            sessions,
            clock,
            provider=provider,
            rules=settings.billing(),
            send=telegram_send(bot),
            desk=desk,
            courier=Courier(quiet=None),
        )
        control = ClockControl(clock, ticks) if isinstance(clock, FrozenClock) else None
        base = await stack.enter_async_context(
            serving(create_web_app(dp, bot, payments=receiver, clock_control=control))
        )
        sandbox.bank.notification_url = base + settings.payment_notification_path
        sandbox.clock_url = base + ClockControl.path
        scheduler = create_scheduler({"deliver_outbox": (ticks["deliver_outbox"][0], 0.3)})
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
        )
        # Polling has started (a quick test's stop_polling before that would be ignored, and
        # the polling task awaited below would never end).
        await eventually(
            lambda: any(c["method"] == "getUpdates" for c in sandbox.state.calls) or polling.done()
        )
        try:
            yield Live(sandbox, bot, dp, http)
        finally:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            await polling
            await finish_updates(dp)
            await stack.aclose()
            await bot.session.close()
            await engine.dispose()


def has(text: str):  # type: ignore[no-untyped-def]
    return lambda messages: any(text in (m["text"] or "") for m in messages)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def tap(person: SandboxUser, text: str, then: str) -> dict[str, Any]:
    """Tap the newest message's button with this text; return the newest message with `then`."""

    def with_button(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            m
            for m in messages
            if (m.get("reply_markup") or {}).get("inline_keyboard")
            and any(b["text"] == text for b in buttons(m))
        ]

    seen = await person.wait_for(lambda found: bool(with_button(found)))
    before = {(m["message_id"], m["text"]) for m in seen}

    def fresh(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            m
            for m in messages
            if (m["message_id"], m["text"]) not in before and then in (m["text"] or "")
        ]

    await person.tap(with_button(seen)[-1]["message_id"], text)
    return fresh(await person.wait_for(lambda found: bool(fresh(found))))[-1]
