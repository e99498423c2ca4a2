"""Long polling that loses no update when the process dies mid-update (issue 20, item 2).

aiogram confirms an update to Telegram (the `offset` of the next getUpdates) as soon as it has
handed it to a task, so a process killed while handling it (say, waiting out a 429 before the
answer) lost the update: Telegram never sent it again, and its ledger claim stayed `working`.

Here the offset moves past an update only once it has been handled: while updates are in
flight the poller asks from the oldest of them, skips the copies it already has, and waits for
one to finish (or a short while, to pick up new ones) instead of spinning. On start, the claims
a dead poller left `working` are released at once: polling has a single poller (Telegram
answers a second one with 409), so nobody else is handling them, and the copies Telegram sends
again are handled, each once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.dispatcher import DEFAULT_BACKOFF_CONFIG
from aiogram.methods import GetUpdates
from aiogram.types import TelegramObject, Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.fsm.isolation import ChatLock
from bot.fsm.steps import reads_once
from bot.middlewares.idempotency import Inbox
from bot.routing import propagate

log = logging.getLogger(__name__)
IN_FLIGHT_POLL = 0.25  # seconds between looks for new updates while one is still being handled


class CabinetDispatcher(Dispatcher):
    """aiogram's Dispatcher, with polling that confirms an update only after handling it, the
    dialog state read once per update, and events handed down the routers at less cost."""

    inbox: Inbox | None = None  # set by create_dispatcher
    chat_lock: ChatLock | None = None  # set by create_dispatcher

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._in_flight: set[int] = set()
        self._progress = asyncio.Event()

    async def _polling(self, bot: Bot, *args: Any, **kwargs: Any) -> None:
        if self.inbox is not None:
            released = await self.inbox.release_unfinished()
            if released:
                log.warning(
                    "%s update(s) a stopped poller left unfinished will be handled", released
                )
        await super()._polling(bot, *args, **kwargs)

    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        return await propagate(self, update_type, event, kwargs)  # bot/routing.py

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        with reads_once():  # the dialog state is read once per update (bot/fsm/steps.py)
            return await super().feed_update(bot, update, **kwargs)

    async def _process_update(
        self, bot: Bot, update: Update, call_answer: bool = True, **kwargs: Any
    ) -> bool:
        try:
            return await super()._process_update(bot, update, call_answer, **kwargs)
        finally:
            self._in_flight.discard(update.update_id)
            self._progress.set()

    async def _listen_updates(  # type: ignore[override]
        self,
        bot: Bot,
        polling_timeout: int = 30,
        backoff_config: BackoffConfig = DEFAULT_BACKOFF_CONFIG,
        allowed_updates: list[str] | None = None,
    ) -> AsyncGenerator[Update, None]:
        backoff = Backoff(config=backoff_config)
        kwargs = {}
        if bot.session.timeout:
            kwargs["request_timeout"] = int(bot.session.timeout + polling_timeout)
        following: int | None = None  # the first update id not received yet
        while True:
            offset = min(self._in_flight) if self._in_flight else following
            request = GetUpdates(
                offset=offset,
                timeout=0 if self._in_flight else polling_timeout,
                allowed_updates=allowed_updates,
            )
            try:
                updates = await bot(request, **kwargs)
            except Exception as error:
                log.error("Failed to fetch updates - %s: %s", type(error).__name__, error)
                await backoff.asleep()
                continue
            backoff.reset()
            fresh = [u for u in updates if following is None or u.update_id >= following]
            for update in fresh:
                following = update.update_id + 1
                self._in_flight.add(update.update_id)
                yield update
            if self._in_flight and not fresh:
                self._progress.clear()
                # asyncio.wait, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that stops polling when an update finishes at that moment.
                waiter = asyncio.ensure_future(self._progress.wait())
                try:
                    await asyncio.wait({waiter}, timeout=IN_FLIGHT_POLL)
                finally:
                    waiter.cancel()
