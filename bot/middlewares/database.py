"""Per-update resources: the database session and the user record of whoever sent the update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.registration import get_account
from core.accounts.users import TelegramProfile, touch_user
from core.clock import Clock

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DatabaseMiddleware(BaseMiddleware):
    """Opens one session per update and loads (or creates) the user, before i18n reads it."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], clock: Clock, default_locale: str
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._default_locale = default_locale

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self._sessions() as session:
            data["session"] = session
            sender: TelegramUser | None = data.get("event_from_user")
            if sender is not None and not sender.is_bot:
                profile = TelegramProfile(
                    telegram_id=sender.id,
                    first_name=sender.first_name,
                    last_name=sender.last_name,
                    username=sender.username,
                    language_code=sender.language_code,
                )
                user = data["user"] = await touch_user(
                    session, profile, now=self._clock.now(), default_language=self._default_locale
                )
                data["account"] = await get_account(session, user)
                await session.commit()
            else:
                data["account"] = None
            return await handler(event, data)
