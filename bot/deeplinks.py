"""Deep links: building `https://t.me/<bot>?start=<payload>` and recognising `/start <payload>`.

The payload format and its strict parsing live in `core.links`; here the bot's username comes
from `getMe` (aiogram caches it), and a filter hands each section the links it opens."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import Message
from aiogram.utils.deep_linking import create_start_link

from core.links import LinkKind, StartPayload, parse_start_payload


async def start_link(bot: Bot, payload: str | StartPayload) -> str:
    """The t.me link that opens `payload` in this bot (for notifications and e-mails)."""
    text = str(payload)
    if parse_start_payload(text) is None:
        raise ValueError(f"not a start payload: {text!r}")
    return await create_start_link(bot, text)


def payload_of(message: Message) -> StartPayload | None:
    """The strictly parsed payload of a `/start <payload>` message, if it is one."""
    text = message.text or ""
    command, _, argument = text.partition(" ")
    if command.split("@", 1)[0] != "/start":
        return None
    return parse_start_payload(argument.strip())


class StartLink(Filter):
    """`/start <payload>` of the given kinds (any kind when none is given); the handler gets the
    parsed payload as `link`."""

    def __init__(self, *kinds: LinkKind) -> None:
        self.kinds = frozenset(kinds)

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        link = payload_of(message)
        if link is None or (self.kinds and link.kind not in self.kinds):
            return False
        return {"link": link}
