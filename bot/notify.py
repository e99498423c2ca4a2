"""The outbox's way into Telegram: Bot API errors translated into what the courier acts on."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from core.notifications.delivery import Blocked, Rejected, RetryAfter, Send


def telegram_send(bot: Bot) -> Send:
    async def send(chat_id: int, text: str) -> None:
        try:
            await bot.send_message(chat_id, text)
        except TelegramRetryAfter as error:
            raise RetryAfter(error.retry_after) from error
        except TelegramForbiddenError as error:
            raise Blocked(error.message) from error
        except TelegramBadRequest as error:
            raise Rejected(error.message) from error

    return send
