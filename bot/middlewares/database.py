"""Per-update resources: one database session (the update's unit of work) and the user record
of whoever sent the update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.users import TelegramProfile, touch_user_and_account, user_changed
from core.clock import Clock
from core.db import unit_of_work

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
StepKey = Callable[[dict[str, Any]], str | None]  # the update's context -> the step's row key


class UpdateSession(BaseMiddleware):
    """The outermost update middleware: one session for the whole update. The ledger, the
    dialog step and the user row work in it (see core.db.UnitOfWork); what they leave
    uncommitted (the step, the ledger's "done") goes in one commit at the end. A failed update
    discards its half-done writes first (the step and the released claim still go)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory
        bind = session_factory.kw.get("bind")
        # SQLite's statements run in the loop's thread (core/sqlite_inline.py): closing the
        # session never waits, so it needs no task of its own to survive a cancellation, which
        # is how `async with` closes it (a task and a loop turn per update).
        self._close_inline = bind is not None and bind.dialect.name == "sqlite"

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session = self._sessions()
        closed = False
        try:
            with unit_of_work(session) as unit:
                data["session"] = session
                try:
                    result = await handler(event, data)
                except BaseException:
                    await unit.discard()
                    if unit.wrote:
                        await unit.commit()
                    raise
                if unit.wrote and self._close_inline:
                    closed = True  # the commit and the close in one call (closed if it fails)
                    await unit.commit(close=True)
                elif unit.wrote:
                    await unit.commit()
                return result
        finally:
            if not closed and self._close_inline:
                await session.close()
            elif not closed:
                await session.__aexit__(None, None, None)


class DatabaseMiddleware(BaseMiddleware):
    """Loads (or creates) the user in the update's session, before i18n reads it. The row is
    written only when something changed (a new person, a new name, a stale last-seen time),
    and then committed at once, so that no write lock is held while the handler talks to
    Telegram."""

    def __init__(self, clock: Clock, default_locale: str, step_key: StepKey | None = None) -> None:
        self._clock = clock
        self._default_locale = default_locale
        self._step_key = step_key  # the dialog step's row, read in the user's statement

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session: AsyncSession = data["session"]
        sender: TelegramUser | None = data.get("event_from_user")
        if sender is not None and not sender.is_bot:
            profile = TelegramProfile(
                telegram_id=sender.id,
                first_name=sender.first_name,
                last_name=sender.last_name,
                username=sender.username,
                language_code=sender.language_code,
            )
            # The user and the account in one SELECT; the user written only if it changed.
            data["user"], data["account"] = await touch_user_and_account(
                session,
                profile,
                now=self._clock.now(),
                default_language=self._default_locale,
                step_key=self._step_key(data) if self._step_key is not None else None,
            )
            if user_changed(session):
                await session.commit()
        else:
            data["account"] = None
        return await handler(event, data)
