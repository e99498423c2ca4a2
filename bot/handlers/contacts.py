"""The insurer's 24/7 medical desk: always reachable, also without registration."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guide import contacts_text, guide_keyboard, own_dms
from core.accounts.models import User
from core.clock import Clock
from core.config import Settings


async def contacts(
    message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings
) -> None:
    view = await own_dms(session, user, clock)
    await message.answer(contacts_text(settings, view), reply_markup=guide_keyboard())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    return router
