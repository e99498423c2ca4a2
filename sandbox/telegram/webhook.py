"""Pushing updates to a webhook as Telegram does: up to `max_connections` requests at once, the
updates of one chat one at a time and in order, each sent again (with a growing pause) until
the bot answers 2xx. A bot that dies mid-update loses nothing: the update is sent again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from sandbox.telegram.state import SandboxState, wait_on

Reply = Callable[[Any], Awaitable[None]]


def chat_of(update: dict[str, Any]) -> object:
    """The chat an update belongs to; updates of one chat are never pushed side by side."""
    for key, payload in update.items():
        if key == "update_id" or not isinstance(payload, dict):
            continue
        message = payload.get("message") if "data" in payload else payload
        chat = (message or {}).get("chat") or payload.get("chat")
        if chat:
            return chat["id"]
        sender = payload.get("from")
        if sender:
            return sender["id"]
    return ("update", update["update_id"])


class WebhookPusher:
    def __init__(self, state: SandboxState, reply: Reply) -> None:
        self.state, self.reply = state, reply
        self.flying: dict[int, asyncio.Task[bool]] = {}
        self.retry_at: dict[int, tuple[float, float]] = {}  # update id -> (when, next pause)

    async def run(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=60)) as http:
            try:
                while self.state.webhook is not None and not self.state.closing:
                    self._start_ready(http, self.state.webhook)
                    # Wake on an answer or a new update, whichever comes first.
                    news = asyncio.create_task(wait_on(self.state.updates_ready, 0.2))
                    await asyncio.wait(
                        [news, *self.flying.values()], return_when=asyncio.FIRST_COMPLETED
                    )
                    news.cancel()
                    self._collect()
            finally:
                for task in self.flying.values():
                    task.cancel()
                await asyncio.gather(*self.flying.values(), return_exceptions=True)

    def _start_ready(self, http: ClientSession, hook: dict[str, Any]) -> None:
        limit = int(hook.get("max_connections") or 40)
        waiting_chats: set[object] = set()
        moment = time.monotonic()
        for update in self.state.updates:
            if len(self.flying) >= limit:
                return
            chat = chat_of(update)
            if chat in waiting_chats:
                continue  # an earlier update of this chat goes first
            waiting_chats.add(chat)
            update_id = update["update_id"]
            if update_id in self.flying or self.retry_at.get(update_id, (0.0, 0.0))[0] > moment:
                continue
            self.flying[update_id] = asyncio.create_task(self._post(http, hook, update))

    def _collect(self) -> None:
        for update_id, task in list(self.flying.items()):
            if not task.done():
                continue
            del self.flying[update_id]
            if not task.cancelled() and task.result():
                self.retry_at.pop(update_id, None)
                for update in self.state.updates:
                    if update["update_id"] == update_id:
                        self.state.updates.remove(update)
                        self.state.touch()
                        break
            else:
                pause = self.retry_at.get(update_id, (0.0, 1.0))[1]
                self.retry_at[update_id] = (time.monotonic() + pause, min(pause * 2, 10.0))

    async def _post(
        self, http: ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> bool:
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        try:
            async with http.post(hook["url"], json=update, headers=headers) as response:
                if response.status >= 300:
                    raise RuntimeError(
                        f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
                if response.content_type == "application/json":
                    await self.reply(await response.json())
        except Exception as error:  # any failure: Telegram keeps the update and retries
            hook["last_error_date"] = int(time.time())
            hook["last_error_message"] = str(error) or type(error).__name__
            return False
        return True
