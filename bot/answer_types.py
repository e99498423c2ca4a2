"""Keep the answer types of the Bot API methods the bot calls (issue 19).

aiogram validates each answer as `Response[method.__returning__]`, a pydantic generic model that
pydantic builds on first use and caches only weakly (pydantic 2.13: a `WeakValueDictionary`).
Nothing else holds it, so the garbage collector took `Response[Message]` again and again and
every next answer built it anew: 5 to 50 ms of CPU each time, four times per worker in a
400-person run of the webhook benchmark (3 % of its CPU). The types are held here for good: a
few dozen at most, one per kind of answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

KEPT: dict[Any, type[Response[Any]]] = {}


class KeepAnswerTypes(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        returning = method.__returning__
        if returning not in KEPT:
            KEPT[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
