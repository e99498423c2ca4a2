"""Bot API request middleware: wait out Telegram's 429 `retry_after` instead of failing."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, max_attempts: int = 5, max_wait: float = 60.0) -> None:
        self._max_attempts = max_attempts
        self._max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self._max_attempts or error.retry_after > self._max_wait:
                    raise
                log.warning(
                    "%s flood-limited, retrying in %s s (attempt %s)",
                    method.__api_method__,
                    error.retry_after,
                    attempt,
                )
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable")
