"""The insurer's 24/7 medical desk: always reachable, also without registration."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guide import contacts_text, contracts_of, guide_keyboard
from bot.screens import with_nav
from core.accounts.models import User
from core.clock import Clock
from core.config import Settings


async def contacts(
    message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings
) -> None:
    contracts = await contracts_of(session, user, clock)
    await message.answer(
        contacts_text(settings, contracts), reply_markup=with_nav(guide_keyboard("contacts"))
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    return router
